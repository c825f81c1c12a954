"""Pure decisions of the sweeper about one target (docs/semantics.md#statuses-and-rules,
docs/semantics.md#the-sweeper)."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sharecast.domain.models import TargetError, TargetRecord
from sharecast.domain.statuses import TargetStatus

#: Error code of a target that was not published within ``missed_after_s`` of its time.
MISSED = "MISSED"


class DueAction(StrEnum):
    """What the sweeper does with a target: nothing, give it a task, or fail it as missed."""

    NONE = "NONE"
    ENQUEUE = "ENQUEUE"
    MISSED = "MISSED"


def decide_due(
    target: TargetRecord, *, allow_late: bool, now: datetime, missed_after_s: float
) -> DueAction:
    """The sweeper's action for ``target`` at ``now`` (UTC).

    Only PENDING/RETRYING targets with a ``next_attempt_at`` wait for a task; one overdue by
    more than ``missed_after_s`` seconds fails as ``MISSED`` unless its post ``allow_late``;
    every other waiting target needs a task (delivered at its ``next_attempt_at``).
    """
    if target.status not in (TargetStatus.PENDING, TargetStatus.RETRYING):
        return DueAction.NONE
    if target.next_attempt_at is None:
        return DueAction.NONE
    overdue = now - target.next_attempt_at
    if not allow_late and overdue > timedelta(seconds=missed_after_s):
        return DueAction.MISSED
    return DueAction.ENQUEUE


def missed(target: TargetRecord, *, missed_after_s: float, now: datetime) -> TargetRecord:
    """``target`` FAILED with the docs/semantics.md#statuses-and-rules error object, code ``MISSED``
    (not retryable)."""
    error = TargetError(
        code=MISSED,
        message=(
            f"not published within {missed_after_s:g} s of its time and the post does not "
            "allow late publishing (allowLate)"
        ),
        retryable=False,
        attempts=target.attempts,
        max_attempts=target.max_attempts,
    )
    return target.model_copy(
        update={
            "status": TargetStatus.FAILED,
            "next_attempt_at": None,
            "lease_id": None,
            "lease_until": None,
            "error": error,
            "version": target.version + 1,
            "updated_at": now,
        }
    )


def sweep_task_id(target: TargetRecord, attempt: int, step: int = 0) -> str:
    """Task id of the task the sweeper creates for ``attempt`` of ``target``.

    Named after the target's ``version``: two sweeps that see the same unchanged target create
    the same task (the second gets ``ALREADY_EXISTS``), while a target that moved on gets a
    new name. The publisher's own name ``{post}-{target}-{attempt}`` cannot be reused: Cloud
    Tasks reserves a name for about an hour after its task ran or was deleted
    (https://cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues.tasks/create).
    """
    return f"{target.post_id}-{target.id}-{attempt}-s{step}-sweep-v{target.version}"
