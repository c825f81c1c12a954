"""Pure lifecycle transitions (sharecast.domain.user_transitions) and task supersession."""

from datetime import UTC, datetime, timedelta

import pytest

from sharecast.domain.attempt_transitions import ClaimAction, decide_claim
from sharecast.domain.backoff import RetryPolicy
from sharecast.domain.models import PostRecord, TargetError, TargetRecord
from sharecast.domain.statuses import Platform, PostStatus, TargetStatus
from sharecast.domain.user_transitions import (
    TransitionRefused,
    cancel,
    failure_notification,
    publish_now,
    retry_target,
)
from sharecast.tasks import PublishTask

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def post(status: PostStatus = PostStatus.SCHEDULED, **changes) -> PostRecord:
    return PostRecord(
        id="p",
        user_id="u",
        content="hi",
        schedule_at=NOW + timedelta(hours=1),
        status=status,
        target_ids=["x-0", "facebook-1"],
        enqueue_pending=False,
        created_at=NOW,
        updated_at=NOW,
    ).model_copy(update=changes)


def target(tid: str = "x-0", **changes) -> TargetRecord:
    return TargetRecord(
        id=tid,
        post_id="p",
        user_id="u",
        platform=Platform.X if tid.startswith("x") else Platform.FACEBOOK,
        account_id="1",
        connection_id="c",
        text="hi",
        max_attempts=4,
        next_attempt_at=NOW + timedelta(hours=1),
        created_at=NOW,
        updated_at=NOW,
    ).model_copy(update=changes)


def pair(**changes) -> list[TargetRecord]:
    return [target("x-0", **changes), target("facebook-1", **changes)]


@pytest.mark.parametrize("status", [PostStatus.DRAFT, PostStatus.SCHEDULED])
def test_cancel_allowed_while_nothing_started(status):
    plan = cancel(post(status), pair(), now=NOW)
    assert plan.post.status is PostStatus.CANCELLED
    assert plan.post.version == 2
    assert {t.status for t in plan.targets} == {TargetStatus.CANCELLED}
    assert all(t.version == 2 and t.next_attempt_at is None for t in plan.targets)


@pytest.mark.parametrize(
    "status",
    [
        PostStatus.PUBLISHING,
        PostStatus.PUBLISHED,
        PostStatus.PARTIAL,
        PostStatus.FAILED,
        PostStatus.CANCELLED,
    ],
)
@pytest.mark.parametrize("operation", [cancel, publish_now])
def test_refused_outside_draft_and_scheduled(status, operation):
    with pytest.raises(TransitionRefused) as refused:
        operation(post(status), pair(), now=NOW)
    assert refused.value.post.status is status
    assert status.value in refused.value.reason


@pytest.mark.parametrize("operation", [cancel, publish_now])
def test_refused_once_a_target_was_claimed(operation):
    """The post still says SCHEDULED (rollup comes after the claim), but a target started."""
    targets = [target("x-0", status=TargetStatus.PUBLISHING, attempts=1), target("facebook-1")]
    with pytest.raises(TransitionRefused, match="x-0"):
        operation(post(), targets, now=NOW)


def test_publish_now_supersedes_every_task():
    plan = publish_now(post(), pair(generation=2), now=NOW)
    assert plan.post.status is PostStatus.PUBLISHING
    assert (plan.post.schedule_at, plan.post.enqueue_pending) == (None, True)
    assert {(t.generation, t.next_attempt_at) for t in plan.targets} == {(3, NOW)}


def test_retry_gives_a_new_budget_and_keeps_reconciliation():
    error = TargetError(code="UNCERTAIN", message="m", retryable=False, attempts=4, max_attempts=4)
    failed = target(
        status=TargetStatus.FAILED, attempts=4, error=error, uncertain_since=NOW, generation=1
    )
    done = target("facebook-1", status=TargetStatus.SUCCESS, attempts=1)
    plan = retry_target(
        post(PostStatus.PARTIAL),
        [failed, done],
        target_id="x-0",
        policy=RetryPolicy(max_attempts=3),
        now=NOW,
    )
    retried = plan.targets[0]
    assert (retried.status, retried.attempts, retried.max_attempts) == (
        TargetStatus.PENDING,
        4,
        7,
    )
    assert (retried.generation, retried.next_attempt_at, retried.error) == (2, NOW, None)
    assert retried.uncertain_since == NOW  # the retry still looks before it sends
    assert plan.targets[1] is done
    assert (plan.post.status, plan.post.enqueue_pending) == (PostStatus.PUBLISHING, True)
    assert PublishTask.next_for(retried).task_id == "p-x-0-5-g2"


@pytest.mark.parametrize(
    "status", [TargetStatus.PENDING, TargetStatus.RETRYING, TargetStatus.SUCCESS]
)
def test_retry_refused_unless_failed(status):
    with pytest.raises(TransitionRefused, match=status.value):
        retry_target(
            post(PostStatus.PUBLISHING),
            [target(status=status)],
            target_id="x-0",
            policy=RetryPolicy(),
            now=NOW,
        )


def test_task_of_an_older_generation_is_superseded():
    current = target(generation=2, next_attempt_at=NOW)
    assert decide_claim(current, attempt=1, now=NOW, generation=1).action is (
        ClaimAction.NOOP_SUPERSEDED
    )
    assert decide_claim(current, attempt=1, now=NOW, generation=2).action is ClaimAction.START
    ended = target(status=TargetStatus.CANCELLED, generation=2)
    assert decide_claim(ended, attempt=1, now=NOW).action is ClaimAction.NOOP_TERMINAL


def test_task_names_keep_the_original_form_for_generation_zero():
    assert PublishTask(post_id="p", target_id="x-0", attempt=1).task_id == "p-x-0-1"
    assert PublishTask(post_id="p", target_id="x-0", attempt=1, generation=3).task_id == (
        "p-x-0-1-g3"
    )


def test_failure_notification_names_the_target_and_error():
    error = TargetError(code="FORBIDDEN", message="no", retryable=False, attempts=1, max_attempts=4)
    note = failure_notification(target(status=TargetStatus.FAILED, error=error, version=5))
    assert note["kind"] == "target_failed"
    assert (note["post_id"], note["target_id"], note["version"]) == ("p", "x-0", 5)
    assert note["error"]["code"] == "FORBIDDEN"
