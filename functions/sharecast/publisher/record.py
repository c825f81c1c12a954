"""Step 3 of an attempt: record what the platform said on the target, with its events and the
attempt log, in one transaction that checks the lease (docs/semantics.md#statuses-and-rules,
docs/semantics.md#the-publisher)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sharecast.app import AppContext
from sharecast.domain.attempt_transitions import (
    UNCERTAIN,
    check_again,
    failed,
    failed_uncertain,
    outcome_unknown,
    resolved_absent,
    succeeded,
    waiting,
)
from sharecast.domain.events import Event
from sharecast.domain.models import AttemptRecord, TargetRecord
from sharecast.domain.statuses import TargetStatus
from sharecast.platforms.errors import AuthExpiredError, PlatformError
from sharecast.publisher.outcome import Outcome, OutcomeKind, error_message
from sharecast.store.posts import TargetChange, change_target
from sharecast.tasks import PublishTask


@dataclass(frozen=True)
class Timing:
    """When the attempt's delivery started and the platform call finished (UTC), and how long
    the call took (milliseconds)."""

    started_at: datetime
    finished_at: datetime
    duration_ms: int


def record(
    ctx: AppContext,
    *,
    task: PublishTask,
    lease_id: str,
    outcome: Outcome,
    timing: Timing,
    known: TargetChange | None = None,
    published: Sequence[Event] = (),
) -> TargetChange:
    """Write ``outcome`` on the target if ``lease_id`` still holds it: ``SUCCESS``, ``RETRYING``
    (with the backoff), ``FAILED``, or still ``PUBLISHING`` waiting for its next step. A
    finished attempt also gets its row in the attempt log. ``detail`` of the result is the
    outcome's name (``published``, ``PENDING`` or the error code); nothing is written when the
    lease was lost. An unknown outcome keeps the target ``PUBLISHING`` (its check is the next
    step).

    One commit, with the post's rollup when the target ends and the ``published_at`` marks of
    the claim's ``published`` events; ``known`` (the target as the claim or the last saved step
    left it) spares the read unless someone changed the target or the post since. The events
    are published after the commit. Raises ``NotFound``."""

    def apply(current: TargetRecord) -> tuple[TargetRecord | None, str]:
        if current.lease_id != lease_id or current.status is not TargetStatus.PUBLISHING:
            return None, "lease lost before recording"
        return outcome_state(ctx, current, outcome, now=timing.finished_at)

    change = change_target(
        ctx.db,
        post_id=task.post_id,
        target_id=task.target_id,
        mutate=apply,
        outbox=ctx.outbox,
        attempt_log=lambda new: attempt_row(new, timing),
        known=known,
        published=published,
    )
    if not change.changed:
        ctx.outbox.mark_now(published)
    ctx.outbox.flush(change.events)
    return change


def outcome_state(
    ctx: AppContext, current: TargetRecord, outcome: Outcome, *, now: datetime
) -> tuple[TargetRecord, str]:
    """The target after ``outcome`` and the outcome's name (pure but for the settings)."""
    settings = ctx.settings
    policy = settings.retry_policy(current.platform.value)
    kind = outcome.kind
    if kind is OutcomeKind.PENDING:
        assert outcome.pending is not None
        return waiting(current, wait_s=outcome.pending.wait_s, now=now), kind.value
    if kind is OutcomeKind.PUBLISHED:
        result = outcome.result
        assert result is not None
        return succeeded(
            current, external_id=result.external_id, external_url=result.external_url, now=now
        ), kind.value
    if kind is OutcomeKind.ABSENT:
        return resolved_absent(current, policy=policy, now=now), kind.value
    error = outcome.error
    assert error is not None
    if kind is OutcomeKind.UNKNOWN:
        settle_s = settings.settle_s(current.platform.value)
        new = outcome_unknown(
            current, code=error.code, message=error.message, settle_s=settle_s, now=now
        )
        return new, error.code
    if current.uncertain_cause is not None and error.code != UNCERTAIN:
        return _check_not_made(ctx, current, error, now=now), error.code
    new = failed(
        current,
        code=error.code,
        message=error_message(error),
        retryable=retryable(error),
        retry_after_s=error.retry_after_s,
        policy=policy,
        now=now,
    )
    return new, error.code


def _check_not_made(
    ctx: AppContext, current: TargetRecord, error: PlatformError, *, now: datetime
) -> TargetRecord:
    """A check of an unknown outcome that could not look (the lookup erred, or no usable
    token): look again later while that may help, else ``UNCERTAIN``. Never ``FAILED`` with
    another code: the post may exist."""
    if retryable(error):
        return check_again(
            current,
            code=error.code,
            message=error.message,
            retry_after_s=error.retry_after_s,
            policy=ctx.settings.retry_policy(current.platform.value),
            max_checks=ctx.settings.reconcile_max_checks,
            now=now,
        )
    return failed_uncertain(
        current,
        message=f"could not check whether the post exists ({error.code}: {error.message})",
        now=now,
    )


def retryable(error: PlatformError) -> bool:
    """Whether another attempt may succeed. An auth error reaching here survived the one
    forced refresh (:func:`sharecast.publisher.execute.execute`): final
    (docs/semantics.md#statuses-and-rules)."""
    return error.retryable and not isinstance(error, AuthExpiredError)


def attempt_row(new: TargetRecord, timing: Timing) -> AttemptRecord | None:
    """The attempt log row of a finished attempt (``None`` for a step of a continuing one)."""
    if new.status is TargetStatus.PUBLISHING:
        return None
    return AttemptRecord(
        id=f"{new.post_id}-{new.id}-{new.attempts}",
        post_id=new.post_id,
        target_id=new.id,
        user_id=new.user_id,
        platform=new.platform,
        attempt=new.attempts,
        outcome=new.status.value,
        error=new.error,
        external_id=new.external_id,
        started_at=timing.started_at,
        finished_at=timing.finished_at,
        duration_ms=timing.duration_ms,
    )
