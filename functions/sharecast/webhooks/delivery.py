"""One attempt of one webhook delivery: the ``webhook_delivery`` function's work
(docs/webhooks.md#delivery).

:func:`run_delivery` reads the endpoint and the delivery (one read), signs the stored body with
every signing secret, POSTs it through the SSRF-safe ``webhooks.transport.Transport``, records
the attempt (a transaction that refuses a duplicate or superseded task), queues the next attempt
when one is due, and updates the endpoint's health: the first failure since a success sets
``failing_since``, a success clears it, and an endpoint failing for ``WEBHOOK_DISABLE_AFTER_S``
(or answering 410 Gone) is disabled and its owner gets a ``notification`` event.

At-least-once: the record is written after the request, so a crash in between sends the attempt
again (same ``webhook-id``); receivers deduplicate on it. A task whose attempt is already recorded
only makes sure the next one is queued (the creation of the next task may have failed).
"""

from __future__ import annotations

import functools
import logging
import random
from dataclasses import dataclass
from datetime import datetime

from sharecast.app import AppContext
from sharecast.config import Settings
from sharecast.domain.events import Event
from sharecast.domain.statuses import EventType
from sharecast.domain.webhooks import (
    Backoff,
    DeliveryAttempt,
    DeliveryRecord,
    DeliveryStatus,
    EndpointRecord,
    HealthChange,
    Verdict,
    health_change,
    judge,
    retry_after_s,
)
from sharecast.logs import fields
from sharecast.store import webhooks as store
from sharecast.tasks import WebhookTask, enqueue_webhook
from sharecast.timeutil import isoformat
from sharecast.webhooks import signing
from sharecast.webhooks.transport import Answer, Transport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryReport:
    """What a task did: ``action`` (``SENT``, ``NOOP_GONE``, ``NOOP_SUPERSEDED``,
    ``NOOP_DUPLICATE``, ``SKIPPED_DISABLED``), the delivery's ``status`` and the answer's
    ``status_code``."""

    action: str
    status: str | None = None
    status_code: int | None = None


@functools.cache
def transport_for(allow_local: bool) -> Transport:
    """The process's transport (connection pools are shared by deliveries)."""
    return Transport(allow_local=allow_local)


def backoff(settings: Settings) -> Backoff:
    """The retry schedule of ``settings`` (``WEBHOOK_BACKOFF_*``, ``WEBHOOK_RETRY_WINDOW_S``)."""
    return Backoff(
        base_s=settings.webhook_backoff_base_s,
        max_s=settings.webhook_backoff_max_s,
        jitter=settings.webhook_backoff_jitter,
        window_s=settings.webhook_retry_window_s,
    )


def run_delivery(
    ctx: AppContext, *, task: WebhookTask, transport: Transport | None = None
) -> DeliveryReport:
    """Run ``task`` (see the module docstring). Raises when Firestore or Cloud Tasks fails
    before the outcome is safe (the queue then retries the task)."""
    endpoint, delivery, read_at = store.get_both(ctx.db, task.endpoint_id, task.delivery_id)
    if endpoint is None or delivery is None or read_at is None:
        return DeliveryReport("NOOP_GONE")
    if delivery.round != task.round:
        return DeliveryReport("NOOP_SUPERSEDED", delivery.status.value)
    if delivery.attempts >= task.attempt:
        _queue_next(ctx, delivery)
        return DeliveryReport("NOOP_DUPLICATE", delivery.status.value)
    now = ctx.now()
    if not endpoint.enabled:
        attempt = DeliveryAttempt(
            attempt=task.attempt,
            at=now,
            latency_ms=0.0,
            outcome=DeliveryStatus.FAILED,
            error="the endpoint is disabled",
        )
        _record(ctx, delivery, task, attempt, next_at=None, read_at=read_at)
        return DeliveryReport("SKIPPED_DISABLED", DeliveryStatus.FAILED.value)
    answer = _send(ctx, endpoint, delivery, now=now, transport=transport)
    attempt, verdict, next_at = _judge(ctx, delivery, task=task, answer=answer, now=now)
    recorded = _record(ctx, delivery, task, attempt, next_at=next_at, read_at=read_at)
    if recorded is not None:
        _queue_next(ctx, recorded)
        _update_health(ctx, endpoint, verdict=verdict, attempt=attempt)
    _log(endpoint, delivery, attempt=attempt, answer=answer)
    return DeliveryReport("SENT", attempt.outcome.value, answer.status)


def _send(
    ctx: AppContext,
    endpoint: EndpointRecord,
    delivery: DeliveryRecord,
    *,
    now: datetime,
    transport: Transport | None,
) -> Answer:
    """Sign the stored body with the endpoint's signing secrets and POST it."""
    secrets = [
        signing.unseal(ctx.vault, sealed, endpoint_id=endpoint.id)
        for sealed in endpoint.signing_secrets(now)
    ]
    headers = signing.headers(
        message_id=delivery.message_id, timestamp=now, body=delivery.payload, secrets=secrets
    )
    headers["User-Agent"] = "Sharecast-Webhooks/1"
    settings = ctx.settings
    sender = transport or transport_for(settings.webhook_allow_local)
    return sender.post(
        endpoint.url,
        body=delivery.payload.encode(),
        headers=headers,
        timeout_s=settings.webhook_timeout_s,
        max_bytes=settings.webhook_response_max_bytes,
    )


def _judge(
    ctx: AppContext,
    delivery: DeliveryRecord,
    *,
    task: WebhookTask,
    answer: Answer,
    now: datetime,
) -> tuple[DeliveryAttempt, Verdict, datetime | None]:
    """The attempt's record, its verdict and when the next attempt runs (``None``: none)."""
    verdict = Verdict.GIVE_UP if answer.refused else judge(answer.status)
    next_at = None
    if answer.refused:
        error: str | None = f"refused: {answer.refused}"
    elif answer.status is None:
        error = answer.error
    else:
        error = None if verdict is Verdict.DELIVERED else f"HTTP {answer.status}"
    if verdict is Verdict.RETRY:
        wait = retry_after_s(_header(answer, "Retry-After"), now=now)
        next_at = backoff(ctx.settings).next_attempt_at(
            delivery.round_attempts + 1,
            round_started_at=delivery.round_started_at,
            now=now,
            retry_after=wait,
            factor=random.uniform(-1.0, 1.0),
        )
        if next_at is None:
            error = f"{error}; retry window spent"
    elif verdict is Verdict.GIVE_UP and answer.status is not None:
        error = f"HTTP {answer.status}: not retried"
    elif verdict is Verdict.DISABLE:
        error = "HTTP 410 Gone: the endpoint is disabled"
    if verdict is Verdict.DELIVERED:
        outcome = DeliveryStatus.SUCCEEDED
    else:
        outcome = DeliveryStatus.RETRYING if next_at else DeliveryStatus.FAILED
    attempt = DeliveryAttempt(
        attempt=task.attempt,
        at=now,
        status_code=answer.status,
        latency_ms=answer.latency_ms,
        outcome=outcome,
        error=error,
        response_excerpt=answer.body.decode("utf-8", "replace"),
    )
    return attempt, verdict, next_at


def _header(answer: Answer, name: str) -> str | None:
    wanted = name.lower()
    return next((v for k, v in answer.headers.items() if k.lower() == wanted), None)


def _record(
    ctx: AppContext,
    delivery: DeliveryRecord,
    task: WebhookTask,
    attempt: DeliveryAttempt,
    *,
    next_at: datetime | None,
    read_at: datetime,
) -> DeliveryRecord | None:
    """Record ``attempt`` unless the round was superseded or the attempt recorded already.

    One conditional write when the delivery is as it was read (the usual case); otherwise a
    transaction re-checks the round and the attempt count."""
    new = delivery.recorded(attempt, next_attempt_at=next_at)
    if store.record_delivery(ctx.db, new, read_at=read_at):
        return new

    def mutate(current: DeliveryRecord) -> DeliveryRecord | None:
        if current.round != task.round or current.attempts >= task.attempt:
            return None
        return current.recorded(attempt, next_attempt_at=next_at)

    return store.change_delivery(ctx.db, task.endpoint_id, task.delivery_id, mutate)


def _queue_next(ctx: AppContext, delivery: DeliveryRecord) -> None:
    """Create the task of ``delivery``'s next attempt when it is retrying (named: twice is
    harmless)."""
    if delivery.status is not DeliveryStatus.RETRYING or delivery.next_attempt_at is None:
        return
    task = WebhookTask(
        delivery.endpoint_id, delivery.id, round=delivery.round, attempt=delivery.attempts + 1
    )
    enqueue_webhook(ctx.tasks, ctx.settings, task, schedule_at=delivery.next_attempt_at)


def _update_health(
    ctx: AppContext, endpoint: EndpointRecord, *, verdict: Verdict, attempt: DeliveryAttempt
) -> None:
    """Write what the attempt changes in the endpoint's health (``domain.webhooks.
    health_change``: rarely anything); disable an endpoint failing too long (or gone) and tell
    its owner."""
    now = attempt.at
    limit = ctx.settings.webhook_disable_after_s
    change = health_change(endpoint, verdict, now=now, disable_after_s=limit)
    if change is HealthChange.SUCCESS:
        store.touch_endpoint(ctx.db, endpoint.id, last_success_at=now)
    elif change is HealthChange.FAILING:
        store.touch_endpoint(ctx.db, endpoint.id, failing_since=now)
    elif change is HealthChange.DISABLE:
        _disable(ctx, endpoint.id, verdict=verdict, now=now)


def _disable(ctx: AppContext, endpoint_id: str, *, verdict: Verdict, now: datetime) -> None:
    """Disable the endpoint (re-checked in the transaction) and notify its owner."""
    limit = ctx.settings.webhook_disable_after_s

    def mutate(current: EndpointRecord) -> tuple[EndpointRecord | None, list[Event]]:
        if (
            not current.enabled
            or health_change(current, verdict, now=now, disable_after_s=limit)
            is not HealthChange.DISABLE
        ):
            return None, []
        since = current.failing_episode_start or now
        reason = (
            "the endpoint answered 410 Gone"
            if verdict is Verdict.DISABLE
            else f"every delivery failed since {isoformat(since)}"
        )
        disabled = store.stamp(current, now, enabled=False, disabled_reason=reason)
        return disabled, [_disabled_notification(disabled, reason)]

    endpoint, events = store.change_endpoint(ctx.db, endpoint_id, mutate, outbox=ctx.outbox)
    ctx.outbox.flush(events)
    if events:
        log.warning(
            "webhook endpoint disabled",
            extra=fields(
                endpoint_id=endpoint_id,
                owner_id=endpoint.owner_id,
                reason=endpoint.disabled_reason,
            ),
        )


def _disabled_notification(endpoint: EndpointRecord, reason: str) -> Event:
    """The ``notification`` event telling the owner their endpoint was disabled."""
    return Event.new(
        user_id=endpoint.owner_id,
        type=EventType.NOTIFICATION,
        data={
            "kind": "webhook_endpoint_disabled",
            "endpoint_id": endpoint.id,
            "url": endpoint.url,
            "status": "disabled",
            "message": f"Webhook endpoint {endpoint.url} was disabled: {reason}",
            "version": endpoint.version + 1,
        },
    )


def _log(
    endpoint: EndpointRecord, delivery: DeliveryRecord, *, attempt: DeliveryAttempt, answer: Answer
) -> None:
    """One structured line per attempt; a refused one (SSRF guard) is a warning with its
    reason in ``refused``."""
    ids = {
        "endpoint_id": endpoint.id,
        "delivery_id": delivery.id,
        "event_type": delivery.event_type,
        "attempt": attempt.attempt,
    }
    if answer.refused:
        log.warning(
            "webhook delivery refused",
            extra=fields(outcome=attempt.outcome.value, refused=answer.refused, **ids),
        )
        return
    log.info(
        "webhook attempt finished",
        extra=fields(
            outcome=attempt.outcome.value,
            status_code=answer.status,
            latency_ms=answer.latency_ms,
            error=answer.error,
            **ids,
        ),
    )
