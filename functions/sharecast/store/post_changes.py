"""User-driven changes of a whole post (edit, cancel, publish now, retry a target), applied in
one transaction that reads the post and every target and writes them with their events.

The publisher claims a target in a transaction on that target; because this transaction reads
(and writes) every target too, the two serialize: either the claim sees the change (a cancelled
target, a new generation) or the change sees the started target and is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from google.cloud import firestore

from sharecast.domain.events import Event
from sharecast.domain.models import PostRecord, TargetRecord
from sharecast.domain.rollup import outcomes_of
from sharecast.domain.statuses import EventType, TargetStatus
from sharecast.domain.user_transitions import PostPlan, bump_target
from sharecast.errors import NotFound
from sharecast.outbox import Outbox
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
    """Apply ``mutate(post, targets)`` in one transaction.

    ``mutate`` is pure (the client re-runs it when the transaction is retried) and returns a
    :class:`PostPlan`, or raises (``TransitionRefused``, ``StaleState``...) to write nothing.
    Written: the post, every target whose ``version`` changed or that is new, removed targets
    deleted; events: ``post_status`` when the post's version changed, ``target_status`` for each
    written target and a ``CANCELLED`` snapshot for each removed one. Raises :class:`NotFound`.
    """
    ref = post_ref(db, post_id)

    @firestore.transactional
    def run(txn: firestore.Transaction) -> PostChange:
        snap = ref.get(transaction=txn)
        if not snap.exists:
            raise NotFound(f"post {post_id} not found")
        post = PostRecord.from_doc(snap.id, snap.to_dict() or {})
        refs = [target_ref(db, post_id, t) for t in post.target_ids]
        by_id = {
            s.id: TargetRecord.from_doc(s.id, s.to_dict() or {})
            for s in db.get_all(refs, transaction=txn)
            if s.exists
        }
        targets = [by_id[t] for t in post.target_ids if t in by_id]
        plan = mutate(post, targets)
        events: list[Event] = []
        user = post.user_id
        # The targets' terminal statuses, which the publisher rolls the post up from.
        outcomes = outcomes_of(plan.targets)
        new_post = plan.post.model_copy(update={"target_outcomes": outcomes})
        if plan.post.version != post.version or post.target_outcomes != outcomes:
            txn.set(ref, new_post.to_doc())
        if plan.post.version != post.version:
            events.append(
                Event.new(user_id=user, type=EventType.POST_STATUS, data=plan.post.snapshot())
            )
        for target in plan.targets:
            old = by_id.get(target.id)
            if old is not None and old.version == target.version:
                continue
            txn.set(target_ref(db, post_id, target.id), target.to_doc())
            events.append(
                Event.new(user_id=user, type=EventType.TARGET_STATUS, data=target.snapshot())
            )
        for gone in plan.removed:
            txn.delete(target_ref(db, post_id, gone.id))
            last = bump_target(gone, plan.post.updated_at, status=TargetStatus.CANCELLED)
            events.append(
                Event.new(user_id=user, type=EventType.TARGET_STATUS, data=last.snapshot())
            )
        outbox.add(txn, events)
        return PostChange(post=new_post, targets=plan.targets, events=events)

    result: PostChange = run(db.transaction())
    return result
