"""Share record transitions: tracking, rounds, and applying publisher outcomes idempotently."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sharecast.domain.shares import (
    ShareAuditEntry,
    ShareMode,
    ShareStatus,
    apply_target,
    fail_round,
    link_post,
    new_record,
    share_record_id,
    start_round,
    track,
)
from sharecast.domain.statuses import Platform, TargetStatus

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def fresh(mode: ShareMode = ShareMode.SERVER_POST):
    return new_record(video_id="vid", platform=Platform.X, user_id="u:1", mode=mode, now=T0)


def outcome(record, *, version: int, status: TargetStatus, attempts: int, **kw):
    return apply_target(
        record,
        post_id=kw.get("post_id", "p1"),
        target_id="x-0",
        target_version=version,
        target_status=status,
        attempts=attempts,
        external_id=kw.get("external_id"),
        external_url=None,
        error_code=kw.get("code"),
        error_message=kw.get("message"),
        now=T0 + timedelta(seconds=version),
    )


def test_record_id_is_video_platform_user():
    assert share_record_id("vid", Platform.X, "u:1") == "vid:x:u:1"
    assert fresh().id == "vid:x:u:1"


def test_track_is_an_immediate_success_counting_attempts():
    first = track(fresh(ShareMode.TRACK_ONLY), now=T0)
    assert (first.status, first.version, first.attempt_count) == (ShareStatus.SUCCESS, 1, 1)
    assert first.shared_at == T0
    again = track(first, now=T0 + timedelta(seconds=1))
    assert (again.version, again.attempt_count) == (2, 2)


def test_round_then_outcomes_pending_to_success():
    record = start_round(fresh(), text="hello", now=T0)
    assert record.status is ShareStatus.PENDING
    assert record.round_id
    record = link_post(record, post_id="p1", target_id="x-0", now=T0)
    retrying = outcome(
        record,
        version=3,
        status=TargetStatus.RETRYING,
        attempts=1,
        code="PLATFORM_5XX",
        message="boom",
    )
    assert retrying is not None
    assert (retrying.status, retrying.attempt_count, retrying.error_message) == (
        ShareStatus.PENDING,
        1,
        "boom",
    )
    done = outcome(retrying, version=5, status=TargetStatus.SUCCESS, attempts=2, external_id="42")
    assert done is not None
    assert (done.status, done.attempt_count, done.external_ref) == (ShareStatus.SUCCESS, 2, "42")
    assert done.error_message is None
    assert done.shared_at is not None


def test_outcomes_are_idempotent_and_ignore_other_rounds():
    record = link_post(
        start_round(fresh(), text="t", now=T0), post_id="p1", target_id="x-0", now=T0
    )
    failed = outcome(record, version=4, status=TargetStatus.FAILED, attempts=4, message="no")
    assert failed is not None
    assert failed.status is ShareStatus.FAILED
    assert outcome(failed, version=4, status=TargetStatus.FAILED, attempts=4) is None  # replay
    assert outcome(failed, version=3, status=TargetStatus.RETRYING, attempts=3) is None  # older
    assert outcome(failed, version=9, status=TargetStatus.SUCCESS, attempts=5, post_id="p0") is None


def test_a_retry_round_counts_attempts_on_top_of_earlier_ones():
    record = link_post(
        start_round(fresh(), text="t", now=T0), post_id="p1", target_id="x-0", now=T0
    )
    failed = outcome(record, version=4, status=TargetStatus.FAILED, attempts=4, message="no")
    assert failed is not None
    retry = link_post(start_round(failed, text="t", now=T0), post_id="p2", target_id="x-0", now=T0)
    assert retry.attempt_base == 4
    assert retry.target_version == 0
    done = outcome(retry, version=3, status=TargetStatus.SUCCESS, attempts=1, post_id="p2")
    assert done is not None
    assert done.attempt_count == 5


def test_fail_round_and_audit_entry():
    record = fail_round(
        start_round(fresh(), text="t", now=T0),
        code="NOT_CONNECTED",
        message="no connection",
        now=T0,
    )
    entry = ShareAuditEntry.of(record, actor="u:1", action="share", at=T0)
    assert entry.outcome is ShareStatus.FAILED
    assert entry.error_message == "no connection"
    assert entry.record_id == record.id
    assert entry.mode is ShareMode.SERVER_POST
