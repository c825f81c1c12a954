"""The event contract: a JSON Schema (draft 2020-12) of every SSE event the relay streams.

Served as ``GET /events.schema.json`` next to ``/openapi.json``. One event is described as the
object ``{"event": <type>, "id": <id or absent>, "data": {...}}`` (the SSE ``event:``, ``id:``
and the JSON of ``data:``); ``data`` is validated by the schema of its type:

- ``post_status``: a post's status (:meth:`sharecast.domain.models.PostRecord.snapshot`);
- ``target_status``: one target (:meth:`sharecast.domain.models.TargetRecord.snapshot`);
- ``share_status``: one video share record (:meth:`sharecast.domain.shares.ShareRecord.snapshot`);
- ``notification``: ``kind`` ``target_failed`` or ``connection_needs_reauth``;
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
_TS = Field(description="RFC 3339 timestamp, UTC", json_schema_extra={"format": "date-time"})


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TargetErrorData(_Data):
    """Why a target failed or is being retried; ``retry_after_s`` in seconds."""

    code: str
    message: str
    retryable: bool
    retry_after_s: float | None = None
    attempts: int
    max_attempts: int


class PostStatusData(_Data):
    """``post_status``: the post's status after the change."""

    post_id: str
    status: PostStatus
    version: int = Field(ge=1)
    schedule_at: str | None = _TS
    published_at: str | None = _TS
    updated_at: str | None = _TS


class TargetStatusData(_Data):
    """``target_status``: one target after the change (attempts so far, the error of the last
    failed attempt, the published post's id and URL on ``SUCCESS``)."""

    post_id: str
    target_id: str
    platform: Platform
    account_id: str
    status: TargetStatus
    attempts: int = Field(ge=0)
    max_attempts: int = Field(ge=1)
    next_attempt_at: str | None = _TS
    external_id: str | None
    external_url: str | None
    error: TargetErrorData | None
    published_at: str | None = _TS
    version: int = Field(ge=1)
    updated_at: str | None = _TS


class ShareStatusData(_Data):
    """``share_status``: one share record of a video to one network."""

    record_id: str
    video_id: str
    platform: Platform
    status: ShareStatus
    mode: ShareMode
    attempt_count: int = Field(ge=0)
    external_ref: str | None
    error_message: str | None
    shared_at: str | None = _TS
    version: int = Field(ge=1)
    updated_at: str | None = _TS


class TargetFailedNotification(_Data):
    """``notification`` of a target that finally failed (no attempt left)."""

    kind: Literal["target_failed"]
    post_id: str
    target_id: str
    platform: Platform
    message: str
    error: TargetErrorData | None
    version: int = Field(ge=1)


class ReauthNotification(_Data):
    """``notification`` of a connection whose grant was refused: the user must connect again."""

    kind: Literal["connection_needs_reauth"]
    connection_id: str
    platform: Platform
    account_id: str
    account_name: str
    status: Literal["needs_reauth"]
    message: str
    version: int = Field(ge=1)


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
    EventType.NOTIFICATION: (TargetFailedNotification, ReauthNotification),
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
