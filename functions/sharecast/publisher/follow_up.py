"""Step 4 of an attempt: what follows a recorded outcome (docs/semantics.md#the-publisher).

The outcome consumers of the context react to the recorded target (the share sync today; the
publisher does not know who they are), and the next task is queued: the next attempt after a
transient failure, or the continuation of a multi-step platform or of an unknown outcome's
check. The post's rollup is already in the record's commit. A task that cannot be queued is
left to the sweeper (the outcome is recorded, so the answer stays 2xx).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sharecast.app import AppContext
from sharecast.domain.attempt_transitions import ClaimDecision
from sharecast.domain.models import TargetRecord
from sharecast.domain.statuses import TargetStatus
from sharecast.logs import fields
from sharecast.publisher.report import AttemptReport
from sharecast.store.posts import TargetChange
from sharecast.tasks import PublishTask, enqueue_publish

log = logging.getLogger(__name__)


def follow_up(ctx: AppContext, change: TargetChange, decision: ClaimDecision) -> AttemptReport:
    """Notify the outcome consumers, then queue what comes next. ``redeliver`` is set when a
    consumer failed: the redelivery changes nothing on the target and repeats it (consumers
    are idempotent)."""
    action, target = decision.action.value, change.target
    if change.changed and not ctx.notify_outcome(target):
        return AttemptReport(action, target.status.value, "share sync pending", redeliver=True)
    if not change.changed:
        return AttemptReport("LEASE_LOST", target.status.value, str(change.detail))
    if target.status is TargetStatus.RETRYING:
        return schedule_next(ctx, target, decision)
    if target.status is TargetStatus.PUBLISHING and target.continue_at is not None:
        return schedule_continuation(ctx, target, decision)
    return AttemptReport(action, target.status.value, str(change.detail))


def schedule_next(ctx: AppContext, target: TargetRecord, decision: ClaimDecision) -> AttemptReport:
    """Queue the task of the target's next attempt at ``next_attempt_at`` (idempotent: named)."""
    task = PublishTask.next_for(target)
    return _enqueue(ctx, task, target, decision, when=target.next_attempt_at, what="next attempt")


def schedule_continuation(
    ctx: AppContext, target: TargetRecord, decision: ClaimDecision
) -> AttemptReport:
    """Queue the task of the step the target waits for (idempotent: the task name is fixed)."""
    task = PublishTask(
        post_id=target.post_id,
        target_id=target.id,
        attempt=target.attempts,
        generation=target.generation,
        step=target.step,
        connection_id=target.connection_id,
    )
    return _enqueue(ctx, task, target, decision, when=target.continue_at, what="continuation")


def _enqueue(
    ctx: AppContext,
    task: PublishTask,
    target: TargetRecord,
    decision: ClaimDecision,
    *,
    when: datetime | None,
    what: str,
) -> AttemptReport:
    action, status = decision.action.value, target.status.value
    try:
        enqueue_publish(ctx.tasks, ctx.settings, task, schedule_at=when)
    except Exception:
        log.warning(
            f"{what} not enqueued",
            exc_info=True,
            extra=fields(post_id=target.post_id, target_id=target.id, step=task.step),
        )
        # Recorded: 2xx (docs/semantics.md#the-publisher); the sweeper re-creates the missing task
        # once it is overdue (sweeper.steps.resume_due_targets / resume_due_continuations).
        detail = "next task not queued" if what == "next attempt" else f"{what} not queued"
        return AttemptReport(action, status, f"{detail}; left to the sweeper")
    detail = "next attempt scheduled" if what == "next attempt" else f"{what} scheduled"
    return AttemptReport(action, status, detail)
