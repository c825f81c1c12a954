"""Request and response models of `/webhooks` and of the delivery payloads
(docs/webhooks.md), on the conventions of `sharecast.api.fields`. Signing secrets appear only
in `WebhookSecretOut`, the answer of a creation or a rotation. A delivery's body is the event
JSON of the SSE stream (`sharecast.api.event_schema`), so one client model serves both."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from sharecast.api.event_schema import (
    PostStatusData,
    ReauthNotification,
    ShareStatusData,
    TargetFailedNotification,
    TargetStatusData,
    WebhookDisabledNotification,
)
from sharecast.api.fields import ApiModel, ApiOut, Timestamp, field_error
from sharecast.api.schemas import PageQuery
from sharecast.domain.webhooks import (
    FILTERS,
    DeliveryAttempt,
    DeliveryRecord,
    DeliveryStatus,
    EndpointRecord,
)

_FILTERS_TEXT = (
    "Event types to deliver, each `type` or `type:qualifier` (the status, or a notification's "
    "`kind`); empty: every type. Types: " + ", ".join(f"`{t}`" for t in sorted(FILTERS)) + "."
)
_URL_TEXT = (
    "Where deliveries are POSTed: `https` (`http` and `127.0.0.1` only in a local stack with "
    "`WEBHOOK_ALLOW_LOCAL`); never a private, loopback or link-local address."
)
_ENDPOINT_ID = "we_3f9a1c2b4d5e6f708192"
_DELIVERY_ID = "01893456789012345-3f2a9c1d"
_AT = "2030-01-01T09:00:01.250Z"
_FILTER_EXAMPLE = ["target_status:SUCCESS", "target_status:FAILED", "notification"]


class WebhookEndpointIn(ApiModel):
    """`POST /webhooks` body: a new endpoint."""

    example: ClassVar[dict[str, Any] | None] = {
        "url": "https://example.com/hooks/sharecast",
        "description": "CRM sync",
        "eventTypes": _FILTER_EXAMPLE,
    }

    url: str = Field(min_length=1, max_length=2048, description=_URL_TEXT)
    description: str = Field(
        default="", max_length=500, description="A note for people (what the endpoint is for)."
    )
    eventTypes: list[str] = Field(default_factory=list, max_length=50, description=_FILTERS_TEXT)
    enabled: bool = Field(default=True, description="`false`: registered, but nothing is sent.")
    scope: Literal["user", "org"] = Field(
        default="user",
        description="`user`: your own events; `org` (admins only): every user's events.",
    )


class WebhookEndpointPatch(ApiModel):
    """`PATCH /webhooks/{endpoint_id}` body: the fields to change (at least one; only
    `description` may be `null`). Enabling a disabled endpoint clears its failure state."""

    example: ClassVar[dict[str, Any] | None] = {"enabled": True}

    url: str | None = Field(default=None, min_length=1, max_length=2048, description=_URL_TEXT)
    description: str | None = Field(default=None, max_length=500, description="A note for people.")
    eventTypes: list[str] | None = Field(default=None, max_length=50, description=_FILTERS_TEXT)
    enabled: bool | None = Field(
        default=None, description="`true` enables (and clears the failure state), `false` pauses."
    )

    @model_validator(mode="after")
    def _no_nulls(self) -> WebhookEndpointPatch:
        for name in ("url", "eventTypes", "enabled"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise field_error("INVALID_VALUE", f"{name} may not be null")
        return self


class RotateSecretIn(ApiModel):
    """`POST /webhooks/{endpoint_id}/rotate-secret` body: how long the current secret keeps
    signing next to the new one."""

    example: ClassVar[dict[str, Any] | None] = {"graceSeconds": 86400}

    graceSeconds: int = Field(
        default=86400,
        ge=0,
        le=7 * 86400,
        description="Seconds (at most 7 days) the old secret keeps signing; 0: it stops now.",
    )


_ENDPOINT_EXAMPLE: dict[str, Any] = {
    "id": _ENDPOINT_ID,
    "url": "https://example.com/hooks/sharecast",
    "description": "CRM sync",
    "eventTypes": _FILTER_EXAMPLE,
    "scope": "user",
    "enabled": True,
    "disabledReason": None,
    "failingSince": None,
    "lastSuccessAt": _AT,
    "signingSecrets": 1,
    "createdAt": _AT,
    "updatedAt": _AT,
    "version": 1,
}


class WebhookEndpointOut(ApiOut):
    """A webhook endpoint (never its secret)."""

    example: ClassVar[dict[str, Any] | None] = _ENDPOINT_EXAMPLE

    id: str = Field(description="The endpoint's id (`we_...`).")
    url: str = Field(description="Where deliveries are POSTed.")
    description: str = Field(description="A note for people.")
    eventTypes: list[str] = Field(description=_FILTERS_TEXT)
    scope: Literal["user", "org"] = Field(description="`user` or `org` (every user's events).")
    enabled: bool = Field(description="`false`: nothing is sent (paused, or disabled by us).")
    disabledReason: str | None = Field(
        description="Why Sharecast disabled it (failing for days, `410 Gone`); `null` otherwise."
    )
    failingSince: Timestamp | None = Field(
        description="The first failed attempt since the last success; `null`: healthy."
    )
    lastSuccessAt: Timestamp | None = Field(description="The last delivery it accepted.")
    signingSecrets: int = Field(
        description="Secrets signing now (2 during a rotation's grace period)."
    )
    createdAt: Timestamp = Field(description="When it was registered.")
    updatedAt: Timestamp = Field(description="When it last changed.")
    version: int = Field(description="Grows with every change.")

    @classmethod
    def of(cls, record: EndpointRecord, *, now: datetime) -> WebhookEndpointOut:
        """The API view of a stored endpoint at `now`."""
        return cls(
            id=record.id,
            url=record.url,
            description=record.description,
            eventTypes=record.event_types,
            scope="org" if record.org_wide else "user",
            enabled=record.enabled,
            disabledReason=record.disabled_reason,
            failingSince=record.failing_episode_start,
            lastSuccessAt=record.last_success_at,
            signingSecrets=len(record.signing_secrets(now)),
            createdAt=record.created_at,
            updatedAt=record.updated_at,
            version=record.version,
        )


class WebhookEndpointListOut(ApiOut):
    """`GET /webhooks`: your endpoints (admins: and every org-wide one), oldest first."""

    example: ClassVar[dict[str, Any] | None] = {"items": [_ENDPOINT_EXAMPLE]}

    items: list[WebhookEndpointOut] = Field(description="The endpoints.")


class WebhookSecretOut(ApiOut):
    """A new endpoint or a rotated secret: the signing secret, shown this once."""

    example: ClassVar[dict[str, Any] | None] = {
        "endpoint": _ENDPOINT_EXAMPLE,
        "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    }

    endpoint: WebhookEndpointOut = Field(description="The endpoint.")
    secret: str = Field(
        description="Standard Webhooks signing secret: `whsec_` + base64 of 32 bytes. Keep it: "
        "it is never shown again."
    )


class DeliveryQuery(PageQuery):
    """Query string of `GET /webhooks/{endpoint_id}/deliveries`."""

    example: ClassVar[dict[str, Any] | None] = {"status": "FAILED", "limit": 50}

    status: DeliveryStatus | None = Field(
        default=None, description="Only deliveries with this status."
    )


_ATTEMPT_EXAMPLE: dict[str, Any] = {
    "attempt": 1,
    "at": _AT,
    "statusCode": 200,
    "latencyMs": 42.5,
    "outcome": "SUCCEEDED",
    "error": None,
    "responseExcerpt": "ok",
}


class DeliveryAttemptOut(ApiOut):
    """One attempt of a delivery."""

    example: ClassVar[dict[str, Any] | None] = _ATTEMPT_EXAMPLE

    attempt: int = Field(description="1 for the first attempt, counted over every round.")
    at: Timestamp = Field(description="When it was made.")
    statusCode: int | None = Field(description="The answer's HTTP status; `null`: no answer.")
    latencyMs: float = Field(description="Milliseconds from connecting to the answer's end.")
    outcome: DeliveryStatus = Field(description="The delivery's status after this attempt.")
    error: str | None = Field(description="Why it failed (a refused address, a timeout...).")
    responseExcerpt: str = Field(description="The first bytes of the answer's body.")

    @classmethod
    def of(cls, attempt: DeliveryAttempt) -> DeliveryAttemptOut:
        """The API view of one attempt."""
        return cls(
            attempt=attempt.attempt,
            at=attempt.at,
            statusCode=attempt.status_code,
            latencyMs=attempt.latency_ms,
            outcome=attempt.outcome,
            error=attempt.error,
            responseExcerpt=attempt.response_excerpt,
        )


_DELIVERY_EXAMPLE: dict[str, Any] = {
    "id": _DELIVERY_ID,
    "endpointId": _ENDPOINT_ID,
    "messageId": f"msg_{_DELIVERY_ID}",
    "eventType": "target_status",
    "status": "SUCCEEDED",
    "attempts": 1,
    "round": 1,
    "nextAttemptAt": None,
    "lastStatusCode": 200,
    "lastLatencyMs": 42.5,
    "lastError": None,
    "responseExcerpt": "ok",
    "payload": '{"id":"01893456789012345-3f2a9c1d","type":"target_status","data":{}}',
    "history": [_ATTEMPT_EXAMPLE],
    "createdAt": _AT,
    "updatedAt": _AT,
}


class DeliveryOut(ApiOut):
    """One delivery of the log: one event (or ping) for one endpoint."""

    example: ClassVar[dict[str, Any] | None] = _DELIVERY_EXAMPLE

    id: str = Field(description="The event id (or the ping's).")
    endpointId: str = Field(description="The endpoint it goes to.")
    messageId: str = Field(description="The `webhook-id` header, the same on every retry.")
    eventType: str = Field(description="The payload's `type`.")
    status: DeliveryStatus = Field(description="Where the delivery stands.")
    attempts: int = Field(description="Attempts so far, every round counted.")
    round: int = Field(description="1, plus one per manual redelivery.")
    nextAttemptAt: Timestamp | None = Field(description="When the next retry is due.")
    lastStatusCode: int | None = Field(description="The last answer's HTTP status.")
    lastLatencyMs: float | None = Field(description="The last attempt's milliseconds.")
    lastError: str | None = Field(description="Why the last attempt failed.")
    responseExcerpt: str = Field(description="The first bytes of the last answer's body.")
    payload: str = Field(description="The exact body sent (and signed).")
    history: list[DeliveryAttemptOut] = Field(description="The latest attempts, oldest first.")
    createdAt: Timestamp = Field(description="When the delivery was queued.")
    updatedAt: Timestamp = Field(description="When it last changed.")

    @classmethod
    def of(cls, record: DeliveryRecord) -> DeliveryOut:
        """The API view of a stored delivery."""
        return cls(
            id=record.id,
            endpointId=record.endpoint_id,
            messageId=record.message_id,
            eventType=record.event_type,
            status=record.status,
            attempts=record.attempts,
            round=record.round,
            nextAttemptAt=record.next_attempt_at,
            lastStatusCode=record.last_status_code,
            lastLatencyMs=record.last_latency_ms,
            lastError=record.last_error,
            responseExcerpt=record.response_excerpt,
            payload=record.payload,
            history=[DeliveryAttemptOut.of(a) for a in record.history],
            createdAt=record.created_at,
            updatedAt=record.updated_at,
        )


class DeliveryListOut(ApiOut):
    """`GET /webhooks/{endpoint_id}/deliveries`: newest first."""

    example: ClassVar[dict[str, Any] | None] = {"items": [_DELIVERY_EXAMPLE], "nextCursor": None}

    items: list[DeliveryOut] = Field(description="The deliveries of this page.")
    nextCursor: str | None = Field(description="The next page's `cursor`; `null` on the last.")


# --- Delivery payloads (OpenAPI `webhooks`): the body POSTed to an endpoint -----------------


class PingData(BaseModel):
    """A test ping's data (`POST /webhooks/{endpoint_id}/ping`)."""

    model_config = ConfigDict(extra="forbid")

    endpoint_id: str = Field(description="The endpoint pinged.")
    message: str = Field(description="`Ping from Sharecast`.")


def _payload_doc(
    type_: str, data: Any, example: dict[str, Any], *, name: str | None = None
) -> type[BaseModel]:
    """The payload model of deliveries of type `type_` whose `data` is `data`."""
    name = name or "".join(part.title() for part in type_.split("_")) + "Webhook"
    model: type[BaseModel] = create_model(
        name,
        __doc__=(
            f"The body of a `{type_}` delivery, signed per Standard Webhooks (`webhook-id`, "
            "`webhook-timestamp`, `webhook-signature`). Its fields are those of the SSE event, "
            "in the event contract's snake_case (`GET /events.schema.json`)."
        ),
        __config__=ConfigDict(extra="forbid", json_schema_extra={"examples": [example]}),
        id=(str, Field(description="The event id (the SSE `id:`); a ping's own id.")),
        type=(Literal[type_], Field(description="The event type (the SSE `event:`).")),  # type: ignore[arg-type]
        timestamp=(
            str,
            Field(
                description="When the event happened (RFC 3339, UTC).",
                json_schema_extra={"format": "date-time"},
            ),
        ),
        user_id=(str, Field(description="Whose event it is (for org-wide endpoints).")),
        data=(data, Field(description="Exactly the SSE `data:` of the event.")),
    )
    return model


_EXAMPLE_TARGET = {
    "post_id": "8f14e45fceea467a9f2b0c1d2e3f4a5b",
    "target_id": "x-1",
    "platform": "x",
    "account_id": "sandbox-x-alice",
    "status": "SUCCESS",
    "attempts": 1,
    "max_attempts": 5,
    "next_attempt_at": None,
    "external_id": "1790000000000000001",
    "external_url": "https://x.com/i/web/status/1790000000000000001",
    "error": None,
    "published_at": _AT,
    "version": 4,
    "updated_at": _AT,
}


def _example(type_: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": _DELIVERY_ID, "type": type_, "timestamp": _AT, "user_id": "alice", "data": data}


#: Each delivery type's payload model (the OpenAPI document's `webhooks`); `data` is the SSE
#: data model of `sharecast.api.event_schema`.
WEBHOOK_PAYLOADS: dict[str, type[BaseModel]] = {
    "target_status": _payload_doc(
        "target_status", TargetStatusData, _example("target_status", _EXAMPLE_TARGET)
    ),
    "post_status": _payload_doc(
        "post_status",
        PostStatusData,
        _example(
            "post_status",
            {
                "post_id": "8f14e45fceea467a9f2b0c1d2e3f4a5b",
                "status": "PUBLISHED",
                "version": 3,
                "schedule_at": None,
                "published_at": _AT,
                "updated_at": _AT,
            },
        ),
    ),
    "share_status": _payload_doc(
        "share_status",
        ShareStatusData,
        _example(
            "share_status",
            {
                "record_id": "alice:dQw4w9WgXcQ:x",
                "video_id": "dQw4w9WgXcQ",
                "platform": "x",
                "status": "success",
                "mode": "server_post",
                "attempt_count": 1,
                "external_ref": "1790000000000000001",
                "error_message": None,
                "shared_at": _AT,
                "version": 2,
                "updated_at": _AT,
            },
        ),
    ),
    "notification": _payload_doc(
        "notification",
        TargetFailedNotification | ReauthNotification | WebhookDisabledNotification,
        _example(
            "notification",
            {
                "kind": "webhook_endpoint_disabled",
                "endpoint_id": _ENDPOINT_ID,
                "url": "https://example.com/hooks/sharecast",
                "status": "disabled",
                "message": "Webhook endpoint https://example.com/hooks/sharecast was disabled: "
                "every delivery failed since 2030-01-01T09:00:01.250Z",
                "version": 7,
            },
        ),
    ),
    "ping": _payload_doc(
        "ping",
        PingData,
        _example("ping", {"endpoint_id": _ENDPOINT_ID, "message": "Ping from Sharecast"}),
    ),
}
