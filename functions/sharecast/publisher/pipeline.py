"""One delivery of a publish task: claim → execute → record → follow-up
(docs/semantics.md#statuses-and-rules, docs/semantics.md#the-publisher).

- :mod:`.claim`: decide what the delivery may do and lease the target (one read, one commit);
- :mod:`.execute`: call the platform's connector (or check an unknown outcome);
- :mod:`.record`: write the outcome, its events, the attempt log and the post's rollup under
  the lease (one commit, usually without reading again);
- :mod:`.follow_up`: notify outcome consumers, queue the next task.
"""

from __future__ import annotations

import logging
import time
import uuid

from sharecast.app import AppContext
from sharecast.domain.attempt_transitions import ClaimAction, ClaimDecision
from sharecast.errors import NotFound
from sharecast.logs import fields
from sharecast.publisher.claim import CLAIMING, claim
from sharecast.publisher.execute import execute
from sharecast.publisher.follow_up import follow_up, schedule_continuation, schedule_next
from sharecast.publisher.record import Timing, record
from sharecast.publisher.report import AttemptReport
from sharecast.publisher.step_log import TargetSteps
from sharecast.store.posts import TargetChange
from sharecast.tasks import PublishTask

log = logging.getLogger(__name__)

#: No-ops that must not end the task: a live lease may belong to a publisher that died (once it
#: expires, the redelivery resumes the attempt), and an early task must still run. Nothing was
#: recorded, so answering 5xx keeps the queue retrying (docs/semantics.md#the-publisher).
COME_BACK_LATER = frozenset({ClaimAction.NOOP_LEASED, ClaimAction.NOOP_EARLY})


def run_attempt(ctx: AppContext, *, task: PublishTask) -> AttemptReport:
    """Run the delivery of ``task``. Raises only when nothing could be recorded.

    Returns a report for every recorded outcome (success, retry scheduled, permanent failure)
    and for every no-op (terminal, leased, stale, missing); ``redeliver`` asks the queue to
    deliver again (see :class:`AttemptReport`).
    """
    started_at, lease_id = ctx.now(), uuid.uuid4().hex
    try:
        claimed = claim(ctx, task=task, lease_id=lease_id, now=started_at)
    except NotFound as exc:
        return AttemptReport("NOOP_MISSING", None, str(exc))
    decision = claimed.decision
    if decision.action not in CLAIMING:
        return _without_claim(ctx, claimed.change, decision)
    steps = TargetSteps(
        ctx.db,
        known=claimed.change,
        lease_id=lease_id,
        lease_s=ctx.settings.lease_s,
        outbox=ctx.outbox,
    )
    clock = time.monotonic()
    outcome = execute(ctx, claimed.change.target, steps, connection=claimed.connection)
    duration_ms = int((time.monotonic() - clock) * 1000)
    timing = Timing(started_at=started_at, finished_at=ctx.now(), duration_ms=duration_ms)
    recorded = record(
        ctx,
        task=task,
        lease_id=lease_id,
        outcome=outcome,
        timing=timing,
        known=steps.latest,
        published=claimed.published,
    )
    report = follow_up(ctx, recorded, decision)
    _log_finished(task, recorded, duration_ms)
    return report


def _without_claim(ctx: AppContext, change: TargetChange, decision: ClaimDecision) -> AttemptReport:
    """A delivery that publishes nothing: make sure the next task exists, or report the no-op
    (a terminal target's outcome is handed to the consumers again: one may have missed it)."""
    target = change.target
    if decision.action is ClaimAction.ENSURE_NEXT:
        return schedule_next(ctx, target, decision)
    if decision.action is ClaimAction.ENSURE_CONTINUATION:
        return schedule_continuation(ctx, target, decision)
    if decision.action is ClaimAction.NOOP_TERMINAL:
        ctx.notify_outcome(target)
    return AttemptReport(
        decision.action.value,
        target.status.value,
        decision.reason,
        redeliver=decision.action in COME_BACK_LATER,
    )


def _log_finished(task: PublishTask, change: TargetChange, duration_ms: int) -> None:
    final = change.target
    log.info(
        "publish attempt finished",
        extra=fields(
            post_id=task.post_id,
            target_id=task.target_id,
            attempt=final.attempts,
            platform=final.platform.value,
            status=final.status.value,
            outcome=change.detail,
            duration_ms=duration_ms,
            external_id=final.external_id,
        ),
    )
