"""Posts and their targets in Firestore: ``posts/{postId}`` and ``posts/{postId}/targets/{id}``.

Every change to a target commits in one write batch with the event describing it and, when it
changes the post, the post's rollup and its event (:func:`change_target`), guarded by the
documents' ``update_time`` instead of a transaction. User changes of a whole post are in
:mod:`sharecast.store.post_changes`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from google.cloud import firestore

from sharecast.domain.events import Event
from sharecast.domain.models import AttemptRecord, PostRecord, TargetRecord
from sharecast.domain.rollup import outcomes_of, rollup_after
from sharecast.domain.statuses import EventType, TargetStatus
from sharecast.domain.user_transitions import failure_notification
from sharecast.errors import NotFound
from sharecast.outbox import Outbox
from sharecast.store.optimistic import LOST_RACE, until_committed

POSTS = "posts"
TARGETS = "targets"
ATTEMPTS = "attempts"


def post_ref(db: firestore.Client, post_id: str) -> firestore.DocumentReference:
    """Reference of ``posts/{post_id}``."""
    return db.collection(POSTS).document(post_id)


def target_ref(db: firestore.Client, post_id: str, target_id: str) -> firestore.DocumentReference:
    """Reference of ``posts/{post_id}/targets/{target_id}``."""
    return post_ref(db, post_id).collection(TARGETS).document(target_id)


def create_post(
    db: firestore.Client,
    *,
    post: PostRecord,
    targets: list[TargetRecord],
    events: list[Event],
    outbox: Outbox,
) -> None:
    """Store a new post, its targets and their creation events atomically (one batch)."""
    batch = db.batch()
    batch.create(post_ref(db, post.id), post.to_doc())
    for target in targets:
        batch.create(target_ref(db, post.id, target.id), target.to_doc())
    outbox.add(batch, events)
    batch.commit()


def get_post(db: firestore.Client, post_id: str) -> tuple[PostRecord, list[TargetRecord]]:
    """The post and its targets (ordered as created). Raises :class:`NotFound`."""
    snap = post_ref(db, post_id).get()
    if not snap.exists:
        raise NotFound(f"post {post_id} not found")
    post = PostRecord.from_doc(snap.id, snap.to_dict() or {})
    by_id = {
        s.id: TargetRecord.from_doc(s.id, s.to_dict() or {})
        for s in post_ref(db, post_id).collection(TARGETS).stream()
    }
    return post, [by_id[t] for t in post.target_ids if t in by_id]


def mark_enqueued(
    db: firestore.Client,
    post_id: str,
    now: datetime,
    *,
    mark: Callable[[firestore.WriteBatch], None] | None = None,
) -> None:
    """Record that every target's first task exists (clears ``enqueue_pending``), in one commit
    with what ``mark`` stages (the caller's other bookkeeping, e.g. events' ``published_at``).

    Internal bookkeeping no client is told about, so it leaves ``version`` alone: a version is
    only ever raised together with the event that carries it
    (docs/semantics.md#events-and-replay)."""
    batch = db.batch()
    batch.update(post_ref(db, post_id), {"enqueue_pending": False, "updated_at": now})
    if mark is not None:
        mark(batch)
    batch.commit()


@dataclass
class TargetChange:
    """Result of a target change: the target after it and the events it appended.

    ``post`` is the post as committed with the change (or as read, when the post was not
    written), and ``target_time`` / ``post_time`` are the documents' ``update_time`` then: a
    later change of the same target can pass this result as ``known`` and commit without reading
    again (the times are its preconditions)."""

    target: TargetRecord
    events: list[Event] = field(default_factory=list)
    changed: bool = False
    detail: Any = None
    post: PostRecord | None = None
    target_time: datetime | None = None
    post_time: datetime | None = None
    #: Other documents read in the same batched read (``also_read``), by path; missing ones are
    #: absent.
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)


TargetMutation = Callable[[TargetRecord], tuple[TargetRecord | None, Any]]


def change_target(
    db: firestore.Client,
    *,
    post_id: str,
    target_id: str,
    mutate: TargetMutation,
    outbox: Outbox,
    attempt_log: Callable[[TargetRecord], AttemptRecord | None] | None = None,
    emit_event: bool = True,
    known: TargetChange | None = None,
    published: Sequence[Event] = (),
    also_read: Sequence[firestore.DocumentReference] = (),
) -> TargetChange:
    """Apply ``mutate`` to one target and roll its post up, in one commit.

    ``mutate(target)`` returns ``(new_target or None, detail)``; ``None`` means "no change" and
    nothing is written. A change commits together with its ``target_status`` event (unless
    ``emit_event`` is false: internal bookkeeping such as a multi-step checkpoint that no client
    needs to see), a ``notification`` event to the owner when the target becomes ``FAILED``,
    the attempt record when ``attempt_log`` returns one, the post's rollup and its
    ``post_status`` event when the post changes (:func:`sharecast.domain.rollup.rollup_after`:
    from the post's ``target_outcomes``, no read of the sibling targets), and the
    ``published_at`` marks of ``published`` (events published after an earlier commit).
    ``also_read``: documents the caller needs next, read in the same batched read
    (``TargetChange.extra``).

    No transaction: the target and the post are read in one batched read (or taken from
    ``known``) and written with their ``update_time`` as preconditions, so a race costs a
    re-read instead of a lock (two transactions that read and write one shared post document
    deadlock on the lock upgrade until the emulator aborts one). Sibling targets that change
    together serialize on the post only when one of them ends (or a ``SCHEDULED`` post starts).
    Raises :class:`NotFound`, and :class:`~sharecast.errors.Contention` after
    :data:`~sharecast.store.optimistic.ATTEMPTS` lost races (each retried after a jittered pause).
    ``mutate`` must be pure: it runs again after a lost race.
    """
    tries = itertools.count()

    def attempt() -> TargetChange:
        first = next(tries) == 0
        state = (
            known
            if first and known is not None
            else read_target(db, post_id, target_id, also_read=also_read)
        )
        new_target, detail = mutate(state.target)
        if new_target is None:
            return replace(state, events=[], changed=False, detail=detail)
        batch, events, post = _stage(
            db, state, new_target, outbox=outbox, emit_event=emit_event, attempt_log=attempt_log
        )
        outbox.mark(batch, published)
        results = batch.commit()  # a lost race raises: read and decide again
        return TargetChange(
            target=new_target,
            events=events,
            changed=True,
            detail=detail,
            post=post or state.post,
            target_time=results[0].update_time,
            post_time=results[1].update_time if post is not None else state.post_time,
            extra=state.extra,
        )

    return until_committed(attempt, what=f"target {target_id} of post {post_id}")


def read_target(
    db: firestore.Client,
    post_id: str,
    target_id: str,
    *,
    also_read: Sequence[firestore.DocumentReference] = (),
) -> TargetChange:
    """The target and its post (and ``also_read``) in one batched read, with their
    ``update_time`` (a post stored before ``target_outcomes`` existed gets it from its targets,
    one more read). Raises :class:`NotFound`."""
    refs = [target_ref(db, post_id, target_id), post_ref(db, post_id), *also_read]
    snaps = {s.reference.path: s for s in db.get_all(refs)}
    target_snap, post_snap = snaps[refs[0].path], snaps[refs[1].path]
    if not target_snap.exists or not post_snap.exists:
        raise NotFound(f"target {target_id} of post {post_id} not found")
    post = PostRecord.from_doc(post_snap.id, post_snap.to_dict() or {})
    if post.target_outcomes is None:
        siblings = [target_ref(db, post_id, t) for t in post.target_ids]
        records = [
            TargetRecord.from_doc(s.id, s.to_dict() or {}) for s in db.get_all(siblings) if s.exists
        ]
        post = post.model_copy(update={"target_outcomes": outcomes_of(records)})
    return TargetChange(
        target=TargetRecord.from_doc(target_snap.id, target_snap.to_dict() or {}),
        post=post,
        target_time=target_snap.update_time,
        post_time=post_snap.update_time,
        extra={
            ref.path: snaps[ref.path].to_dict() or {}
            for ref in also_read
            if ref.path in snaps and snaps[ref.path].exists
        },
    )


def _stage(
    db: firestore.Client,
    state: TargetChange,
    new_target: TargetRecord,
    *,
    outbox: Outbox,
    emit_event: bool,
    attempt_log: Callable[[TargetRecord], AttemptRecord | None] | None,
) -> tuple[firestore.WriteBatch, list[Event], PostRecord | None]:
    """The batch of one change: the target (then the post, when it changes), their events and
    the attempt record. Returns the batch, the events and the post written (or ``None``)."""
    assert state.post is not None
    current = state.target
    batch = db.batch()
    guard = db.write_option(last_update_time=state.target_time)
    batch.update(
        target_ref(db, new_target.post_id, new_target.id),
        changed_fields(current, new_target),
        option=guard,
    )
    events: list[Event] = []
    if emit_event:
        events.append(
            Event.new(
                user_id=new_target.user_id,
                type=EventType.TARGET_STATUS,
                data=new_target.snapshot(),
            )
        )
    if new_target.status is TargetStatus.FAILED and current.status is not TargetStatus.FAILED:
        # The target finally failed: tell its owner, in the same commit
        # (docs/semantics.md#events-and-replay).
        events.append(
            Event.new(
                user_id=new_target.user_id,
                type=EventType.NOTIFICATION,
                data=failure_notification(new_target),
            )
        )
    post = rollup_after(
        state.post, target_id=new_target.id, status=new_target.status, now=new_target.updated_at
    )
    if post is not None:
        batch.update(
            post_ref(db, post.id),
            _rollup_fields(post),
            option=db.write_option(last_update_time=state.post_time),
        )
        if post.version != state.post.version:
            events.append(
                Event.new(user_id=post.user_id, type=EventType.POST_STATUS, data=post.snapshot())
            )
    outbox.add(batch, events)
    if attempt_log is not None:
        record = attempt_log(new_target)
        if record is not None:
            batch.set(db.collection(ATTEMPTS).document(record.id), record.to_doc())
    return batch, events, post


def changed_fields(current: TargetRecord, new: TargetRecord) -> dict[str, Any]:
    """The fields of ``new`` that differ from ``current`` (what an update guarded by
    ``current``'s ``update_time`` must write: the rest is known to be stored already). Never
    empty: ``updated_at`` at least."""
    old = current.to_doc()
    fields = {k: v for k, v in new.to_doc().items() if k not in old or old[k] != v}
    return fields or {"updated_at": new.updated_at}


def _rollup_fields(post: PostRecord) -> dict[str, Any]:
    return {
        "target_outcomes": {k: v.value for k, v in (post.target_outcomes or {}).items()},
        "status": post.status.value,
        "version": post.version,
        "updated_at": post.updated_at,
        "published_at": post.published_at,
    }


def sync_rollup(
    db: firestore.Client, *, state: TargetChange, outbox: Outbox, now: datetime
) -> list[Event]:
    """Bring the post in line with a target that did not change (``state``, as read): a repair
    for a post whose rollup was lost (a bug, a hand edit). Returns the events written; a lost
    race writes nothing (whoever won rolled it up)."""
    assert state.post is not None
    post = rollup_after(state.post, target_id=state.target.id, status=state.target.status, now=now)
    if post is None:
        return []
    batch = db.batch()
    batch.update(
        post_ref(db, post.id),
        _rollup_fields(post),
        option=db.write_option(last_update_time=state.post_time),
    )
    events: list[Event] = []
    if post.version != state.post.version:
        events.append(
            Event.new(user_id=post.user_id, type=EventType.POST_STATUS, data=post.snapshot())
        )
    outbox.add(batch, events)
    try:
        batch.commit()
    except LOST_RACE:
        return []
    return events
