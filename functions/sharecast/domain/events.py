"""Status events: the rows of the per-user event log (outbox) and the SSE frames.

An event id is sortable by creation time: ``{microseconds since epoch:017d}-{8 hex}``. The relay
uses it as the SSE ``id:`` and for ``Last-Event-ID`` replay. Event ``data`` is a snapshot of the
resource with its ``version``, so replays may overlap: clients keep the newest version.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from sharecast.domain.statuses import EventType
from sharecast.timeutil import utcnow

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def new_event_id(at: datetime | None = None) -> str:
    """A new time-ordered event id for an event created at ``at`` (default now, UTC)."""
    when = at or utcnow()
    micros = (when - _EPOCH) // timedelta(microseconds=1)
    return f"{micros:017d}-{secrets.token_hex(4)}"


def event_id_time(event_id: str) -> datetime:
    """The creation time encoded in an event id. Raises ``ValueError`` when malformed."""
    head, _, tail = event_id.partition("-")
    if len(head) != 17 or not head.isdigit() or len(tail) != 8:
        raise ValueError(f"not an event id: {event_id!r}")
    return _EPOCH + timedelta(microseconds=int(head))


def event_id_floor(at: datetime) -> str:
    """The smallest possible event id created at or after ``at`` (for range queries)."""
    micros = (at - _EPOCH) // timedelta(microseconds=1)
    return f"{max(micros, 0):017d}-"


class Event(BaseModel):
    """One status change for one user.

    ``data`` is JSON-compatible and always contains ``version`` (the resource's version after
    the change) and the resource ids (``post_id``/``target_id`` or ``video_id``...).
    """

    model_config = ConfigDict(frozen=True)

    id: str
    user_id: str
    type: EventType
    data: dict[str, Any]
    created_at: datetime

    @classmethod
    def new(cls, *, user_id: str, type: EventType, data: dict[str, Any]) -> Event:
        """A new event stamped now."""
        now = utcnow()
        return cls(id=new_event_id(now), user_id=user_id, type=type, data=data, created_at=now)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Event:
        """The event stored in an event-log document (``sharecast.outbox.event_doc``)."""
        return cls(
            id=doc["id"],
            user_id=doc["user_id"],
            type=EventType(doc["type"]),
            data=doc["data"],
            created_at=doc["created_at"],
        )

    def wire(self) -> dict[str, Any]:
        """The JSON body published to Pub/Sub and streamed as SSE ``data:``."""
        return {"id": self.id, "type": self.type.value, "user_id": self.user_id, "data": self.data}
