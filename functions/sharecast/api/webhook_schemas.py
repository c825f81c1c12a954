"""Request and response models of ``/webhooks`` and of the delivery payloads
(docs/webhooks.md). Signing secrets appear only in :class:`WebhookSecretOut`, the answer of a
creation or a rotation."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from sharecast.api.schemas import ApiModel, ApiOut, PageQuery, TargetOut
from sharecast.domain.shares import ShareMode, ShareStatus
from sharecast.domain.statuses import Platform, PostStatus
from sharecast.domain.webhooks import (
    FILTERS,
    DeliveryAttempt,
    DeliveryRecord,
    DeliveryStatus,
    EndpointRecord,
)
from sharecast.timeutil import isoformat

_FILTERS_TEXT = (
    "event types to deliver, each `type` or `type:qualifier` (the status, or a notification's "
    "kind); empty: every type. Types: " + ", ".join(sorted(FILTERS))
)


class WebhookEndpointIn(ApiModel):
    """``POST /webhooks`` body."""

    url: str = Field(
        min_length=1,
        max_length=2048,
        description="where deliveries are POSTed: https (http and 127.0.0.1 only in a local stack)",
        examples=["https://example.com/hooks/sharecast"],
    )
    description: str = Field(default="", max_length=500, examples=["CRM sync"])
    eventTypes: list[str] = Field(
        default_factory=list,
        max_length=50,
        description=_FILTERS_TEXT,
        examples=[["target_status:SUCCESS", "target_status:FAILED", "notification"]],
    )
    enabled: bool = True
    scope: Literal["user", "org"] = Field(
        default="user",
        description="`user`: your own events; `org` (admins): every user's events",
    )


class WebhookEndpointPatch(ApiModel):
    """``PATCH /webhooks/{endpoint_id}`` body: the fields to change (at least one).
    Enabling a disabled endpoint clears its failure state."""

    url: str | None = Field(default=None, min_length=1, max_length=2048)
    description: str | None = Field(default=None, max_length=500)
    eventTypes: list[str] | None = Field(default=None, max_length=50, description=_FILTERS_TEXT)
    enabled: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> WebhookEndpointPatch:
        if not self.model_fields_set:
            raise ValueError("give at least one of url, description, eventTypes, enabled")
        for name in ("url", "eventTypes", "enabled"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} may not be null")
        return self


class RotateSecretIn(ApiModel):
    """``POST /webhooks/{endpoint_id}/rotate-secret`` body: how long the current secret keeps
    signing next to the new one (seconds, at most 7 days; 0: it stops now)."""

    graceSeconds: int = Field(default=86400, ge=0, le=7 * 86400, examples=[86400])


class WebhookEndpointOut(ApiOut):
    """A webhook endpoint (never its secret)."""

    id: str = Field(examples=["we_3f9a1c2b4d5e6f708192"])
    url: str
    description: str
    eventTypes: list[str]
    scope: Literal["user", "org"]
    enabled: bool
    disabledReason: str | None = Field(description="why Sharecast disabled it")
    failingSince: str | None = Field(description="first failed attempt since the last success")
    lastSuccessAt: str | None
    signingSecrets: int = Field(description="secrets signing now (2 during a rotation's grace)")
    createdAt: str | None
    updatedAt: str | None
    version: int

    @classmethod
    def of(cls, record: EndpointRecord, *, now: Any) -> WebhookEndpointOut:
        """The API view of a stored endpoint at ``now``."""
        return cls(
            id=record.id,
            url=record.url,
            description=record.description,
            eventTypes=record.event_types,
            scope="org" if record.org_wide else "user",
            enabled=record.enabled,
            disabledReason=record.disabled_reason,
            failingSince=isoformat(record.failing_episode_start),
            lastSuccessAt=isoformat(record.last_success_at),
            signingSecrets=len(record.signing_secrets(now)),
            createdAt=isoformat(record.created_at),
            updatedAt=isoformat(record.updated_at),
            version=record.version,
        )


class WebhookEndpointListOut(ApiOut):
    """``GET /webhooks``: your endpoints (admins: and every org-wide one), oldest first."""

    items: list[WebhookEndpointOut]


class WebhookSecretOut(ApiOut):
    """A new endpoint or a rotated secret: the signing secret, shown this once."""

    endpoint: WebhookEndpointOut
    secret: str = Field(
        description="Standard Webhooks signing secret: `whsec_` + base64 of 32 bytes",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class DeliveryQuery(PageQuery):
    """Query of ``GET /webhooks/{endpoint_id}/deliveries``: optional ``status``."""

    status: DeliveryStatus | None = None


class DeliveryAttemptOut(ApiOut):
    """One attempt of a delivery."""

    attempt: int
    at: str
    statusCode: int | None = Field(description="the answer's status; null: no answer")
    latencyMs: float
    outcome: DeliveryStatus
    error: str | None
    responseExcerpt: str = Field(description="the first bytes of the answer's body")

    @classmethod
    def of(cls, attempt: DeliveryAttempt) -> DeliveryAttemptOut:
        """The API view of one attempt."""
        return cls(
            attempt=attempt.attempt,
            at=isoformat(attempt.at) or "",
            statusCode=attempt.status_code,
            latencyMs=attempt.latency_ms,
            outcome=attempt.outcome,
            error=attempt.error,
            responseExcerpt=attempt.response_excerpt,
        )


class DeliveryOut(ApiOut):
    """One delivery of the log: one event (or ping) for one endpoint."""

    id: str = Field(description="the event id (or the ping's)")
    endpointId: str
    messageId: str = Field(description="the `webhook-id` header, the same on every retry")
    eventType: str
    status: DeliveryStatus
    attempts: int = Field(description="attempts so far, every round counted")
    round: int = Field(description="1, plus one per manual redelivery")
    nextAttemptAt: str | None
    lastStatusCode: int | None
    lastLatencyMs: float | None
    lastError: str | None
    responseExcerpt: str
    payload: str = Field(description="the exact body sent (and signed)")
    history: list[DeliveryAttemptOut] = Field(description="the latest attempts, oldest first")
    createdAt: str | None
    updatedAt: str | None

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
            nextAttemptAt=isoformat(record.next_attempt_at),
            lastStatusCode=record.last_status_code,
            lastLatencyMs=record.last_latency_ms,
            lastError=record.last_error,
            responseExcerpt=record.response_excerpt,
            payload=record.payload,
            history=[DeliveryAttemptOut.of(a) for a in record.history],
            createdAt=isoformat(record.created_at),
            updatedAt=isoformat(record.updated_at),
        )


class DeliveryListOut(ApiOut):
    """``GET /webhooks/{endpoint_id}/deliveries``: newest first."""

    items: list[DeliveryOut]
    nextCursor: str | None


# --- Delivery payloads (OpenAPI ``webhooks``): the body POSTed to an endpoint ---------------


class PostStatusData(BaseModel):
    """``post_status`` event data (the SSE ``data:`` too)."""

    post_id: str
    status: PostStatus
    version: int
    schedule_at: str | None
    published_at: str | None
    updated_at: str | None


class ShareStatusData(BaseModel):
    """``share_status`` event data (the SSE ``data:`` too)."""

    record_id: str
    video_id: str
    platform: Platform
    status: ShareStatus
    mode: ShareMode
    attempt_count: int
    external_ref: str | None
    error_message: str | None
    shared_at: str | None
    version: int
    updated_at: str | None


class NotificationData(BaseModel):
    """``notification`` event data: ``kind`` (``target_failed``, ``connection_needs_reauth``,
    ``webhook_endpoint_disabled``), a ``message`` for people, and the ids of what it is about."""

    model_config = ConfigDict(extra="allow")

    kind: str
    message: str
    version: int


class PingData(BaseModel):
    """A test ping's data."""

    endpoint_id: str
    message: str


def _payload_doc(type_: str, data: type[BaseModel], example: dict[str, Any]) -> type[BaseModel]:
    """The payload model of deliveries of type ``type_`` whose ``data`` is ``data``."""
    name = "".join(part.title() for part in type_.split("_")) + "Webhook"
    model: type[BaseModel] = create_model(
        name,
        __doc__=(
            f"The body of a ``{type_}`` delivery: ``id`` (the event id, the SSE ``id:``), "
            "``type``, ``timestamp`` (when it happened, RFC 3339 UTC), ``user_id`` (whose "
            "event) and ``data`` (exactly the SSE ``data:``). Signed per Standard Webhooks "
            "(``webhook-id``, ``webhook-timestamp``, ``webhook-signature``)."
        ),
        __config__=ConfigDict(json_schema_extra={"examples": [example]}),
        id=(str, ...),
        type=(Literal[type_], ...),  # type: ignore[arg-type]
        timestamp=(str, ...),
        user_id=(str, ...),
        data=(data, ...),
    )
    return model


_EXAMPLE_TARGET = {
    "post_id": "p_01J9Z",
    "target_id": "x-0",
    "platform": "x",
    "account_id": "sandbox-x-alice",
    "status": "SUCCESS",
    "attempts": 1,
    "max_attempts": 4,
    "next_attempt_at": None,
    "external_id": "1790000000000000001",
    "external_url": "https://x.com/i/web/status/1790000000000000001",
    "error": None,
    "published_at": "2030-01-01T09:00:01.250Z",
    "version": 4,
    "updated_at": "2030-01-01T09:00:01.250Z",
}


def _example(type_: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "01893456789012345-3f2a9c1d",
        "type": type_,
        "timestamp": "2030-01-01T09:00:01.250Z",
        "user_id": "alice",
        "data": data,
    }


#: Each delivery type's payload model (the OpenAPI document's ``webhooks``).
WEBHOOK_PAYLOADS: dict[str, type[BaseModel]] = {
    "target_status": _payload_doc(
        "target_status", TargetOut, _example("target_status", _EXAMPLE_TARGET)
    ),
    "post_status": _payload_doc(
        "post_status",
        PostStatusData,
        _example(
            "post_status",
            {
                "post_id": "p_01J9Z",
                "status": "PUBLISHED",
                "version": 3,
                "schedule_at": None,
                "published_at": "2030-01-01T09:00:01.300Z",
                "updated_at": "2030-01-01T09:00:01.300Z",
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
                "shared_at": "2030-01-01T09:00:01.300Z",
                "version": 2,
                "updated_at": "2030-01-01T09:00:01.300Z",
            },
        ),
    ),
    "notification": _payload_doc(
        "notification",
        NotificationData,
        _example(
            "notification",
            {
                "kind": "target_failed",
                "post_id": "p_01J9Z",
                "target_id": "x-0",
                "platform": "x",
                "message": "Publishing to x failed: duplicate content",
                "error": None,
                "version": 5,
            },
        ),
    ),
    "ping": _payload_doc(
        "ping",
        PingData,
        _example(
            "ping", {"endpoint_id": "we_3f9a1c2b4d5e6f708192", "message": "Ping from Sharecast"}
        ),
    ),
}
