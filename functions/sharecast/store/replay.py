"""Reading back the per-user event log ``users/{uid}/events/{eventId}`` for ``Last-Event-ID``
replay (the relay). Writing and publishing events is the outbox's (:mod:`sharecast.outbox`)."""

from __future__ import annotations

from datetime import timedelta

from google.cloud import firestore

from sharecast.domain.events import Event, event_id_floor, event_id_time
from sharecast.store import queries

USERS = "users"


def list_events_after(
    db: firestore.Client,
    *,
    user_id: str,
    after_id: str | None,
    overlap_s: float,
    limit: int,
) -> list[Event]:
    """Events of ``user_id`` to replay after ``after_id``, oldest first, at most ``limit``.

    Event ids are time-ordered, but an event can commit slightly after a later-stamped one is
    already visible, so the replay starts ``overlap_s`` seconds before ``after_id``'s time; the
    overlap may repeat events the client has (it keeps the newest ``version``), never skips any.
    ``after_id`` itself is not returned. ``None`` or a malformed id replays nothing.
    """
    if not after_id:
        return []
    try:
        start = event_id_floor(event_id_time(after_id) - timedelta(seconds=overlap_s))
    except ValueError:
        return []
    query = queries.build(
        db.collection(USERS).document(user_id),
        queries.EVENTS_FROM_ID,
        ranges=[("id", ">=", start)],
        limit=limit,
    )
    return [Event.from_doc(snap.to_dict() or {}) for snap in query.stream() if snap.id != after_id]
