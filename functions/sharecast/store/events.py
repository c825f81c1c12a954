"""The per-user event log ``users/{uid}/events/{eventId}`` (the outbox, docs/data-model.md).

Events are written in the same transaction as the change they describe, published to Pub/Sub
after commit (then ``published_at`` is set), and replayed by the relay for ``Last-Event-ID``.
``expire_at`` drives a Firestore TTL policy.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from google.cloud import firestore

from sharecast.domain.events import Event, event_id_floor, event_id_time
from sharecast.domain.statuses import EventType
from sharecast.store import queries

EVENTS = queries.EVENTS_FROM_ID.collection_group
USERS = "users"
#: The TTL field of every event (Terraform's TTL policy on ``events``, see ``queries``).
EXPIRE_AT = queries.EVENTS_TTL.field


def event_ref(db: firestore.Client, user_id: str, event_id: str) -> firestore.DocumentReference:
    """Reference of one event document."""
    return db.collection(USERS).document(user_id).collection(EVENTS).document(event_id)


def event_doc(event: Event, *, ttl: timedelta) -> dict[str, Any]:
    """The Firestore fields of an event; ``published_at`` starts unset (outbox pending)."""
    return {
        "id": event.id,
        "user_id": event.user_id,
        "type": event.type.value,
        "data": event.data,
        "created_at": event.created_at,
        "published_at": None,
        EXPIRE_AT: event.created_at + ttl,
    }


def add_event(
    writer: firestore.Transaction | firestore.WriteBatch,
    db: firestore.Client,
    event: Event,
    *,
    ttl: timedelta,
) -> None:
    """Stage ``event`` in ``writer`` (a transaction or batch) so it commits with the change."""
    writer.create(event_ref(db, event.user_id, event.id), event_doc(event, ttl=ttl))


def _from_doc(doc: dict[str, Any]) -> Event:
    return Event(
        id=doc["id"],
        user_id=doc["user_id"],
        type=EventType(doc["type"]),
        data=doc["data"],
        created_at=doc["created_at"],
    )


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
    return [_from_doc(snap.to_dict() or {}) for snap in query.stream() if snap.id != after_id]


def mark_published(db: firestore.Client, events: list[Event], at: datetime) -> None:
    """Record that ``events`` reached Pub/Sub (outbox done), in one batch."""
    if not events:
        return
    batch = db.batch()
    for event in events:
        batch.update(event_ref(db, event.user_id, event.id), {"published_at": at})
    batch.commit()


def list_unpublished(db: firestore.Client, *, before: datetime, limit: int) -> list[Event]:
    """Events of every user written before ``before`` (UTC) and never marked published (the
    outbox backlog the sweeper republishes), oldest first, at most ``limit``."""
    query = queries.build(
        db,
        queries.EVENTS_UNPUBLISHED,
        equal={"published_at": None},
        ranges=[("created_at", "<", before)],
        limit=limit,
    )
    return [_from_doc(snap.to_dict() or {}) for snap in query.stream()]
