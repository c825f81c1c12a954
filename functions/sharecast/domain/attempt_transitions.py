"""Pure state transitions of a target during publishing (docs/semantics.md#statuses-and-rules,
docs/semantics.md#the-publisher).

The publisher asks :func:`decide_claim` what a task delivery may do, then applies
:func:`claimed`, :func:`succeeded` or :func:`failed` to build the new target state.

An attempt whose outcome is unknown (the request may have reached the network: a timeout, a
dropped answer, a 5xx, a crash) does not end: :func:`outcome_unknown` keeps it ``PUBLISHING``
with error ``UNCERTAIN`` and a continuation due when the network's settle window is over; that
continuation checks whether the post exists and ends the attempt with :func:`succeeded` (found),
:func:`resolved_absent` (not there: the attempt failed with its original cause),
:func:`check_again` (the lookup itself failed) or :func:`failed_uncertain` (no way to tell).
A target is therefore never ``FAILED`` while the post may exist unless the network cannot be
asked (docs/semantics.md#exactly-once-and-uncertain).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sharecast.domain.backoff import RetryPolicy
from sharecast.domain.models import TargetError, TargetRecord
from sharecast.domain.statuses import TargetStatus
from sharecast.timeutil import isoformat

#: Error code of a target whose attempt's outcome is unknown while its check is pending
#: (retryable), and of one that ended without a way to tell whether the post exists (final).
UNCERTAIN = "UNCERTAIN"
#: Cause recorded when a publisher died mid-attempt (its lease expired).
UNKNOWN_OUTCOME = "UNKNOWN_OUTCOME"
#: What every ending of an attempt clears: the lease, a pending continuation, a pending check.
_ATTEMPT_ENDED = {
    "lease_id": None,
    "lease_until": None,
    "continue_at": None,
    "uncertain_cause": None,
    "settle_until": None,
    "checks": 0,
}


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


def _failed_uncertain(target: TargetRecord, now: datetime, error: TargetError) -> TargetRecord:
    """FAILED for good with ``error``: no lease, no next attempt, no pending check."""
    return _bump(
        target,
        now,
        **_ATTEMPT_ENDED,
        status=TargetStatus.FAILED,
        next_attempt_at=None,
        error=error,
    )


def claimed(
    target: TargetRecord,
    *,
    action: ClaimAction,
    lease_id: str,
    lease_s: float,
    now: datetime,
    settle_s: float = 0.0,
) -> TargetRecord:
    """The target leased until now + lease_s to a new attempt (START: attempts + 1, step 0), a
    resumed one or the next step of a waiting one (CONTINUE). ``step_state`` is kept throughout.

    RESUME: the delivery that held the lease died, so its request may have reached the network:
    the outcome is unknown (``uncertain_since``, cause ``UNKNOWN_OUTCOME``) and the existence
    check may run only ``settle_s`` seconds after the dead lease ended (``settle_until``; the
    request was sent before then). A resumed check keeps its cause and window."""
    start = action is ClaimAction.START
    changes: dict[str, object] = {}
    if action is ClaimAction.RESUME and target.uncertain_cause is None:
        cause = TargetError(
            code=UNKNOWN_OUTCOME,
            message="the publisher stopped before it recorded the outcome (its lease expired)",
            retryable=True,
            attempts=target.attempts,
            max_attempts=target.max_attempts,
        )
        check_at = (target.lease_until or now) + timedelta(seconds=settle_s)
        changes = {
            "uncertain_since": target.uncertain_since or target.attempt_started_at or now,
            "uncertain_cause": cause,
            "settle_until": check_at,
            "checks": 0,
            "error": uncertain_error(target, cause, check_at=check_at, now=now),
        }
    return _bump(
        target,
        now,
        status=TargetStatus.PUBLISHING,
        attempts=target.attempts + 1 if start else target.attempts,
        step=0 if start else target.step,
        lease_id=lease_id,
        lease_until=now + timedelta(seconds=lease_s),
        attempt_started_at=now if start else target.attempt_started_at,
        next_attempt_at=None,
        continue_at=None,
        **changes,
    )


def uncertain_error(
    target: TargetRecord, cause: TargetError, *, check_at: datetime, now: datetime
) -> TargetError:
    """The error a user sees while the outcome is unknown: code ``UNCERTAIN``, retryable, with
    ``retry_after_s`` = seconds from ``now`` until the check, and the cause in the message."""
    return TargetError(
        code=UNCERTAIN,
        message=(
            f"{cause.code}: {cause.message}"[:700]
            + f"; the network may have published the post: checking at {isoformat(check_at)}"
            " and sending again only if it is not there"
        ),
        retryable=True,
        retry_after_s=max(0.0, (check_at - now).total_seconds()),
        attempts=target.attempts,
        max_attempts=target.max_attempts,
    )


def outcome_unknown(
    target: TargetRecord, *, code: str, message: str, settle_s: float, now: datetime
) -> TargetRecord:
    """The target after a call whose request may have reached the network without an answer
    (``code``/``message``: what ended it). The attempt goes on: still ``PUBLISHING``, lease
    released, its existence check due as continuation ``step + 1`` after ``settle_s`` seconds,
    error ``UNCERTAIN`` meanwhile. ``uncertain_since`` (where the lookup starts) is the earliest
    attempt that may have posted."""
    cause = TargetError(
        code=code,
        message=message[:1000],
        retryable=True,
        attempts=target.attempts,
        max_attempts=target.max_attempts,
    )
    check_at = now + timedelta(seconds=max(settle_s, 0.0))
    return _bump(
        target,
        now,
        lease_id=None,
        lease_until=None,
        step=target.step + 1,
        continue_at=check_at,
        uncertain_since=target.uncertain_since or target.attempt_started_at or now,
        uncertain_cause=cause,
        settle_until=check_at,
        checks=0,
        error=uncertain_error(target, cause, check_at=check_at, now=now),
    )


def check_again(
    target: TargetRecord,
    *,
    code: str,
    message: str,
    retry_after_s: float | None,
    policy: RetryPolicy,
    max_checks: int,
    now: datetime,
) -> TargetRecord:
    """The target after its existence check could not be made (the lookup answered ``code``):
    another check after the platform's backoff (or its wait hint), or, after ``max_checks``
    failed checks, :func:`failed_uncertain`."""
    assert target.uncertain_cause is not None
    checks = target.checks + 1
    if checks >= max_checks:
        return failed_uncertain(
            target,
            message=f"could not check whether the post exists ({code}: {message})"[:1000],
            now=now,
        )
    delay = policy.delay_after(checks, retry_after_s=retry_after_s)
    check_at = now + timedelta(seconds=delay)
    return _bump(
        target,
        now,
        lease_id=None,
        lease_until=None,
        step=target.step + 1,
        continue_at=check_at,
        checks=checks,
        error=uncertain_error(target, target.uncertain_cause, check_at=check_at, now=now),
    )


def failed_uncertain(target: TargetRecord, *, message: str, now: datetime) -> TargetRecord:
    """The target ``FAILED`` with code ``UNCERTAIN`` (not retryable): the post may exist and the
    network offers no way to tell, so Sharecast stops rather than post twice."""
    error = TargetError(
        code=UNCERTAIN,
        message=message[:1000],
        retryable=False,
        attempts=target.attempts,
        max_attempts=target.max_attempts,
    )
    return _failed_uncertain(target, now, error)


def resolved_absent(target: TargetRecord, *, policy: RetryPolicy, now: datetime) -> TargetRecord:
    """The target after its existence check found no post once the settle window was over: the
    attempt failed with the cause of its unknown outcome (``RETRYING`` or ``FAILED`` as
    :func:`failed` decides). ``uncertain_since`` stays: later attempts look first too."""
    cause = target.uncertain_cause
    assert cause is not None
    return failed(
        target,
        code=cause.code,
        message=f"{cause.message}; no post found on the network after the settle window",
        retryable=cause.retryable,
        retry_after_s=None,
        policy=policy,
        now=now,
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
        **_ATTEMPT_ENDED,
        status=TargetStatus.SUCCESS,
        external_id=external_id,
        external_url=external_url,
        published_at=now,
        error=None,
    )


def failed(
    target: TargetRecord,
    *,
    code: str,
    message: str,
    retryable: bool,
    retry_after_s: float | None,
    policy: RetryPolicy,
    now: datetime,
) -> TargetRecord:
    """The target after a failed attempt: ``RETRYING`` with ``next_attempt_at`` when the error
    is transient and attempts remain, otherwise ``FAILED``. ``error`` follows
    docs/semantics.md#statuses-and-rules. Only for attempts known not to have posted: an
    unknown outcome goes through :func:`outcome_unknown` first."""
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
    if retryable and bounded.can_retry(target.attempts):
        delay = bounded.delay_after(target.attempts, retry_after_s=retry_after_s)
        return _bump(
            target,
            now,
            **_ATTEMPT_ENDED,
            status=TargetStatus.RETRYING,
            next_attempt_at=now + timedelta(seconds=delay),
            error=error,
        )
    return _failed_uncertain(target, now, error)
