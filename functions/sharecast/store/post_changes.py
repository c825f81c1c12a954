"""User-driven changes of a whole post (edit, cancel, publish now, retry a target), applied as
one batch that writes the post and its targets with their events, guarded by the
``update_time`` of each document read (:mod:`sharecast.store.optimistic`).

The publisher's claim writes a target guarded by the ``update_time`` it read it with
(:func:`sharecast.store.posts.change_target`), and so does every target this change writes, so
the two serialize: either the claim commits first and this change's precondition fails (it
reads again and sees the started target, which refuses the change), or this change commits
first and the claim, whose read is now stale, runs again and sees the change (a cancelled
target, a new generation). The post's ``target_outcomes`` (the targets' terminal statuses, which
the publisher rolls the post up from without reading the siblings) are kept equal to the
targets this change leaves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.cloud import firestore

from sharecast.domain.events import Event
from sharecast.domain.models import PostRecord, TargetRecord
from sharecast.domain.rollup import outcomes_of
from sharecast.domain.statuses import EventType, TargetStatus
from sharecast.domain.user_transitions import PostPlan, bump_target
from sharecast.errors import NotFound
from sharecast.outbox import Outbox
from sharecast.store.optimistic import until_committed
from sharecast.store.posts import post_ref, target_ref

PostMutation = Callable[[PostRecord, list[TargetRecord]], PostPlan]


@dataclass(frozen=True)
class PostChange:
    """The committed state and the events written with it (to publish after commit).

    ``requeued``: the change asked for new tasks (queued, or left ``enqueue_pending``)."""

    post: PostRecord
    targets: list[TargetRecord]
    events: list[Event]
    requeued: bool = False


def change_post(
    db: firestore.Client, *, post_id: str, mutate: PostMutation, outbox: Outbox
) -> PostChange:
    """Apply ``mutate(post, targets)`` atomically.

    ``mutate`` is pure (it runs again when the change lost a race) and returns a
    :class:`PostPlan`, or raises (``TransitionRefused``, ``StaleState``...) to write nothing.
    Written in one batch: the post when its ``version`` changed, every target whose ``version``
    changed or that is new, removed targets deleted, each guarded by the ``update_time`` it was
    read with; events: ``post_status`` when the post's version changed, ``target_status`` for
    each written target and a ``CANCELLED`` snapshot for each removed one. Raises
    :class:`NotFound`, and :class:`~sharecast.errors.Contention` (409, ``Retry-After``) when
    concurrent changes of the post kept winning
    (:func:`~sharecast.store.optimistic.until_committed`).
    """
    return until_committed(
        lambda: _change_once(db, post_id=post_id, mutate=mutate, outbox=outbox),
        what=f"post {post_id}",
    )


def _change_once(
    db: firestore.Client, *, post_id: str, mutate: PostMutation, outbox: Outbox
) -> PostChange:
    """One read-decide-commit of :func:`change_post`; a lost race raises
    ``FailedPrecondition``/``AlreadyExists`` from the commit."""
    ref = post_ref(db, post_id)
    snap = ref.get()
    if not snap.exists:
        raise NotFound(f"post {post_id} not found")
    post = PostRecord.from_doc(snap.id, snap.to_dict() or {})
    read = {
        s.id: s
        for s in db.get_all([target_ref(db, post_id, t) for t in post.target_ids])
        if s.exists
    }
    by_id = {i: TargetRecord.from_doc(i, s.to_dict() or {}) for i, s in read.items()}
    plan = mutate(post, [by_id[t] for t in post.target_ids if t in by_id])
    batch, user = db.batch(), post.user_id
    events: list[Event] = []
    outcomes = outcomes_of(plan.targets)
    new_post = plan.post.model_copy(update={"target_outcomes": outcomes})
    if plan.post.version != post.version or post.target_outcomes != outcomes:
        batch.update(ref, new_post.to_doc(), option=_unchanged_since(db, snap))
    if plan.post.version != post.version:
        events.append(
            Event.new(user_id=user, type=EventType.POST_STATUS, data=plan.post.snapshot())
        )
    for target in plan.targets:
        old = by_id.get(target.id)
        if old is not None and old.version == target.version:
            continue
        tref = target_ref(db, post_id, target.id)
        if target.id in read:
            batch.update(tref, target.to_doc(), option=_unchanged_since(db, read[target.id]))
        else:
            batch.create(tref, target.to_doc())
        events.append(_event(user, EventType.TARGET_STATUS, target.snapshot()))
    for gone in plan.removed:
        if gone.id in read:
            batch.delete(
                target_ref(db, post_id, gone.id), option=_unchanged_since(db, read[gone.id])
            )
        last = bump_target(gone, plan.post.updated_at, status=TargetStatus.CANCELLED)
        events.append(Event.new(user_id=user, type=EventType.TARGET_STATUS, data=last.snapshot()))
    outbox.add(batch, events)
    batch.commit()
    return PostChange(post=new_post, targets=plan.targets, events=events)


def _event(user_id: str, kind: EventType, data: dict[str, Any]) -> Event:
    return Event.new(user_id=user_id, type=kind, data=data)


def _unchanged_since(db: firestore.Client, snap: firestore.DocumentSnapshot) -> Any:
    """The precondition that the document still has the ``update_time`` of ``snap``."""
    return db.write_option(last_update_time=snap.update_time)
