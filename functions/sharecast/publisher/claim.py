"""Step 1 of an attempt: claim the target under a lease, or learn why not
(docs/semantics.md#statuses-and-rules, docs/semantics.md#the-publisher)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sharecast.app import AppContext
from sharecast.domain.attempt_transitions import ClaimAction, ClaimDecision, claimed, decide_claim
from sharecast.domain.events import Event
from sharecast.domain.models import TargetRecord
from sharecast.store.posts import TargetChange, change_target, sync_rollup
from sharecast.tasks import PublishTask

#: Actions that take the lease and call the connector.
CLAIMING = frozenset({ClaimAction.START, ClaimAction.RESUME, ClaimAction.CONTINUE})


@dataclass(frozen=True)
class Claim:
    """The claim's change (``change.detail`` is the :class:`ClaimDecision`) and its events that
    were published, still to be marked in the record's commit."""

    change: TargetChange
    published: list[Event]

    @property
    def decision(self) -> ClaimDecision:
        """What the delivery may do."""
        decision: ClaimDecision = self.change.detail
        return decision


def claim(ctx: AppContext, *, task: PublishTask, lease_id: str, now: datetime) -> Claim:
    """Decide what the delivery of ``task`` may do and, when it publishes, lease the target to
    ``lease_id`` for ``LEASE_S`` seconds: one batched read of the target and its post, one
    commit of the target, its event and (when a ``SCHEDULED`` post starts) the post's rollup.
    The events are published at once and marked by the record's commit. A terminal target
    whose post missed its outcome gets the rollup repaired. Raises ``NotFound``."""

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
    result = Claim(change=change, published=ctx.outbox.publish(change.events))
    if result.decision.action is ClaimAction.NOOP_TERMINAL:
        ctx.outbox.flush(sync_rollup(ctx.db, state=change, outbox=ctx.outbox, now=now))
    return result
