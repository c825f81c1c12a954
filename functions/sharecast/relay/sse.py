"""Server-Sent Events frame encoding (https://html.spec.whatwg.org/multipage/server-sent-events.html).

Every frame ends with a blank line and uses ``\\n`` line endings. An event frame is exactly::

    id: 00001763740800000000-1a2b3c4d
    event: target_status
    data: {"post_id":"p1","target_id":"t1","status":"SUCCESS","version":3}

``data`` is the event's ``data`` object as compact JSON on one line (JSON escapes every line
break inside strings, so one ``data:`` line always suffices). The stream opens with a
``retry: <ms>`` frame, carries ``: ping`` comment frames as heartbeats, and sends another
``retry:`` frame right before the relay ends it. A ``snapshot`` event (the current state of the
user's recent posts, sent instead of a replay) carries a cursor as its ``id``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sharecast.domain.events import Event, event_id_time, new_event_id
from sharecast.domain.statuses import EventType
from sharecast.relay.hub import PING as PING_FRAME
from sharecast.relay.hub import Frame

_FORBIDDEN = ("\r", "\n", "\x00")


def _field(value: str, name: str) -> str:
    if any(ch in value for ch in _FORBIDDEN):
        raise ValueError(f"SSE {name} must not contain CR, LF or NUL")
    return value


def encode_data(data: Mapping[str, Any]) -> str:
    """``data`` as one line of compact JSON (non-JSON values such as datetimes via ``str``)."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)


def event_frame(
    event_id: str, event_type: str, data: Mapping[str, Any], *, received: float = 0.0
) -> Frame:
    """The frame of one event (``received``: see :attr:`Frame.received`). Raises
    ``ValueError`` for a malformed id or unknown type."""
    event_id_time(event_id)  # only well-formed, time-ordered ids may become Last-Event-ID
    kind = EventType(event_type).value
    text = f"id: {_field(event_id, 'id')}\nevent: {kind}\ndata: {encode_data(data)}\n\n"
    return Frame(id=event_id, payload=text.encode(), received=received)


def frame_of(event: Event) -> Frame:
    """The frame of an :class:`Event` read from the Firestore event log (replay)."""
    return event_frame(event.id, event.type.value, event.data)


def retry_frame(retry_ms: int) -> bytes:
    """``retry: <ms>``: how long the browser waits before reconnecting (milliseconds)."""
    return f"retry: {int(retry_ms)}\n\n".encode()


def comment_frame(text: str) -> bytes:
    """A comment frame (``: text``), ignored by EventSource; used as the heartbeat."""
    return f": {_field(text, 'comment')}\n\n".encode()


def snapshot_frame(cursor: str, data: Mapping[str, Any]) -> bytes:
    """A ``snapshot`` event whose ``id`` is ``cursor`` (see :func:`snapshot_cursor`): the
    client's next ``Last-Event-ID`` resumes after the state the snapshot shows."""
    kind = EventType.SNAPSHOT.value
    return f"id: {_field(cursor, 'id')}\nevent: {kind}\ndata: {encode_data(data)}\n\n".encode()


#: The tail of a snapshot cursor, in place of an event id's 8 hex digits.
SNAPSHOT_TAIL = "snapshot"


def snapshot_cursor(at: datetime) -> str:
    """The ``id`` of a snapshot read at ``at`` (UTC): shaped like an event id of that time
    (``{microseconds:017d}-snapshot``), so it sorts among event ids and parses with
    :func:`~sharecast.domain.events.event_id_time`, yet names no stored event."""
    return new_event_id(at).rsplit("-", 1)[0] + "-" + SNAPSHOT_TAIL


def is_snapshot_cursor(event_id: str) -> bool:
    """True if ``event_id`` is a well-formed :func:`snapshot_cursor`."""
    if not event_id.endswith("-" + SNAPSHOT_TAIL):
        return False
    try:
        event_id_time(event_id)
    except ValueError:
        return False
    return True


#: The heartbeat frame, sent every ``relay_heartbeat_s`` seconds.
PING = PING_FRAME.payload
