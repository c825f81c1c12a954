"""Step 1 of an attempt: claim the target under a lease, or learn why not
(docs/semantics.md#statuses-and-rules, docs/semantics.md#the-publisher)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sharecast.app import AppContext
from sharecast.domain.attempt_transitions import ClaimAction, ClaimDecision, claimed, decide_claim
from sharecast.domain.events import Event
from sharecast.domain.models import ConnectionRecord, TargetRecord
from sharecast.store import connections as connections_store
from sharecast.store.posts import TargetChange, change_target, sync_rollup
from sharecast.tasks import PublishTask

#: Actions that take the lease and call the connector.
CLAIMING = frozenset({ClaimAction.START, ClaimAction.RESUME, ClaimAction.CONTINUE})


@dataclass(frozen=True)
class Claim:
    """The claim's change (``change.detail`` is the :class:`ClaimDecision`), its events that
    were published (still to be marked in the record's commit), and the target's connection
    when the task named it and it was read with the target."""

    change: TargetChange
    published: list[Event]
    connection: ConnectionRecord | None = None

    @property
    def decision(self) -> ClaimDecision:
        """What the delivery may do."""
        decision: ClaimDecision = self.change.detail
        return decision


def claim(ctx: AppContext, *, task: PublishTask, lease_id: str, now: datetime) -> Claim:
    """Decide what the delivery of ``task`` may do and, when it publishes, lease the target to
    ``lease_id`` for ``LEASE_S`` seconds: one batched read of the target, its post and the
    connection the task names, one commit of the target, its event and (when a ``SCHEDULED``
    post starts) the post's rollup.
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

    conn_ref = (
        connections_store.connection_ref(ctx.db, task.connection_id) if task.connection_id else None
    )
    change = change_target(
        ctx.db,
        post_id=task.post_id,
        target_id=task.target_id,
        mutate=decide,
        outbox=ctx.outbox,
        also_read=[conn_ref] if conn_ref is not None else [],
    )
    doc = change.extra.get(conn_ref.path) if conn_ref is not None else None
    connection = ConnectionRecord.from_doc(conn_ref.id, doc) if conn_ref and doc else None
    result = Claim(
        change=change, published=ctx.outbox.publish(change.events), connection=connection
    )
    if result.decision.action is ClaimAction.NOOP_TERMINAL:
        ctx.outbox.flush(sync_rollup(ctx.db, state=change, outbox=ctx.outbox, now=now))
    return result
