"""Pure lifecycle transitions a user asks for (docs/semantics.md#statuses-and-rules,
docs/api.md#posts): cancel, publish now, back to draft, reschedule, retry a failed target. No I/O:
the store applies them in a transaction that reads the post and all its targets, so a task firing at
the same moment either sees the result or makes the transition refuse.

A post may be changed only while it is ``DRAFT`` or ``SCHEDULED`` and none of its targets has
started (a target is claimed in its own transaction, before the post's status is rolled up, so
the targets are what decides). Every change that moves a target's schedule bumps its
``generation``: tasks made before are superseded and their deliveries are no-ops.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sharecast.domain.backoff import RetryPolicy
from sharecast.domain.models import PostRecord, TargetRecord
from sharecast.domain.rollup import rollup_post_status
from sharecast.domain.statuses import PostStatus, TargetStatus
from sharecast.errors import Conflict, Contention

#: Post statuses in which the user may edit, cancel or publish now.
CHANGEABLE = frozenset({PostStatus.DRAFT, PostStatus.SCHEDULED})


class TransitionRefused(Conflict):
    """The operation is not allowed in the current state; carries that state (the API answers
    409 with it as ``current``)."""

    def __init__(self, reason: str, post: PostRecord, targets: Sequence[TargetRecord]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.post = post
        self.targets = list(targets)


class StaleState(Contention):
    """The post changed between the read a plan was made from and the transaction."""


@dataclass(frozen=True)
class PostPlan:
    """The new state of a post: the post, its targets (in order) and the targets removed."""

    post: PostRecord
    targets: list[TargetRecord]
    removed: list[TargetRecord] = field(default_factory=list)


def bump_post(post: PostRecord, now: datetime, **changes: Any) -> PostRecord:
    """``post`` with ``changes``, its ``version`` incremented and ``updated_at`` = ``now``."""
    return post.model_copy(update={**changes, "version": post.version + 1, "updated_at": now})


def bump_target(target: TargetRecord, now: datetime, **changes: Any) -> TargetRecord:
    """``target`` with ``changes``, its ``version`` incremented and ``updated_at`` = ``now``."""
    return target.model_copy(update={**changes, "version": target.version + 1, "updated_at": now})


def check_changeable(post: PostRecord, targets: Sequence[TargetRecord], operation: str) -> None:
    """Raise :class:`TransitionRefused` unless ``post`` is ``DRAFT``/``SCHEDULED`` with no
    target started (every target ``PENDING`` with no attempt)."""
    if post.status not in CHANGEABLE:
        raise TransitionRefused(
            f"{operation} is allowed only while the post is DRAFT or SCHEDULED; "
            f"it is {post.status.value}",
            post,
            targets,
        )
    started = [t.id for t in targets if t.status is not TargetStatus.PENDING or t.attempts]
    if started:
        raise TransitionRefused(
            f"{operation} is not allowed: publishing has started for {', '.join(started)}",
            post,
            targets,
        )


def next_generation(targets: Sequence[TargetRecord]) -> int:
    """The generation that supersedes every task of ``targets``."""
    return max((t.generation for t in targets), default=0) + 1


def cancel(post: PostRecord, targets: Sequence[TargetRecord], *, now: datetime) -> PostPlan:
    """``DRAFT``/``SCHEDULED`` → ``CANCELLED`` with every target ``CANCELLED``."""
    check_changeable(post, targets, "cancel")
    return PostPlan(
        post=bump_post(post, now, status=PostStatus.CANCELLED, enqueue_pending=False),
        targets=[
            bump_target(t, now, status=TargetStatus.CANCELLED, next_attempt_at=None)
            for t in targets
        ],
    )


def publish_now(post: PostRecord, targets: Sequence[TargetRecord], *, now: datetime) -> PostPlan:
    """``DRAFT``/``SCHEDULED`` → ``PUBLISHING``: every target due now in a new generation; the
    post is marked ``enqueue_pending`` until the new tasks exist."""
    check_changeable(post, targets, "publish")
    generation = next_generation(targets)
    return PostPlan(
        post=bump_post(
            post, now, status=PostStatus.PUBLISHING, schedule_at=None, enqueue_pending=True
        ),
        targets=[bump_target(t, now, next_attempt_at=now, generation=generation) for t in targets],
    )


def retry_target(
    post: PostRecord,
    targets: Sequence[TargetRecord],
    *,
    target_id: str,
    policy: RetryPolicy,
    now: datetime,
) -> PostPlan:
    """A ``FAILED`` target → ``PENDING``, due now, with a new budget of ``policy.max_attempts``
    attempts and a new generation. ``uncertain_since`` is kept, so the retry still looks for an
    earlier post before sending. The post's status is rolled up in the same change and it is
    marked ``enqueue_pending`` until the task exists. Raises :class:`TransitionRefused` for a
    target in any other status, and ``KeyError`` when the post has no such target."""
    by_id = {t.id: t for t in targets}
    target = by_id[target_id]
    if target.status is not TargetStatus.FAILED:
        raise TransitionRefused(
            f"only a FAILED target can be retried; {target_id} is {target.status.value}",
            post,
            targets,
        )
    retried = bump_target(
        target,
        now,
        status=TargetStatus.PENDING,
        max_attempts=target.attempts + policy.max_attempts,
        next_attempt_at=now,
        generation=target.generation + 1,
        error=None,
        lease_id=None,
        lease_until=None,
    )
    new_targets = [retried if t.id == target_id else t for t in targets]
    status = rollup_post_status(post.status, [t.status for t in new_targets])
    published_at = post.published_at if status is PostStatus.PARTIAL else None
    return PostPlan(
        post=bump_post(post, now, status=status, enqueue_pending=True, published_at=published_at),
        targets=new_targets,
    )


def failure_notification(target: TargetRecord) -> dict[str, Any]:
    """``notification`` event data telling the owner a target finally failed
    (docs/semantics.md#events-and-replay)."""
    error = target.error
    reason = f": {error.message}" if error else ""
    return {
        "kind": "target_failed",
        "post_id": target.post_id,
        "target_id": target.id,
        "platform": target.platform.value,
        "message": f"Publishing to {target.platform.value} failed{reason}",
        "error": error.model_dump() if error else None,
        "version": target.version,
    }
