"""Pure state transitions of a target during publishing (docs/semantics.md#statuses-and-rules,
docs/semantics.md#the-publisher).

The publisher asks :func:`decide_claim` what a task delivery may do, then applies
:func:`claimed`, :func:`succeeded` or :func:`failed` to build the new target state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sharecast.domain.backoff import RetryPolicy
from sharecast.domain.models import TargetError, TargetRecord
from sharecast.domain.statuses import TargetStatus


class ClaimAction(StrEnum):
    """What a task delivery for attempt ``n`` may do with the target."""

    START = "START"  # a fresh attempt: take the lease and publish
    RESUME = "RESUME"  # attempt n was in flight and its lease expired: outcome unknown
    CONTINUE = "CONTINUE"  # attempt n waits on the platform (multi-step): take the next step
    ENSURE_CONTINUATION = "ENSURE_CONTINUATION"  # step recorded: make sure its task is queued
    ENSURE_NEXT = "ENSURE_NEXT"  # attempt n already failed transiently: make sure n+1 is queued
    NOOP_TERMINAL = "NOOP_TERMINAL"
    NOOP_LEASED = "NOOP_LEASED"
    NOOP_STALE = "NOOP_STALE"
    NOOP_EARLY = "NOOP_EARLY"
    NOOP_SUPERSEDED = "NOOP_SUPERSEDED"  # the task's generation was superseded by the user


@dataclass(frozen=True)
class ClaimDecision:
    """The action and a short reason for logs and the task response."""

    action: ClaimAction
    reason: str


def decide_claim(
    target: TargetRecord, *, attempt: int, now: datetime, step: int = 0, generation: int = 0
) -> ClaimDecision:
    """Decide what the delivery of the task for ``attempt`` (1-based), continuation ``step``
    (0 for the attempt's first task), of ``generation`` may do at ``now`` (UTC).

    Redelivery of any task is a no-op or a safe continuation: terminal targets, live leases,
    earlier attempts or steps, and tasks that fire before ``next_attempt_at``/``continue_at``
    change nothing. A task made for another generation of the target (the user rescheduled,
    published now or retried since) is superseded: a no-op the queue must not retry.
    """
    if target.status.terminal:
        return ClaimDecision(ClaimAction.NOOP_TERMINAL, f"target is {target.status.value}")
    if generation != target.generation:
        return ClaimDecision(
            ClaimAction.NOOP_SUPERSEDED,
            f"task of generation {generation}; the target is at {target.generation}",
        )
    if target.status is TargetStatus.PUBLISHING:
        if target.lease_until is not None and target.lease_until > now:
            return ClaimDecision(ClaimAction.NOOP_LEASED, "another attempt holds the lease")
        if attempt != target.attempts:
            return ClaimDecision(ClaimAction.NOOP_STALE, "task is not for the attempt in flight")
        if target.continue_at is not None:
            if step == target.step - 1:
                return ClaimDecision(
                    ClaimAction.ENSURE_CONTINUATION, "step recorded; its continuation is due"
                )
            if step != target.step:
                return ClaimDecision(ClaimAction.NOOP_STALE, "task is for another step")
            if target.continue_at > now + timedelta(seconds=1):
                return ClaimDecision(ClaimAction.NOOP_EARLY, "task fired before continue_at")
            return ClaimDecision(ClaimAction.CONTINUE, "the platform step is due")
        if step == target.step:
            return ClaimDecision(ClaimAction.RESUME, "lease expired with the outcome unknown")
        return ClaimDecision(ClaimAction.NOOP_STALE, "task is not for the step in flight")
    # PENDING or RETRYING
    if attempt == target.attempts + 1 and step == 0:
        if target.next_attempt_at is not None and target.next_attempt_at > now + timedelta(
            seconds=1
        ):
            return ClaimDecision(ClaimAction.NOOP_EARLY, "task fired before next_attempt_at")
        return ClaimDecision(ClaimAction.START, "attempt is due")
    if attempt == target.attempts and target.status is TargetStatus.RETRYING:
        return ClaimDecision(ClaimAction.ENSURE_NEXT, "attempt already failed; next is due")
    return ClaimDecision(ClaimAction.NOOP_STALE, "task is for another attempt")


def _bump(target: TargetRecord, now: datetime, **changes: object) -> TargetRecord:
    return target.model_copy(update={**changes, "version": target.version + 1, "updated_at": now})


def claimed(
    target: TargetRecord, *, action: ClaimAction, lease_id: str, lease_s: float, now: datetime
) -> TargetRecord:
    """The target leased until now + lease_s to a new attempt (START: attempts + 1, step 0), a
    resumed one (RESUME: the outcome of the interrupted step is unknown, so ``uncertain_since``
    is set) or the next step of a waiting one (CONTINUE). ``step_state`` is kept throughout."""
    start = action is ClaimAction.START
    uncertain = target.uncertain_since
    if action is ClaimAction.RESUME and uncertain is None:
        uncertain = target.attempt_started_at or now
    return _bump(
        target,
        now,
        status=TargetStatus.PUBLISHING,
        attempts=target.attempts + 1 if start else target.attempts,
        step=0 if start else target.step,
        lease_id=lease_id,
        lease_until=now + timedelta(seconds=lease_s),
        attempt_started_at=now if start else target.attempt_started_at,
        uncertain_since=uncertain,
        next_attempt_at=None,
        continue_at=None,
    )


def waiting(target: TargetRecord, *, wait_s: float, now: datetime) -> TargetRecord:
    """The target after a step answered "still processing": still ``PUBLISHING`` (the attempt
    continues), lease released, continuation ``step + 1`` due at ``now + wait_s`` (seconds)."""
    return _bump(
        target,
        now,
        lease_id=None,
        lease_until=None,
        continue_at=now + timedelta(seconds=max(wait_s, 0.0)),
        step=target.step + 1,
    )


def succeeded(
    target: TargetRecord, *, external_id: str, external_url: str | None, now: datetime
) -> TargetRecord:
    """The target after its attempt published (or was found already published)."""
    return _bump(
        target,
        now,
        status=TargetStatus.SUCCESS,
        external_id=external_id,
        external_url=external_url,
        published_at=now,
        lease_id=None,
        lease_until=None,
        continue_at=None,
        error=None,
    )


def failed(
    target: TargetRecord,
    *,
    code: str,
    message: str,
    retryable: bool,
    retry_after_s: float | None,
    maybe_posted: bool,
    policy: RetryPolicy,
    now: datetime,
) -> TargetRecord:
    """The target after a failed attempt: ``RETRYING`` with ``next_attempt_at`` when the error
    is transient and attempts remain, otherwise ``FAILED``. ``error`` follows
    docs/semantics.md#statuses-and-rules.

    ``maybe_posted`` (the request may have reached the platform: timeout, dropped connection)
    sets ``uncertain_since`` so the next attempt reconciles before sending."""
    error = TargetError(
        code=code,
        message=message[:1000],
        retryable=retryable,
        retry_after_s=retry_after_s,
        attempts=target.attempts,
        max_attempts=target.max_attempts,
    )
    bounded = RetryPolicy(
        max_attempts=target.max_attempts,
        base_s=policy.base_s,
        max_s=policy.max_s,
        jitter=policy.jitter,
    )
    uncertain = target.uncertain_since
    if maybe_posted and uncertain is None:
        uncertain = target.attempt_started_at or now
    if retryable and bounded.can_retry(target.attempts):
        delay = bounded.delay_after(target.attempts, retry_after_s=retry_after_s)
        return _bump(
            target,
            now,
            uncertain_since=uncertain,
            status=TargetStatus.RETRYING,
            next_attempt_at=now + timedelta(seconds=delay),
            lease_id=None,
            lease_until=None,
            continue_at=None,
            error=error,
        )
    return _bump(
        target,
        now,
        uncertain_since=uncertain,
        status=TargetStatus.FAILED,
        next_attempt_at=None,
        lease_id=None,
        lease_until=None,
        continue_at=None,
        error=error,
    )
