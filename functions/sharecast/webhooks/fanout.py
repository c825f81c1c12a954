"""The webhook consumer of the event log (docs/webhooks.md#delivery): one delivery per event and
matching endpoint, each with its own task on the ``webhooks`` queue.

:func:`consumer` is wired into the :class:`~sharecast.app.AppContext` by ``functions/main.py``,
so the outbox runs :func:`take` on every committed event right after Pub/Sub, in whichever
function committed it, and the sweeper runs it again on events it did not take
(``Outbox.catch_up``): no status change is skipped. Taking an event costs one query of the
enabled endpoints of the events' users and org-wide ones; for each match, a delivery record (one
batch) and a named task. Nothing here calls a customer's server: a slow endpoint costs the
publisher nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from sharecast.app import AppContext
from sharecast.domain.events import Event
from sharecast.domain.webhooks import (
    ORG_AUDIENCE,
    DeliveryRecord,
    EndpointRecord,
    event_payload,
    matches,
    user_audience,
)
from sharecast.logs import fields
from sharecast.outbox import Consumer
from sharecast.store import queries
from sharecast.store import webhooks as store
from sharecast.tasks import WebhookTask, enqueue_webhook

log = logging.getLogger(__name__)

#: The event field marking events the fan-out took.
MARK = "webhooks_at"


def consumer(ctx: AppContext) -> Consumer:
    """The webhook fan-out as an outbox consumer of ``ctx``."""
    return Consumer(
        name="webhooks",
        mark=MARK,
        pending=queries.EVENTS_WEBHOOKS_PENDING,
        take=lambda events: take(ctx, events),
    )


def take(ctx: AppContext, events: Sequence[Event]) -> list[Event]:
    """Create the deliveries of committed ``events`` and their first tasks; returns the events
    (all taken). Raises when Firestore or Cloud Tasks fails (the outbox then leaves every one
    of them to the sweeper's catch-up; the deliveries and tasks are named, so doing it twice
    creates nothing twice)."""
    audiences = {user_audience(e.user_id) for e in events} | {ORG_AUDIENCE}
    endpoints = store.endpoints_for(ctx.db, audiences)
    deliveries = plan(endpoints, events, ctx=ctx)
    if deliveries:
        store.add_deliveries(ctx.db, deliveries)
        for delivery in deliveries:
            task = WebhookTask(delivery.endpoint_id, delivery.id, round=1, attempt=1)
            enqueue_webhook(ctx.tasks, ctx.settings, task, schedule_at=None)
        log.info(
            "webhook deliveries queued",
            extra=fields(events=len(events), deliveries=len(deliveries)),
        )
    return list(events)


def plan(
    endpoints: Sequence[EndpointRecord], events: Sequence[Event], *, ctx: AppContext
) -> list[DeliveryRecord]:
    """One new delivery per event and endpoint that wants it (its audience and filters)."""
    now = ctx.now()
    ttl = timedelta(days=ctx.settings.webhook_log_ttl_days)
    deliveries = []
    for event in events:
        audience = user_audience(event.user_id)
        body: str | None = None
        for endpoint in endpoints:
            if endpoint.audience not in (audience, ORG_AUDIENCE):
                continue
            if not matches(endpoint.event_types, event):
                continue
            body = body or event_payload(event)
            deliveries.append(
                DeliveryRecord.first(
                    endpoint,
                    delivery_id=event.id,
                    type=event.type.value,
                    user_id=event.user_id,
                    body=body,
                    now=now,
                    ttl=ttl,
                )
            )
    return deliveries
