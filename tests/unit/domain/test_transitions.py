from datetime import UTC, datetime, timedelta

import pytest

from sharecast.domain.backoff import RetryPolicy
from sharecast.domain.models import TargetRecord
from sharecast.domain.statuses import Platform, TargetStatus
from sharecast.domain.transitions import ClaimAction, claimed, decide_claim, failed, succeeded

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
        maybe_posted=False,
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
        maybe_posted=False,
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
        maybe_posted=False,
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
        maybe_posted=False,
        policy=RetryPolicy(),
        now=NOW,
    )
    assert out.status is TargetStatus.FAILED


def test_maybe_posted_failure_marks_uncertain():
    t = claimed(target(), action=ClaimAction.START, lease_id="L", lease_s=30, now=NOW)
    out = failed(
        t,
        code="NETWORK",
        message="reset",
        retryable=True,
        retry_after_s=None,
        maybe_posted=True,
        policy=RetryPolicy(),
        now=NOW,
    )
    assert out.uncertain_since == NOW


def test_success_records_external_ids():
    t = claimed(target(), action=ClaimAction.START, lease_id="L", lease_s=30, now=NOW)
    out = succeeded(t, external_id="123", external_url="https://x.com/i/web/status/123", now=NOW)
    assert (out.status, out.external_id, out.published_at) == (TargetStatus.SUCCESS, "123", NOW)
    assert out.lease_until is None
