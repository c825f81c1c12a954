"""Webhook routes (docs/webhooks.md#endpoints): endpoints, secret rotation, the delivery log,
redelivery and the test ping.

Users and admins manage their own endpoints; admins also register and manage org-wide ones
(`scope: org`). Someone else's endpoint is 404.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from sharecast.api.context import context
from sharecast.api.routes import AUTHORS, route
from sharecast.api.webhook_schemas import (
    DeliveryListOut,
    DeliveryOut,
    DeliveryQuery,
    RotateSecretIn,
    WebhookEndpointIn,
    WebhookEndpointListOut,
    WebhookEndpointOut,
    WebhookEndpointPatch,
    WebhookSecretOut,
)
from sharecast.auth import Principal
from sharecast.errors import FieldProblem, ValidationFailed
from sharecast.store import webhooks as store
from sharecast.timeutil import utcnow
from sharecast.webhooks import endpoints
from sharecast.webhooks.endpoints import EndpointChanges

bp = Blueprint("webhooks", __name__)


def _rules(
    *, user: Principal, path: dict[str, str], data: dict[str, Any], partial: dict[str, Any]
) -> list[FieldProblem]:
    """The URL and event-type problems of what parsed of an invalid body (`api.salvage`), so
    one 422 lists them with the type problems."""
    return endpoints.problems(
        context(), url=partial.get("url"), event_types=partial.get("eventTypes")
    )


@route(
    bp,
    "POST",
    "/webhooks",
    summary="Register a webhook endpoint; the answer holds its signing secret, shown once",
    roles=AUTHORS,
    rate="write",
    body=WebhookEndpointIn,
    rules=_rules,
    errors={409},
    responses={201: WebhookSecretOut},
)
def create_endpoint(user: Principal, body: WebhookEndpointIn) -> tuple[WebhookSecretOut, int]:
    """201 with the endpoint and its `whsec_` secret; 403 for `scope: org` unless admin; 409
    when you have `WEBHOOK_MAX_ENDPOINTS` already; 422 for a URL that is not https (or is a
    private address) or an unknown event type."""
    now = utcnow()
    endpoint, secret = endpoints.create_endpoint(
        context(),
        user=user,
        url=body.url,
        description=body.description,
        event_types=body.eventTypes,
        enabled=body.enabled,
        org_wide=body.scope == "org",
        now=now,
    )
    return WebhookSecretOut(endpoint=WebhookEndpointOut.of(endpoint, now=now), secret=secret), 201


@route(
    bp,
    "GET",
    "/webhooks",
    summary="Your webhook endpoints (admins: and every org-wide one)",
    roles=AUTHORS,
    rate="read",
    responses={200: WebhookEndpointListOut},
)
def list_endpoints(user: Principal) -> WebhookEndpointListOut:
    """Oldest first; never a secret."""
    now = utcnow()
    records = endpoints.list_endpoints(context(), user=user)
    return WebhookEndpointListOut(items=[WebhookEndpointOut.of(r, now=now) for r in records])


@route(
    bp,
    "GET",
    "/webhooks/{endpoint_id}",
    summary="One webhook endpoint",
    roles=AUTHORS,
    rate="read",
    responses={200: WebhookEndpointOut},
)
def get_endpoint(user: Principal, endpoint_id: str) -> WebhookEndpointOut:
    """404 when it is not yours."""
    record = endpoints.get_endpoint(context(), user=user, endpoint_id=endpoint_id)
    return WebhookEndpointOut.of(record, now=utcnow())


@route(
    bp,
    "PATCH",
    "/webhooks/{endpoint_id}",
    summary="Change a webhook endpoint's URL, description, event types or enabled flag",
    roles=AUTHORS,
    rate="write",
    body=WebhookEndpointPatch,
    rules=_rules,
    responses={200: WebhookEndpointOut},
)
def update_endpoint(
    user: Principal, endpoint_id: str, body: WebhookEndpointPatch
) -> WebhookEndpointOut:
    """Enabling a disabled endpoint clears its failure state; 422 like a creation, and for an
    empty body (after the ownership check: someone else's endpoint is 404 whatever the body)."""
    now = utcnow()
    if not body.model_fields_set:
        endpoints.get_endpoint(context(), user=user, endpoint_id=endpoint_id)
        message = "nothing to change: give url, description, eventTypes or enabled"
        raise ValidationFailed(message, errors=[FieldProblem("body", "NOTHING_TO_CHANGE", message)])
    changes = EndpointChanges(
        url=body.url,
        description=body.description,
        event_types=body.eventTypes,
        enabled=body.enabled,
    )
    record = endpoints.update_endpoint(
        context(), user=user, endpoint_id=endpoint_id, changes=changes, now=now
    )
    return WebhookEndpointOut.of(record, now=now)


@route(
    bp,
    "DELETE",
    "/webhooks/{endpoint_id}",
    summary="Delete a webhook endpoint",
    roles=AUTHORS,
    rate="write",
    responses={204: None},
)
def delete_endpoint(user: Principal, endpoint_id: str) -> tuple[None, int]:
    """204; attempts still queued for it do nothing."""
    endpoints.delete_endpoint(context(), user=user, endpoint_id=endpoint_id)
    return None, 204


@route(
    bp,
    "POST",
    "/webhooks/{endpoint_id}/rotate-secret",
    summary="Rotate the signing secret; the old one keeps signing during the grace period",
    roles=AUTHORS,
    rate="write",
    body=RotateSecretIn,
    responses={200: WebhookSecretOut},
)
def rotate_secret(user: Principal, endpoint_id: str, body: RotateSecretIn) -> WebhookSecretOut:
    """The new secret, shown once; until `graceSeconds` have passed every delivery carries a
    signature with each secret (`webhook-signature: v1,<new> v1,<old>`)."""
    now = utcnow()
    endpoint, secret = endpoints.rotate_secret(
        context(), user=user, endpoint_id=endpoint_id, grace_s=body.graceSeconds, now=now
    )
    return WebhookSecretOut(endpoint=WebhookEndpointOut.of(endpoint, now=now), secret=secret)


@route(
    bp,
    "POST",
    "/webhooks/{endpoint_id}/ping",
    summary="Send a test delivery (type `ping`) to the endpoint",
    roles=AUTHORS,
    rate="write",
    errors={409},
    responses={202: DeliveryOut},
)
def ping(user: Principal, endpoint_id: str) -> tuple[DeliveryOut, int]:
    """202 with the queued delivery (follow it in the delivery log); 409 when the endpoint is
    disabled."""
    delivery = endpoints.ping(context(), user=user, endpoint_id=endpoint_id, now=utcnow())
    return DeliveryOut.of(delivery), 202


@route(
    bp,
    "GET",
    "/webhooks/{endpoint_id}/deliveries",
    summary="The endpoint's delivery log, newest first",
    roles=AUTHORS,
    rate="read",
    query=DeliveryQuery,
    responses={200: DeliveryListOut},
)
def list_deliveries(user: Principal, endpoint_id: str, query: DeliveryQuery) -> DeliveryListOut:
    """Each delivery with its status, attempts, latency, the answer's status and first bytes;
    filter with `status`; `nextCursor` is null on the last page."""
    ctx = context()
    endpoints.get_endpoint(ctx, user=user, endpoint_id=endpoint_id)
    page = store.list_deliveries(
        ctx.db, endpoint_id=endpoint_id, status=query.status, limit=query.limit, cursor=query.cursor
    )
    return DeliveryListOut(
        items=[DeliveryOut.of(d) for d in page.items], nextCursor=page.next_cursor
    )


@route(
    bp,
    "GET",
    "/webhooks/{endpoint_id}/deliveries/{delivery_id}",
    summary="One delivery with its latest attempts",
    roles=AUTHORS,
    rate="read",
    responses={200: DeliveryOut},
)
def get_delivery(user: Principal, endpoint_id: str, delivery_id: str) -> DeliveryOut:
    """404 when the endpoint is not yours or the delivery is not in its log."""
    ctx = context()
    endpoints.get_endpoint(ctx, user=user, endpoint_id=endpoint_id)
    return DeliveryOut.of(store.get_delivery(ctx.db, endpoint_id, delivery_id))


@route(
    bp,
    "POST",
    "/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver",
    summary="Send a delivery again (same webhook-id and body, a new retry window)",
    roles=AUTHORS,
    rate="write",
    errors={409},
    responses={202: DeliveryOut},
)
def redeliver(user: Principal, endpoint_id: str, delivery_id: str) -> tuple[DeliveryOut, int]:
    """202 with the delivery in its new round; 409 when the endpoint is disabled."""
    delivery = endpoints.redeliver(
        context(), user=user, endpoint_id=endpoint_id, delivery_id=delivery_id, now=utcnow()
    )
    return DeliveryOut.of(delivery), 202
