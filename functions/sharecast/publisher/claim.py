"""Step 1 of an attempt: claim the target under a lease, or learn why not
(docs/semantics.md#statuses-and-rules, docs/semantics.md#the-publisher)."""

from __future__ import annotations

import logging
from datetime import datetime

from sharecast.app import AppContext
from sharecast.domain.attempt_transitions import ClaimAction, ClaimDecision, claimed, decide_claim
from sharecast.domain.models import TargetRecord
from sharecast.logs import fields
from sharecast.store.posts import TargetChange, change_target, rollup_post
from sharecast.tasks import PublishTask

log = logging.getLogger(__name__)

#: Actions that take the lease and call the connector.
CLAIMING = frozenset({ClaimAction.START, ClaimAction.RESUME, ClaimAction.CONTINUE})


def claim(ctx: AppContext, *, task: PublishTask, lease_id: str, now: datetime) -> TargetChange:
    """Decide what the delivery of ``task`` may do and, when it publishes, lease the target to
    ``lease_id`` for ``LEASE_S`` seconds, in one transaction on the target. ``detail`` of the
    result is the :class:`ClaimDecision`. The claim's events are published and the post rolled
    up (a failed rollup is repaired by the one after recording). Raises ``NotFound``."""

    def decide(target: TargetRecord) -> tuple[TargetRecord | None, ClaimDecision]:
        decision = decide_claim(
            target, attempt=task.attempt, step=task.step, now=now, generation=task.generation
        )
        if decision.action not in CLAIMING:
            return None, decision
        leased = claimed(
            target,
            action=decision.action,
            lease_id=lease_id,
            lease_s=ctx.settings.lease_s,
            now=now,
            settle_s=ctx.settings.settle_s(target.platform.value),
        )
        return leased, decision

    change = change_target(
        ctx.db,
        post_id=task.post_id,
        target_id=task.target_id,
        mutate=decide,
        outbox=ctx.outbox,
    )
    ctx.outbox.flush(change.events)
    try:
        roll_up(ctx, task.post_id)
    except Exception:  # not fatal: the rollup after recording brings the post up to date
        log.warning("post rollup failed", exc_info=True, extra=fields(post_id=task.post_id))
    return change


def roll_up(ctx: AppContext, post_id: str) -> None:
    """Bring the post's status in line with its targets and publish the event. Raises what
    :func:`sharecast.store.posts.rollup_post` raises."""
    ctx.outbox.flush(rollup_post(ctx.db, post_id=post_id, now=ctx.now(), outbox=ctx.outbox))
