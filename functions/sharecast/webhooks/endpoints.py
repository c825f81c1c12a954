"""Webhook endpoints (docs/webhooks.md#endpoints): registration, changes, secret rotation, the
test ping and manual redelivery.

A user's endpoints receive that user's events; an admin may register org-wide endpoints, which
receive every user's events and which every admin manages. Someone else's endpoint is
:class:`NotFound` (never told apart from a missing one). The signing secret is returned only by
:func:`create_endpoint` and :func:`rotate_secret`.
"""

from __future__ import annotations

import secrets as random_ids
from dataclasses import dataclass
from datetime import datetime, timedelta

from sharecast.app import AppContext
from sharecast.auth import Principal
from sharecast.domain.events import new_event_id
from sharecast.domain.webhooks import (
    ORG_AUDIENCE,
    PING_TYPE,
    DeliveryRecord,
    EndpointRecord,
    check_filter,
    payload,
    user_audience,
)
from sharecast.errors import FieldProblem, Forbidden, NotFound, ValidationFailed
from sharecast.store import webhooks as store
from sharecast.tasks import WebhookTask, enqueue_webhook
from sharecast.webhooks import signing
from sharecast.webhooks.errors import EndpointDisabled, TooManyEndpoints
from sharecast.webhooks.guard import Refused, check_url

#: Secrets an endpoint keeps at most (the current one and those still in grace).
MAX_SECRETS = 3


@dataclass(frozen=True)
class EndpointChanges:
    """What ``PATCH /webhooks/{id}`` changes (``None``: unchanged)."""

    url: str | None = None
    description: str | None = None
    event_types: list[str] | None = None
    enabled: bool | None = None


def validate(ctx: AppContext, *, url: str | None, event_types: list[str] | None) -> None:
    """Raise :class:`ValidationFailed` (422) listing every problem of ``url`` (``guard``:
    https, no credentials, no refused literal address) and ``event_types``."""
    found = problems(ctx, url=url, event_types=event_types)
    if found:
        raise ValidationFailed(f"{len(found)} problem(s)", errors=found)


def problems(
    ctx: AppContext, *, url: str | None, event_types: list[str] | None
) -> list[FieldProblem]:
    """Every problem of ``url`` and ``event_types`` (``None``: not given), as field problems
    ``URL_NOT_ALLOWED`` and ``UNKNOWN_EVENT_TYPE`` (also the route's rules: reported in the
    same 422 as the type problems of the body)."""
    problems: list[FieldProblem] = []
    if url is not None:
        try:
            check_url(url, allow_local=ctx.settings.webhook_allow_local)
        except Refused as exc:
            problems.append(FieldProblem("url", "URL_NOT_ALLOWED", exc.reason))
    for index, entry in enumerate(event_types or []):
        reason = check_filter(entry)
        if reason is not None:
            problems.append(FieldProblem(f"eventTypes[{index}]", "UNKNOWN_EVENT_TYPE", reason))
    return problems


def create_endpoint(
    ctx: AppContext,
    *,
    user: Principal,
    url: str,
    description: str,
    event_types: list[str],
    enabled: bool,
    org_wide: bool,
    now: datetime,
) -> tuple[EndpointRecord, str]:
    """Register an endpoint; returns it and its signing secret (shown this once).

    Raises :class:`Forbidden` for an org-wide endpoint of a non-admin, :class:`ValidationFailed`
    and :class:`TooManyEndpoints`."""
    if org_wide and user.role != "admin":
        raise Forbidden("only admins register org-wide webhook endpoints")
    validate(ctx, url=url, event_types=event_types)
    if store.count_owned(ctx.db, user.user_id) >= ctx.settings.webhook_max_endpoints:
        raise TooManyEndpoints(f"at most {ctx.settings.webhook_max_endpoints} endpoints each")
    endpoint_id = f"we_{random_ids.token_hex(10)}"
    secret = signing.new_secret()
    endpoint = EndpointRecord(
        id=endpoint_id,
        owner_id=user.user_id,
        audience=ORG_AUDIENCE if org_wide else user_audience(user.user_id),
        url=url,
        description=description,
        event_types=list(dict.fromkeys(event_types)),
        enabled=enabled,
        secrets=[signing.seal(ctx.vault, secret, endpoint_id=endpoint_id, now=now)],
        created_at=now,
        updated_at=now,
    )
    store.create_endpoint(ctx.db, endpoint)
    return endpoint, secret


def visible(endpoint: EndpointRecord, user: Principal) -> bool:
    """True when ``user`` may see and manage ``endpoint``."""
    if endpoint.org_wide:
        return user.role == "admin"
    return endpoint.owner_id == user.user_id


def get_endpoint(ctx: AppContext, *, user: Principal, endpoint_id: str) -> EndpointRecord:
    """One of ``user``'s endpoints. Raises :class:`NotFound`."""
    endpoint = store.get_endpoint(ctx.db, endpoint_id)
    if not visible(endpoint, user):
        raise NotFound(f"webhook endpoint {endpoint_id} not found")
    return endpoint


def list_endpoints(ctx: AppContext, *, user: Principal) -> list[EndpointRecord]:
    """``user``'s endpoints (admins: and every org-wide one), oldest first."""
    records = store.list_endpoints(ctx.db, owner_id=user.user_id, org=user.role == "admin")
    return [r for r in records if visible(r, user)]


def update_endpoint(
    ctx: AppContext, *, user: Principal, endpoint_id: str, changes: EndpointChanges, now: datetime
) -> EndpointRecord:
    """Apply ``changes``; enabling a disabled endpoint clears its failure state. Raises
    :class:`NotFound`, :class:`ValidationFailed`."""
    get_endpoint(ctx, user=user, endpoint_id=endpoint_id)
    validate(ctx, url=changes.url, event_types=changes.event_types)

    def mutate(current: EndpointRecord) -> tuple[EndpointRecord | None, list]:
        update: dict[str, object] = {}
        if changes.url is not None:
            update["url"] = changes.url
        if changes.description is not None:
            update["description"] = changes.description
        if changes.event_types is not None:
            update["event_types"] = list(dict.fromkeys(changes.event_types))
        if changes.enabled is not None:
            update["enabled"] = changes.enabled
            if changes.enabled and not current.enabled:
                update |= {"disabled_reason": None, "failing_since": None}
        return store.stamp(current, now, **update), []

    endpoint, _ = store.change_endpoint(ctx.db, endpoint_id, mutate, outbox=ctx.outbox)
    return endpoint


def delete_endpoint(ctx: AppContext, *, user: Principal, endpoint_id: str) -> None:
    """Delete one of ``user``'s endpoints; its queued attempts find it gone and do nothing.
    Raises :class:`NotFound`."""
    get_endpoint(ctx, user=user, endpoint_id=endpoint_id)
    store.delete_endpoint(ctx.db, endpoint_id)


def rotate_secret(
    ctx: AppContext, *, user: Principal, endpoint_id: str, grace_s: int, now: datetime
) -> tuple[EndpointRecord, str]:
    """A new signing secret; the current one keeps signing for ``grace_s`` seconds (0: stops
    now), so deliveries carry both signatures meanwhile. Returns the endpoint and the new
    secret (shown this once). Raises :class:`NotFound`."""
    get_endpoint(ctx, user=user, endpoint_id=endpoint_id)
    secret = signing.new_secret()
    sealed = signing.seal(ctx.vault, secret, endpoint_id=endpoint_id, now=now)
    until = now + timedelta(seconds=grace_s)

    def mutate(current: EndpointRecord) -> tuple[EndpointRecord | None, list]:
        kept = [
            s.model_copy(update={"expires_at": min(s.expires_at or until, until)})
            for s in current.signing_secrets(now)
        ]
        kept = [s for s in kept if s.expires_at is not None and s.expires_at > now]
        newest_first = sorted(kept, key=lambda s: s.created_at, reverse=True)
        return store.stamp(current, now, secrets=[sealed, *newest_first][:MAX_SECRETS]), []

    endpoint, _ = store.change_endpoint(ctx.db, endpoint_id, mutate, outbox=ctx.outbox)
    return endpoint, secret


def ping(ctx: AppContext, *, user: Principal, endpoint_id: str, now: datetime) -> DeliveryRecord:
    """Queue a test delivery (type ``ping``) to an enabled endpoint. Raises
    :class:`NotFound`, :class:`EndpointDisabled`."""
    endpoint = get_endpoint(ctx, user=user, endpoint_id=endpoint_id)
    if not endpoint.enabled:
        raise EndpointDisabled("the endpoint is disabled; enable it first")
    delivery_id = new_event_id(now)
    body = payload(
        id=delivery_id,
        type=PING_TYPE,
        user_id=user.user_id,
        created_at=now,
        data={"endpoint_id": endpoint.id, "message": "Ping from Sharecast"},
    )
    delivery = DeliveryRecord.first(
        endpoint,
        delivery_id=delivery_id,
        type=PING_TYPE,
        user_id=user.user_id,
        body=body,
        now=now,
        ttl=timedelta(days=ctx.settings.webhook_log_ttl_days),
    )
    store.add_deliveries(ctx.db, [delivery])
    task = WebhookTask(endpoint.id, delivery.id, round=1, attempt=1)
    enqueue_webhook(ctx.tasks, ctx.settings, task, schedule_at=None)
    return delivery


def redeliver(
    ctx: AppContext, *, user: Principal, endpoint_id: str, delivery_id: str, now: datetime
) -> DeliveryRecord:
    """Send a delivery again in a new round (same ``webhook-id``, same body, a fresh retry
    window); a retry still queued from the last round is superseded. Raises
    :class:`NotFound`, :class:`EndpointDisabled`."""
    endpoint = get_endpoint(ctx, user=user, endpoint_id=endpoint_id)
    if not endpoint.enabled:
        raise EndpointDisabled("the endpoint is disabled; enable it first")
    ttl = timedelta(days=ctx.settings.webhook_log_ttl_days)
    delivery = store.change_delivery(
        ctx.db, endpoint_id, delivery_id, lambda current: current.redelivered(now, ttl)
    )
    assert delivery is not None  # the mutation always changes the record
    task = WebhookTask(
        endpoint_id, delivery_id, round=delivery.round, attempt=delivery.attempts + 1
    )
    enqueue_webhook(ctx.tasks, ctx.settings, task, schedule_at=None)
    return delivery
