"""Posts and their targets in Firestore: ``posts/{postId}`` and ``posts/{postId}/targets/{id}``.

Every change to a target happens in a transaction that also rolls the post status up and
appends the events describing both changes to the user's event log. Transactions read the post
first and the targets second, always in that order, so concurrent attempts on targets of one
post never deadlock (the Firestore emulator locks pessimistically).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from google.cloud import firestore

from sharecast.domain.events import Event
from sharecast.domain.models import AttemptRecord, PostRecord, TargetRecord
from sharecast.domain.rollup import rollup_post_status
from sharecast.domain.statuses import EventType, PostStatus, TargetStatus
from sharecast.errors import NotFound
from sharecast.store.events import add_event

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
    event_ttl: timedelta,
) -> None:
    """Store a new post, its targets and their creation events atomically (one batch)."""
    batch = db.batch()
    batch.create(post_ref(db, post.id), post.to_doc())
    for target in targets:
        batch.create(target_ref(db, post.id, target.id), target.to_doc())
    for event in events:
        add_event(batch, db, event, ttl=event_ttl)
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


def mark_enqueued(db: firestore.Client, post_id: str, now: datetime) -> None:
    """Record that every target's first task exists (clears ``enqueue_pending``)."""
    post_ref(db, post_id).update(
        {"enqueue_pending": False, "version": firestore.Increment(1), "updated_at": now}
    )


@dataclass
class TargetChange:
    """Result of a target transaction: the states after it and the events it appended."""

    post: PostRecord
    target: TargetRecord
    events: list[Event] = field(default_factory=list)
    changed: bool = False
    detail: Any = None


TargetMutation = Callable[[PostRecord, TargetRecord], tuple[TargetRecord | None, Any]]


def change_target(
    db: firestore.Client,
    *,
    post_id: str,
    target_id: str,
    mutate: TargetMutation,
    now: datetime,
    event_ttl: timedelta,
    attempt_log: Callable[[TargetRecord], AttemptRecord | None] | None = None,
) -> TargetChange:
    """Apply ``mutate`` to a target in a transaction, roll the post up and append events.

    ``mutate(post, target)`` returns ``(new_target or None, detail)``; ``None`` means "no change"
    and nothing is written. When the target changes, a ``target_status`` event is appended, the
    post status is recomputed from all targets (with a ``post_status`` event when it changed),
    and ``attempt_log(new_target)`` may add an attempt record. Raises :class:`NotFound`.
    Transactions are retried by the client on contention, so ``mutate`` must be pure.
    """
    transaction = db.transaction()

    @firestore.transactional
    def run(txn: firestore.Transaction) -> TargetChange:
        post_snap = post_ref(db, post_id).get(transaction=txn)
        if not post_snap.exists:
            raise NotFound(f"post {post_id} not found")
        post = PostRecord.from_doc(post_snap.id, post_snap.to_dict() or {})
        refs = [target_ref(db, post_id, t) for t in post.target_ids]
        targets = {
            s.id: TargetRecord.from_doc(s.id, s.to_dict() or {})
            for s in txn.get_all(refs)
            if s.exists
        }
        if target_id not in targets:
            raise NotFound(f"target {target_id} of post {post_id} not found")
        current = targets[target_id]
        new_target, detail = mutate(post, current)
        if new_target is None:
            return TargetChange(post=post, target=current, detail=detail)
        targets[target_id] = new_target
        txn.set(target_ref(db, post_id, target_id), new_target.to_doc())
        events = [
            Event.new(
                user_id=post.user_id, type=EventType.TARGET_STATUS, data=new_target.snapshot()
            )
        ]
        status = rollup_post_status(post.status, (t.status for t in targets.values()))
        if status is not post.status:
            published_at = now if status in (PostStatus.PUBLISHED, PostStatus.PARTIAL) else None
            post = post.model_copy(
                update={
                    "status": status,
                    "version": post.version + 1,
                    "updated_at": now,
                    "published_at": published_at,
                }
            )
            txn.update(
                post_ref(db, post_id),
                {
                    "status": status.value,
                    "version": post.version,
                    "updated_at": now,
                    "published_at": published_at,
                },
            )
            events.append(
                Event.new(user_id=post.user_id, type=EventType.POST_STATUS, data=post.snapshot())
            )
        for event in events:
            add_event(txn, db, event, ttl=event_ttl)
        if attempt_log is not None:
            record = attempt_log(new_target)
            if record is not None:
                txn.set(db.collection(ATTEMPTS).document(record.id), record.to_doc())
        return TargetChange(
            post=post, target=new_target, events=events, changed=True, detail=detail
        )

    result: TargetChange = run(transaction)
    return result


def target_is_active(target: TargetRecord) -> bool:
    """True while a target may still be attempted."""
    return target.status in (TargetStatus.PENDING, TargetStatus.RETRYING, TargetStatus.PUBLISHING)
