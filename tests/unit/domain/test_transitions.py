from datetime import UTC, datetime, timedelta

import pytest

from sharecast.domain.attempt_transitions import (
    ClaimAction,
    check_again,
    claimed,
    decide_claim,
    failed,
    outcome_unknown,
    resolved_absent,
    succeeded,
    waiting,
)
from sharecast.domain.backoff import RetryPolicy
from sharecast.domain.models import TargetRecord
from sharecast.domain.statuses import Platform, TargetStatus

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def target(**changes) -> TargetRecord:
    base = TargetRecord(
        id="x-0",
        post_id="p",
        user_id="u",
        platform=Platform.X,
        account_id="1",
        connection_id="c",
        text="hi",
        max_attempts=4,
        created_at=NOW,
        updated_at=NOW,
    )
    return base.model_copy(update=changes)


@pytest.mark.parametrize(
    ("state", "attempt", "action"),
    [
        ({}, 1, ClaimAction.START),
        ({}, 2, ClaimAction.NOOP_STALE),
        ({"status": TargetStatus.SUCCESS, "attempts": 1}, 1, ClaimAction.NOOP_TERMINAL),
        ({"status": TargetStatus.CANCELLED}, 1, ClaimAction.NOOP_TERMINAL),
        (
            {
                "status": TargetStatus.PUBLISHING,
                "attempts": 1,
                "lease_until": NOW + timedelta(seconds=5),
            },
            1,
            ClaimAction.NOOP_LEASED,
        ),
        (
            {
                "status": TargetStatus.PUBLISHING,
                "attempts": 1,
                "lease_until": NOW - timedelta(seconds=5),
            },
            1,
            ClaimAction.RESUME,
        ),
        (
            {
                "status": TargetStatus.PUBLISHING,
                "attempts": 2,
                "lease_until": NOW - timedelta(seconds=5),
            },
            1,
            ClaimAction.NOOP_STALE,
        ),
        (
            {
                "status": TargetStatus.RETRYING,
                "attempts": 1,
                "next_attempt_at": NOW - timedelta(seconds=1),
            },
            2,
            ClaimAction.START,
        ),
        (
            {
                "status": TargetStatus.RETRYING,
                "attempts": 1,
                "next_attempt_at": NOW + timedelta(seconds=30),
            },
            2,
            ClaimAction.NOOP_EARLY,
        ),
        ({"status": TargetStatus.RETRYING, "attempts": 1}, 1, ClaimAction.ENSURE_NEXT),
    ],
)
def test_decide_claim(state, attempt, action):
    assert decide_claim(target(**state), attempt=attempt, now=NOW).action is action


def test_claim_start_takes_lease_and_counts_attempt():
    t = claimed(target(), action=ClaimAction.START, lease_id="L", lease_s=30, now=NOW)
    assert t.status is TargetStatus.PUBLISHING
    assert t.attempts == 1
    assert t.lease_until == NOW + timedelta(seconds=30)
    assert t.version == 2
    assert t.uncertain_since is None


def test_resume_keeps_attempt_and_marks_uncertain():
    started = NOW - timedelta(minutes=2)
    t = target(status=TargetStatus.PUBLISHING, attempts=1, attempt_started_at=started)
    resumed = claimed(t, action=ClaimAction.RESUME, lease_id="M", lease_s=30, now=NOW)
    assert resumed.attempts == 1
    assert resumed.uncertain_since == started


def test_transient_failure_schedules_retry_with_error_object():
    t = claimed(target(), action=ClaimAction.START, lease_id="L", lease_s=30, now=NOW)
    out = failed(
        t,
        code="PLATFORM_5XX",
        message="boom",
        retryable=True,
        retry_after_s=None,
        policy=RetryPolicy(jitter=0),
        now=NOW,
    )
    assert out.status is TargetStatus.RETRYING
    assert out.next_attempt_at == NOW + timedelta(seconds=2)
    assert out.error is not None
    assert out.error.model_dump() == {
        "code": "PLATFORM_5XX",
        "message": "boom",
        "retryable": True,
        "retry_after_s": None,
        "attempts": 1,
        "max_attempts": 4,
    }
    assert out.lease_id is None


def test_wait_hint_sets_next_attempt():
    t = claimed(target(), action=ClaimAction.START, lease_id="L", lease_s=30, now=NOW)
    out = failed(
        t,
        code="RATE_LIMITED",
        message="slow down",
        retryable=True,
        retry_after_s=61,
        policy=RetryPolicy(),
        now=NOW,
    )
    assert out.next_attempt_at == NOW + timedelta(seconds=61)


def test_last_attempt_fails_for_good():
    t = target(status=TargetStatus.PUBLISHING, attempts=4)
    out = failed(
        t,
        code="PLATFORM_5XX",
        message="x",
        retryable=True,
        retry_after_s=None,
        policy=RetryPolicy(),
        now=NOW,
    )
    assert out.status is TargetStatus.FAILED
    assert out.next_attempt_at is None


def test_permanent_failure_stops_at_once():
    t = claimed(target(), action=ClaimAction.START, lease_id="L", lease_s=30, now=NOW)
    out = failed(
        t,
        code="INVALID_REQUEST",
        message="x",
        retryable=False,
        retry_after_s=None,
        policy=RetryPolicy(),
        now=NOW,
    )
    assert out.status is TargetStatus.FAILED


def test_unknown_outcome_keeps_the_attempt_and_waits_out_the_settle_window():
    t = claimed(target(), action=ClaimAction.START, lease_id="L", lease_s=30, now=NOW)
    out = outcome_unknown(t, code="NETWORK", message="timed out", settle_s=120, now=NOW)
    assert out.status is TargetStatus.PUBLISHING
    assert (out.attempts, out.step, out.lease_id) == (1, 1, None)
    assert out.uncertain_since == NOW
    assert out.continue_at == out.settle_until == NOW + timedelta(seconds=120)
    assert out.uncertain_cause is not None
    assert out.uncertain_cause.code == "NETWORK"
    assert out.error is not None
    assert (out.error.code, out.error.retryable, out.error.retry_after_s) == (
        "UNCERTAIN",
        True,
        120,
    )
    assert "NETWORK: timed out" in out.error.message


def test_unknown_outcome_on_the_last_attempt_is_not_failed():
    t = target(status=TargetStatus.PUBLISHING, attempts=4, attempt_started_at=NOW)
    out = outcome_unknown(t, code="PLATFORM_5XX", message="503", settle_s=60, now=NOW)
    assert out.status is TargetStatus.PUBLISHING
    due = NOW + timedelta(seconds=60)
    assert out.continue_at == due
    assert decide_claim(out, attempt=4, step=out.step, now=due).action is ClaimAction.CONTINUE
    assert decide_claim(out, attempt=4, step=out.step, now=NOW).action is ClaimAction.NOOP_EARLY


def test_check_that_finds_nothing_fails_the_attempt_with_its_cause():
    t = target(status=TargetStatus.PUBLISHING, attempts=1, attempt_started_at=NOW)
    unknown = outcome_unknown(t, code="NETWORK", message="reset", settle_s=60, now=NOW)
    later = NOW + timedelta(seconds=61)
    out = resolved_absent(unknown, policy=RetryPolicy(jitter=0), now=later)
    assert out.status is TargetStatus.RETRYING
    assert out.next_attempt_at == later + timedelta(seconds=2)
    assert out.error is not None
    assert out.error.code == "NETWORK"
    assert "no post found" in out.error.message
    assert (out.uncertain_cause, out.settle_until, out.checks) == (None, None, 0)
    assert out.uncertain_since == NOW  # the next attempt still looks first
    last = target(status=TargetStatus.PUBLISHING, attempts=4, attempt_started_at=NOW)
    unknown = outcome_unknown(last, code="NETWORK", message="reset", settle_s=60, now=NOW)
    assert resolved_absent(unknown, policy=RetryPolicy(), now=later).status is (TargetStatus.FAILED)


def test_a_failed_lookup_checks_again_then_gives_up_as_uncertain():
    t = target(status=TargetStatus.PUBLISHING, attempts=1, attempt_started_at=NOW)
    current = outcome_unknown(t, code="NETWORK", message="reset", settle_s=60, now=NOW)
    for n in range(1, 3):
        current = check_again(
            current,
            code="PLATFORM_5XX",
            message="feed down",
            retry_after_s=None,
            policy=RetryPolicy(jitter=0),
            max_checks=3,
            now=NOW,
        )
        assert (current.status, current.checks) == (TargetStatus.PUBLISHING, n)
        assert current.continue_at == NOW + timedelta(seconds=2**n)
        assert current.error is not None
        assert current.error.code == "UNCERTAIN"
    out = check_again(
        current,
        code="PLATFORM_5XX",
        message="feed down",
        retry_after_s=None,
        policy=RetryPolicy(jitter=0),
        max_checks=3,
        now=NOW,
    )
    assert out.status is TargetStatus.FAILED
    assert out.error is not None
    assert (out.error.code, out.error.retryable) == ("UNCERTAIN", False)
    assert "could not check" in out.error.message


def test_resume_waits_out_the_settle_window_from_the_dead_lease():
    lease_end = NOW - timedelta(seconds=5)
    t = target(
        status=TargetStatus.PUBLISHING,
        attempts=1,
        attempt_started_at=NOW - timedelta(minutes=2),
        lease_until=lease_end,
    )
    resumed = claimed(t, action=ClaimAction.RESUME, lease_id="M", lease_s=30, now=NOW, settle_s=60)
    assert resumed.settle_until == lease_end + timedelta(seconds=60)
    assert resumed.uncertain_cause is not None
    assert resumed.uncertain_cause.code == "UNKNOWN_OUTCOME"
    assert resumed.error is not None
    assert resumed.error.code == "UNCERTAIN"
    again = claimed(
        resumed.model_copy(update={"lease_until": NOW}),
        action=ClaimAction.RESUME,
        lease_id="N",
        lease_s=30,
        now=NOW + timedelta(seconds=90),
        settle_s=60,
    )
    assert again.settle_until == resumed.settle_until  # a resumed check keeps its window


def test_success_records_external_ids():
    t = claimed(target(), action=ClaimAction.START, lease_id="L", lease_s=30, now=NOW)
    out = succeeded(t, external_id="123", external_url="https://x.com/i/web/status/123", now=NOW)
    assert (out.status, out.external_id, out.published_at) == (TargetStatus.SUCCESS, "123", NOW)
    assert out.lease_until is None


# Multi-step platforms: a step answering "still processing" keeps the attempt and waits.

WAITING = {
    "status": TargetStatus.PUBLISHING,
    "attempts": 1,
    "step": 2,
    "continue_at": NOW,
    "step_state": {"container_id": "c1"},
}


@pytest.mark.parametrize(
    ("state", "attempt", "step", "action"),
    [
        (WAITING, 1, 2, ClaimAction.CONTINUE),
        ({**WAITING, "continue_at": NOW + timedelta(seconds=30)}, 1, 2, ClaimAction.NOOP_EARLY),
        (WAITING, 1, 1, ClaimAction.ENSURE_CONTINUATION),
        (WAITING, 1, 0, ClaimAction.NOOP_STALE),
        (WAITING, 2, 0, ClaimAction.NOOP_STALE),
        (WAITING, 1, 3, ClaimAction.NOOP_STALE),
        # a continuation step that crashed resumes with its own task, not an older one
        ({**WAITING, "continue_at": None, "lease_until": NOW}, 1, 2, ClaimAction.RESUME),
        ({**WAITING, "continue_at": None, "lease_until": NOW}, 1, 1, ClaimAction.NOOP_STALE),
        ({**WAITING, "lease_until": NOW + timedelta(seconds=5)}, 1, 2, ClaimAction.NOOP_LEASED),
        # a continuation task never starts a new attempt
        ({"status": TargetStatus.RETRYING, "attempts": 1}, 2, 1, ClaimAction.NOOP_STALE),
    ],
)
def test_decide_claim_for_steps(state, attempt, step, action):
    assert decide_claim(target(**state), attempt=attempt, step=step, now=NOW).action is action


def test_waiting_keeps_the_attempt_and_releases_the_lease():
    leased = claimed(
        target(**WAITING), action=ClaimAction.CONTINUE, lease_id="L", lease_s=60, now=NOW
    )
    assert (leased.attempts, leased.step, leased.continue_at) == (1, 2, None)
    assert leased.uncertain_since is None  # a clean continuation is not an unknown outcome
    after = waiting(leased, wait_s=5, now=NOW)
    assert after.status is TargetStatus.PUBLISHING
    assert (after.attempts, after.step, after.lease_id) == (1, 3, None)
    assert after.continue_at == NOW + timedelta(seconds=5)
    assert after.step_state == {"container_id": "c1"}
    assert after.version == leased.version + 1


def test_a_new_attempt_restarts_steps_but_keeps_their_state():
    retrying = target(status=TargetStatus.RETRYING, attempts=1, step=3, step_state={"k": 1})
    started = claimed(retrying, action=ClaimAction.START, lease_id="L", lease_s=60, now=NOW)
    assert (started.attempts, started.step, started.step_state) == (2, 0, {"k": 1})


def test_resume_of_a_step_marks_the_outcome_unknown():
    crashed = target(**{**WAITING, "continue_at": None, "attempt_started_at": NOW})
    resumed = claimed(crashed, action=ClaimAction.RESUME, lease_id="L", lease_s=60, now=NOW)
    assert resumed.uncertain_since == NOW
    assert resumed.step == 2


def test_outcomes_clear_continue_at():
    leased = target(**{**WAITING, "lease_id": "L"})
    assert succeeded(leased, external_id="1", external_url=None, now=NOW).continue_at is None
