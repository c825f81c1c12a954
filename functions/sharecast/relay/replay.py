"""Resuming a stream after ``Last-Event-ID``: a replay from the event log, or a snapshot.

What the client already has. Pub/Sub delivers without order, so the log cannot say which
events reached a client before its last one: an event published earlier may have been still on
its way when the stream ended. The replay reads the log from ``relay_replay_overlap_s`` before
the last id's time on (so that an event committed late is never skipped) and sends, in commit
order, every event of that window except those the client is *known* to hold: the ids the
relay wrote to the client's previous stream on this instance
(:class:`sharecast.relay.handover.Handover`). Without that knowledge (another instance, a
restart) the whole window is sent again, but for the events committed with the last one and
listed before it (published in the same call); the client drops the ids it has. So the relay
re-sends nothing where it knows (a reconnect to the same instance, the common case), and never
skips an event on a guess.

Instead of a replay the stream gets a ``snapshot`` event (the current state of the user's most
recent posts and their targets, ``relay_snapshot_posts`` of them) when the id is unknown to the
log (never written, or expired), malformed, older than ``relay_replay_max_age_s``, or when more
than ``relay_replay_limit`` events would follow it: a bounded read either way. A snapshot's id is
a cursor (:func:`sharecast.relay.sse.snapshot_cursor`); a replay after it sends every event
committed after the snapshot was read.

Cost per resume: one document read and one query of at most ``relay_replay_limit + 1`` events,
or (snapshot) one query of ``relay_snapshot_posts`` posts and one batched read of their targets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from google.cloud import firestore

from sharecast.domain.events import Event, event_id_floor, event_id_time
from sharecast.domain.statuses import EventType
from sharecast.outbox import USERS, event_ref
from sharecast.relay.hub import Frame
from sharecast.relay.sse import frame_of, is_snapshot_cursor, snapshot_cursor, snapshot_frame
from sharecast.store import queries
from sharecast.store.listing import list_posts
from sharecast.timeutil import utcnow

#: Longest accepted ``Last-Event-ID`` (event ids are 26 characters).
MAX_LAST_EVENT_ID = 64
#: A snapshot shows what was committed before its read started, minus this margin (seconds)
#: for clock skew between the relay and Firestore's commit timestamps: events committed in the
#: margin are replayed after the snapshot cursor (a re-send the client's version check absorbs).
SNAPSHOT_SKEW_S = 1.0


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One stored event with its commit time (Firestore ``create_time``, UTC) and
    ``published`` (``published_at``: when its publisher saw Pub/Sub accept it, or ``None``)."""

    event: Event
    committed: datetime
    published: datetime | None

    @property
    def id(self) -> str:
        """The event id."""
        return self.event.id


@dataclass(frozen=True, slots=True)
class Resume:
    """What a resumed stream sends before live events: the replayed ``frames`` (commit order),
    or a ``snapshot`` frame (then ``frames`` is empty). ``reason`` says which and why:
    ``replay``, ``unknown``, ``too_old``, ``truncated``. ``held`` are the ids of the window the
    client already has: a late live delivery of one of them must not be sent either."""

    reason: str
    frames: list[Frame]
    snapshot: bytes | None = None
    held: tuple[str, ...] = ()


def select_replay(
    entries: list[LogEntry],
    last: LogEntry | None,
    *,
    after: datetime,
    known: frozenset[str] | None = None,
) -> list[LogEntry]:
    """The entries to replay, in commit order (ties by id).

    ``last`` is the client's last event as stored; ``None`` for a snapshot cursor, whose read
    started at ``after``: then only events committed after ``after`` are sent. ``known``: ids
    the client surely holds (see :mod:`sharecast.relay.handover`), skipped; ``None`` when
    unknown, then every entry but ``last`` (and those of its own transaction listed before it)
    is sent.
    """
    if last is None:
        chosen = [e for e in entries if e.committed >= after]
    else:
        held = known or frozenset()
        chosen = [
            e
            for e in entries
            if e.id != last.id and e.id not in held and not _same_commit_before(e, last)
        ]
    chosen.sort(key=lambda e: (e.committed, e.id))
    return chosen


def _same_commit_before(entry: LogEntry, last: LogEntry) -> bool:
    """True for an event of ``last``'s own transaction listed before it: one transaction's
    events are published in one call, in id order, and reach a stream together."""
    return entry.committed == last.committed and entry.id < last.id


def _entry(snap: Any) -> LogEntry:
    doc = snap.to_dict() or {}
    event = Event(
        id=doc["id"],
        user_id=doc["user_id"],
        type=EventType(doc["type"]),
        data=doc["data"],
        created_at=doc["created_at"],
    )
    return LogEntry(event=event, committed=snap.create_time, published=doc.get("published_at"))


def read_last(db: firestore.Client, *, user_id: str, event_id: str) -> LogEntry | None:
    """The stored event ``event_id`` of ``user_id``, or ``None`` if the log has no such event."""
    snap = event_ref(db, user_id, event_id).get()
    return _entry(snap) if snap.exists else None


def read_window(
    db: firestore.Client, *, user_id: str, since: datetime, limit: int
) -> list[LogEntry]:
    """Events of ``user_id`` stamped at or after ``since`` (UTC), id order, at most ``limit``."""
    query = queries.build(
        db.collection(USERS).document(user_id),
        queries.EVENTS_FROM_ID,
        ranges=[("id", ">=", event_id_floor(since))],
        limit=limit,
    )
    return [_entry(snap) for snap in query.stream()]


def read_snapshot(db: firestore.Client, *, user_id: str, posts: int, reason: str) -> bytes:
    """A ``snapshot`` frame: the ``posts`` most recent posts of ``user_id`` with their targets.

    ``data`` is ``{"reason", "posts": [post_status data + "targets": [target_status data]],
    "more": bool}``; its id is a cursor taken before the read (see the module docstring).
    """
    started = utcnow()
    page = list_posts(
        db,
        user_id=user_id,
        status=None,
        created_from=None,
        created_to=None,
        limit=posts,
        cursor=None,
    )
    items = [
        post.snapshot() | {"targets": [t.snapshot() for t in targets]}
        for post, targets in page.items
    ]
    data = {"reason": reason, "posts": items, "more": page.next_cursor is not None}
    return snapshot_frame(snapshot_cursor(started - timedelta(seconds=SNAPSHOT_SKEW_S)), data)


def resume(
    db: firestore.Client,
    *,
    user_id: str,
    last_event_id: str,
    overlap_s: float,
    max_age_s: float,
    limit: int,
    snapshot_posts: int,
    known: frozenset[str] | None = None,
) -> Resume:
    """What to send a stream resumed after ``last_event_id`` (blocking Firestore reads).

    See the module docstring for the rules; ``known``: the ids the client's previous stream on
    this instance delivered, if the relay knows them. Raises only Firestore errors.
    """

    def snapshot(reason: str) -> Resume:
        frame = read_snapshot(db, user_id=user_id, posts=snapshot_posts, reason=reason)
        return Resume(reason=reason, frames=[], snapshot=frame)

    try:
        stamped = event_id_time(last_event_id)
    except ValueError:
        return snapshot("unknown")
    if len(last_event_id) > MAX_LAST_EVENT_ID:
        return snapshot("unknown")
    if (utcnow() - stamped).total_seconds() > max_age_s:
        return snapshot("too_old")
    last: LogEntry | None = None
    if not is_snapshot_cursor(last_event_id):
        last = read_last(db, user_id=user_id, event_id=last_event_id)
        if last is None:
            return snapshot("unknown")
    since = stamped - timedelta(seconds=overlap_s)
    window = read_window(db, user_id=user_id, since=since, limit=limit + 1)
    if len(window) > limit:
        return snapshot("truncated")
    chosen = select_replay(window, last, after=stamped, known=known)
    sending = {e.id for e in chosen}
    held = tuple(e.id for e in window if e.id not in sending)
    frames = []
    for entry in chosen:
        try:
            frames.append(frame_of(entry.event))
        except ValueError:  # a malformed stored event is skipped, never sent
            continue
    return Resume(reason="replay", frames=frames, held=held)
