"""Posts and their targets in Firestore: ``posts/{postId}`` and ``posts/{postId}/targets/{id}``.

Every change to a target happens in a transaction on that target alone, which appends the
event describing it to the user's event log. The post's status is then rolled up from all its
targets in a separate atomic write with its own event (see :func:`rollup_post` for why).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from google.api_core.exceptions import FailedPrecondition
from google.cloud import firestore

from sharecast.domain.events import Event
from sharecast.domain.models import AttemptRecord, PostRecord, TargetRecord
from sharecast.domain.rollup import rollup_post_status
from sharecast.domain.statuses import EventType, PostStatus, TargetStatus
from sharecast.domain.user_transitions import failure_notification
from sharecast.errors import Contention, NotFound
from sharecast.outbox import Outbox

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


def mark_enqueued(db: firestore.Client, post_id: str, now: datetime) -> None:
    """Record that every target's first task exists (clears ``enqueue_pending``).

    Internal bookkeeping no client is told about, so it leaves ``version`` alone: a version is
    only ever raised together with the event that carries it
    (docs/semantics.md#events-and-replay)."""
    post_ref(db, post_id).update({"enqueue_pending": False, "updated_at": now})


@dataclass
class TargetChange:
    """Result of a target transaction: the target after it and the events it appended."""

    target: TargetRecord
    events: list[Event] = field(default_factory=list)
    changed: bool = False
    detail: Any = None


TargetMutation = Callable[[TargetRecord], tuple[TargetRecord | None, Any]]

#: How often a rollup re-reads after losing a race on the post document.
ROLLUP_ATTEMPTS = 8


def change_target(
    db: firestore.Client,
    *,
    post_id: str,
    target_id: str,
    mutate: TargetMutation,
    outbox: Outbox,
    attempt_log: Callable[[TargetRecord], AttemptRecord | None] | None = None,
    emit_event: bool = True,
) -> TargetChange:
    """Apply ``mutate`` to one target in a transaction that touches only that target.

    ``mutate(target)`` returns ``(new_target or None, detail)``; ``None`` means "no change" and
    nothing is written. A change commits together with its ``target_status`` event (unless
    ``emit_event`` is false: internal bookkeeping such as a multi-step checkpoint that no client
    needs to see), a ``notification`` event to the owner when the target becomes ``FAILED``,
    and, when ``attempt_log`` returns one, the attempt record. The post is
    rolled up afterwards by :func:`rollup_post`: keeping sibling targets and the post out of
    this transaction is what lets targets of one post finish at the same moment without lock
    contention (two transactions that read and write one shared document deadlock until the
    emulator, or production Firestore, aborts one). Raises :class:`NotFound`. ``mutate`` must
    be pure: the client re-runs it when the transaction is retried.
    """
    ref = target_ref(db, post_id, target_id)

    @firestore.transactional
    def run(txn: firestore.Transaction) -> TargetChange:
        snap = ref.get(transaction=txn)
        if not snap.exists:
            raise NotFound(f"target {target_id} of post {post_id} not found")
        current = TargetRecord.from_doc(snap.id, snap.to_dict() or {})
        new_target, detail = mutate(current)
        if new_target is None:
            return TargetChange(target=current, detail=detail)
        txn.set(ref, new_target.to_doc())
        events: list[Event] = []
        if emit_event:
            event = Event.new(
                user_id=new_target.user_id,
                type=EventType.TARGET_STATUS,
                data=new_target.snapshot(),
            )
            events.append(event)
        if new_target.status is TargetStatus.FAILED and current.status is not TargetStatus.FAILED:
            # The target finally failed: tell its owner, in the same commit
            # (docs/semantics.md#events-and-replay).
            note = Event.new(
                user_id=new_target.user_id,
                type=EventType.NOTIFICATION,
                data=failure_notification(new_target),
            )
            events.append(note)
        outbox.add(txn, events)
        if attempt_log is not None:
            record = attempt_log(new_target)
            if record is not None:
                txn.set(db.collection(ATTEMPTS).document(record.id), record.to_doc())
        return TargetChange(target=new_target, events=events, changed=True, detail=detail)

    result: TargetChange = run(db.transaction())
    return result


def rollup_post(
    db: firestore.Client, *, post_id: str, now: datetime, outbox: Outbox
) -> list[Event]:
    """Bring the post's status in line with its targets; returns the events written.

    Reads the post and every target (strongly consistent, outside any transaction), and when
    the derived status differs writes the post and its ``post_status`` event in one atomic
    batch guarded by the post's ``update_time`` precondition. Losing that race re-reads and
    re-derives, so concurrent rollups converge on the same answer and only one writes it.
    Idempotent: safe to run after every delivery, which also repairs a rollup that a crash
    interrupted. Raises :class:`NotFound` when the post does not exist and
    :class:`Contention` when it lost :data:`ROLLUP_ATTEMPTS` races in a row.
    """
    ref = post_ref(db, post_id)
    for _ in range(ROLLUP_ATTEMPTS):
        snap = ref.get()
        if not snap.exists:
            raise NotFound(f"post {post_id} not found")
        post = PostRecord.from_doc(snap.id, snap.to_dict() or {})
        refs = [target_ref(db, post_id, t) for t in post.target_ids]
        statuses = [
            TargetRecord.from_doc(t.id, t.to_dict() or {}).status
            for t in db.get_all(refs)
            if t.exists
        ]
        status = rollup_post_status(post.status, statuses)
        if status is post.status:
            return []
        published_at = now if status in (PostStatus.PUBLISHED, PostStatus.PARTIAL) else None
        post = post.model_copy(
            update={
                "status": status,
                "version": post.version + 1,
                "updated_at": now,
                "published_at": published_at,
            }
        )
        event = Event.new(user_id=post.user_id, type=EventType.POST_STATUS, data=post.snapshot())
        batch = db.batch()
        batch.update(
            ref,
            {
                "status": status.value,
                "version": post.version,
                "updated_at": now,
                "published_at": published_at,
            },
            option=db.write_option(last_update_time=snap.update_time),
        )
        outbox.add(batch, [event])
        try:
            batch.commit()
        except FailedPrecondition:
            continue
        return [event]
    raise Contention(f"post {post_id}: rollup kept losing races")
