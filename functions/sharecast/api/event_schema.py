"""The event contract: a JSON Schema (draft 2020-12) of every SSE event the relay streams.

Served as ``GET /events.schema.json`` next to ``/openapi.json``. One event is described as the
object ``{"event": <type>, "id": <id or absent>, "data": {...}}`` (the SSE ``event:``, ``id:``
and the JSON of ``data:``); ``data`` is validated by the schema of its type:

- ``post_status``: a post's status (:meth:`sharecast.domain.models.PostRecord.snapshot`);
- ``target_status``: one target (:meth:`sharecast.domain.models.TargetRecord.snapshot`);
- ``share_status``: one video share record (:meth:`sharecast.domain.shares.ShareRecord.snapshot`);
- ``notification``: ``kind`` ``target_failed``, ``connection_needs_reauth`` or
  ``webhook_endpoint_disabled``;
- ``snapshot``: sent when the relay cannot replay from the client's ``Last-Event-ID``: the
  state of the user's recent posts, replacing what the client shows; its ``id`` is a cursor.

Every resource event carries the resource's ``version``: a client keeps the highest per resource
and drops event ids it has seen. Timestamps are RFC 3339 strings in UTC. The models forbid
unknown fields, so a test that validates what the relay really sends catches any drift.
JSON Schema: https://json-schema.org/draft/2020-12/json-schema-core
"""

from __future__ import annotations

import functools
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from sharecast.domain.shares import ShareMode, ShareStatus
from sharecast.domain.statuses import EventType, Platform, PostStatus, TargetStatus

#: Where the document is served (``$id``).
SCHEMA_PATH = "/events.schema.json"


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _f(description: str, **kwargs: Any) -> Any:
    """A field described for the OpenAPI document (the webhook payloads use these models)."""
    return Field(description=description, **kwargs)


def _ts(description: str) -> Any:
    """A timestamp field: RFC 3339 in UTC, or null."""
    return Field(
        description=f"{description} (RFC 3339, UTC)", json_schema_extra={"format": "date-time"}
    )


_VERSION = "Grows with every change of the resource; keep the highest per resource."


class TargetErrorData(_Data):
    """Why a target failed or is being retried; `retry_after_s` in seconds."""

    code: str = _f("A target error code (docs/problems.md#target-error-codes).")
    message: str = _f("What the network or Sharecast said.")
    retryable: bool = _f("`true`: Sharecast tries again by itself.")
    retry_after_s: float | None = _f("Seconds the network asked to wait.", default=None)
    attempts: int = _f("Attempts made so far.")
    max_attempts: int = _f("Attempts allowed in the current budget.")


class PostStatusData(_Data):
    """`post_status`: the post's status after the change."""

    post_id: str = _f("The post.")
    status: PostStatus = _f("The post's status (docs/semantics.md).")
    version: int = _f(_VERSION, ge=1)
    schedule_at: str | None = _ts("When it is scheduled to publish")
    published_at: str | None = _ts("When it was published")
    updated_at: str | None = _ts("When it last changed")


class TargetStatusData(_Data):
    """`target_status`: one target after the change (attempts so far, the error of the last
    failed attempt, the published post's id and URL on `SUCCESS`)."""

    post_id: str = _f("The post this target belongs to.")
    target_id: str = _f("The target's id within its post (`x-1`).")
    platform: Platform = _f("The network.")
    account_id: str = _f("The account it publishes as.")
    status: TargetStatus = _f("Where the target stands (docs/semantics.md).")
    attempts: int = _f("Attempts made so far.", ge=0)
    max_attempts: int = _f("Attempts allowed in the current budget.", ge=1)
    next_attempt_at: str | None = _ts("When the next attempt is due")
    external_id: str | None = _f("The network's id of the published post, once known.")
    external_url: str | None = _f("A link to the published post, once known.")
    error: TargetErrorData | None = _f("The last failure; `null` when none.")
    published_at: str | None = _ts("When the network accepted the post")
    version: int = _f(_VERSION, ge=1)
    updated_at: str | None = _ts("When the target last changed")


class ShareStatusData(_Data):
    """`share_status`: one share record of a video to one network."""

    record_id: str = _f("The share record (`{user}:{videoId}:{platform}`).")
    video_id: str = _f("The YouTube video.")
    platform: Platform = _f("The network it is shared to.")
    status: ShareStatus = _f("Where the share stands.")
    mode: ShareMode = _f("`track_only` or `server_post`.")
    attempt_count: int = _f("Attempts made so far.", ge=0)
    external_ref: str | None = _f("The network's id of the shared post, once known.")
    error_message: str | None = _f("Why the last attempt failed; `null` when none.")
    shared_at: str | None = _ts("When it was shared")
    version: int = _f(_VERSION, ge=1)
    updated_at: str | None = _ts("When it last changed")


class TargetFailedNotification(_Data):
    """`notification` of a target that finally failed (no attempt left)."""

    kind: Literal["target_failed"] = _f("What the notification is about.")
    post_id: str = _f("The post.")
    target_id: str = _f("The target that failed.")
    platform: Platform = _f("Its network.")
    message: str = _f("A sentence for people.")
    error: TargetErrorData | None = _f("Why it failed.")
    version: int = _f("The target's version.", ge=1)


class ReauthNotification(_Data):
    """`notification` of a connection whose grant was refused: the user must connect again."""

    kind: Literal["connection_needs_reauth"] = _f("What the notification is about.")
    connection_id: str = _f("The connection (`GET /connections`).")
    platform: Platform = _f("Its network.")
    account_id: str = _f("The network account.")
    account_name: str = _f("The account's display name.")
    status: Literal["needs_reauth"] = _f("The connection's new status.")
    message: str = _f("A sentence for people.")
    version: int = _f("The connection's version.", ge=1)


class WebhookDisabledNotification(_Data):
    """`notification` of a webhook endpoint Sharecast disabled (failing for
    `WEBHOOK_DISABLE_AFTER_S`, or answered `410 Gone`): enable it again with
    `PATCH /webhooks/{id}` once it works (docs/webhooks.md#delivery)."""

    kind: Literal["webhook_endpoint_disabled"] = _f("What the notification is about.")
    endpoint_id: str = _f("The webhook endpoint.")
    url: str = _f("Its URL.")
    status: Literal["disabled"] = _f("The endpoint's new state.")
    message: str = _f("A sentence for people, with the reason.")
    version: int = _f("The endpoint's version.", ge=1)


class SnapshotPost(PostStatusData):
    """One post of a ``snapshot``: its ``post_status`` data and every target's."""

    targets: list[TargetStatusData]


class SnapshotData(_Data):
    """``snapshot``: the relay could not replay what followed the client's ``Last-Event-ID``
    (unknown, too old, or too many events); ``reason`` says why. ``posts`` holds the state of
    the user's most recent posts (``more``: older ones exist, reload them from the API). Its
    ``id`` is a cursor (``{microseconds}-snapshot``) to resume from, not an event."""

    reason: str
    posts: list[SnapshotPost] = Field(default_factory=list)
    more: bool = False
    #: Sent instead of ``posts`` by relays older than the stream protocol (replay truncated).
    replayed: int | None = None


#: The data model of each event type (a notification is one of its kinds).
DATA_MODELS: dict[EventType, tuple[type[BaseModel], ...]] = {
    EventType.POST_STATUS: (PostStatusData,),
    EventType.TARGET_STATUS: (TargetStatusData,),
    EventType.SHARE_STATUS: (ShareStatusData,),
    EventType.NOTIFICATION: (
        TargetFailedNotification,
        ReauthNotification,
        WebhookDisabledNotification,
    ),
    EventType.SNAPSHOT: (SnapshotData,),
}


@functools.cache
def build_event_schema() -> dict[str, Any]:
    """The JSON Schema document (a dict) of one SSE event, every type included."""
    models = [m for group in DATA_MODELS.values() for m in group]
    _, defs = models_json_schema(
        [(m, "validation") for m in models], ref_template="#/$defs/{model}"
    )
    branches = []
    for kind, group in DATA_MODELS.items():
        refs = [{"$ref": f"#/$defs/{m.__name__}"} for m in group]
        data = refs[0] if len(refs) == 1 else {"oneOf": refs}
        branches.append(
            {
                "if": {"properties": {"event": {"const": kind.value}}},
                "then": {"properties": {"data": data}},
            }
        )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_PATH,
        "title": "Sharecast server-sent events",
        "description": (
            "One event of GET /events on the relay: its SSE event name, id (a resume cursor "
            "on snapshot) and the JSON of its data. Clients drop ids they have seen and keep the "
            "highest version per resource."
        ),
        "type": "object",
        "required": ["event", "data"],
        "properties": {
            "event": {"enum": [kind.value for kind in DATA_MODELS]},
            "id": {"type": "string", "pattern": "^[0-9]{17}-([0-9a-f]{8}|snapshot)$"},
            "data": {"type": "object"},
        },
        "allOf": branches,
        "$defs": defs["$defs"],
    }
