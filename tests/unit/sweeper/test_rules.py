"""Pure decisions of the sweeper: which waiting target gets a task, which one is MISSED."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sharecast.domain.models import TargetRecord
from sharecast.domain.statuses import Platform, TargetStatus
from sharecast.sweeper.rules import DueAction, decide_due, missed, sweep_task_id

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
HOUR = 3600


def target(status: TargetStatus = TargetStatus.PENDING, **changes) -> TargetRecord:
    base = TargetRecord(
        id="x-1",
        post_id="p1",
        user_id="u1",
        platform=Platform.X,
        account_id="42",
        connection_id="c1",
        text="hello",
        status=status,
        max_attempts=4,
        next_attempt_at=NOW - timedelta(minutes=5),
        created_at=NOW - timedelta(hours=1),
        updated_at=NOW - timedelta(hours=1),
    )
    return base.model_copy(update=changes)


@pytest.mark.parametrize(
    "status",
    [TargetStatus.PUBLISHING, TargetStatus.SUCCESS, TargetStatus.FAILED, TargetStatus.CANCELLED],
)
def test_targets_that_wait_for_no_task_are_left_alone(status):
    assert decide_due(target(status), allow_late=False, now=NOW, missed_after_s=HOUR) is (
        DueAction.NONE
    )


def test_a_draft_target_has_no_time_and_is_left_alone():
    draft = target(next_attempt_at=None)
    assert decide_due(draft, allow_late=False, now=NOW, missed_after_s=HOUR) is DueAction.NONE


@pytest.mark.parametrize("status", [TargetStatus.PENDING, TargetStatus.RETRYING])
def test_waiting_targets_get_a_task_until_the_window_ends(status):
    inside = target(status, next_attempt_at=NOW - timedelta(seconds=HOUR))
    beyond = target(status, next_attempt_at=NOW - timedelta(seconds=HOUR + 1))
    future = target(status, next_attempt_at=NOW + timedelta(days=3))
    assert decide_due(inside, allow_late=False, now=NOW, missed_after_s=HOUR) is DueAction.ENQUEUE
    assert decide_due(future, allow_late=False, now=NOW, missed_after_s=HOUR) is DueAction.ENQUEUE
    assert decide_due(beyond, allow_late=False, now=NOW, missed_after_s=HOUR) is DueAction.MISSED
    assert decide_due(beyond, allow_late=True, now=NOW, missed_after_s=HOUR) is DueAction.ENQUEUE


def test_missed_is_a_final_failure_with_the_spec_error_object():
    before = target(TargetStatus.RETRYING, attempts=2, version=5)
    after = missed(before, missed_after_s=HOUR, now=NOW)
    assert after.status is TargetStatus.FAILED
    assert after.next_attempt_at is None
    assert after.version == 6
    assert after.updated_at == NOW
    assert after.error is not None
    assert after.error.code == "MISSED"
    assert after.error.retryable is False
    assert (after.error.attempts, after.error.max_attempts) == (2, 4)
    assert "3600 s" in after.error.message


def test_sweep_task_names_follow_the_target_version():
    one = target(version=3)
    assert sweep_task_id(one, 1) == sweep_task_id(one, 1)
    assert sweep_task_id(one, 1) != sweep_task_id(one.model_copy(update={"version": 4}), 1)
    assert sweep_task_id(one, 1) != sweep_task_id(one, 2)
    assert sweep_task_id(one, 1, step=0) != sweep_task_id(one, 1, step=1)
    assert sweep_task_id(one, 1) != f"{one.post_id}-{one.id}-1"  # the publisher's own name
