from datetime import UTC, datetime

import pytest

from sharecast.domain.models import PostRecord, TargetRecord
from sharecast.domain.rollup import outcomes_of, rollup_after, rollup_post_status
from sharecast.domain.statuses import Platform
from sharecast.domain.statuses import PostStatus as P
from sharecast.domain.statuses import TargetStatus as T


@pytest.mark.parametrize(
    ("current", "targets", "expected"),
    [
        (P.PUBLISHING, [T.SUCCESS, T.SUCCESS], P.PUBLISHED),
        (P.PUBLISHING, [T.SUCCESS, T.FAILED], P.PARTIAL),
        (P.PUBLISHING, [T.FAILED, T.FAILED], P.FAILED),
        (P.PUBLISHING, [T.SUCCESS, T.RETRYING], P.PUBLISHING),
        (P.SCHEDULED, [T.PENDING, T.PENDING], P.SCHEDULED),
        (P.SCHEDULED, [T.PUBLISHING, T.PENDING], P.PUBLISHING),
        (P.DRAFT, [T.PENDING], P.DRAFT),
        (P.CANCELLED, [T.CANCELLED], P.CANCELLED),
        (P.PUBLISHING, [T.SUCCESS, T.CANCELLED], P.PARTIAL),
    ],
)
def test_rollup(current, targets, expected):
    assert rollup_post_status(current, targets) is expected


# Rolling a post up from its targets' terminal statuses alone (no read of the siblings).

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def post(status: P = P.PUBLISHING, outcomes: dict[str, T] | None = None) -> PostRecord:
    return PostRecord(
        id="p",
        user_id="u",
        content="hi",
        status=status,
        target_ids=["a", "b"],
        target_outcomes={} if outcomes is None else outcomes,
        created_at=NOW,
        updated_at=NOW,
    )


def test_a_change_between_live_statuses_needs_no_post_write():
    assert rollup_after(post(), target_id="a", status=T.PUBLISHING, now=NOW) is None
    assert rollup_after(post(), target_id="a", status=T.RETRYING, now=NOW) is None


def test_the_first_outcome_is_recorded_without_a_new_version():
    after = rollup_after(post(), target_id="a", status=T.SUCCESS, now=NOW)
    assert after is not None
    assert (after.status, after.version, after.target_outcomes) == (
        P.PUBLISHING,
        1,
        {"a": T.SUCCESS},
    )


@pytest.mark.parametrize(
    ("other", "last", "expected"),
    [
        (T.SUCCESS, T.SUCCESS, P.PUBLISHED),
        (T.FAILED, T.SUCCESS, P.PARTIAL),
        (T.FAILED, T.FAILED, P.FAILED),
        (T.CANCELLED, T.SUCCESS, P.PARTIAL),
    ],
)
def test_the_last_outcome_decides_the_post(other, last, expected):
    after = rollup_after(post(outcomes={"a": other}), target_id="b", status=last, now=NOW)
    assert after is not None
    assert (after.status, after.version) == (expected, 2)
    assert after.published_at == (NOW if expected in (P.PUBLISHED, P.PARTIAL) else None)
    assert rollup_post_status(P.PUBLISHING, [other, last]) is expected  # the same rules


def test_a_scheduled_post_starts_with_its_first_target():
    after = rollup_after(post(P.SCHEDULED), target_id="a", status=T.PUBLISHING, now=NOW)
    assert after is not None
    assert (after.status, after.version) == (P.PUBLISHING, 2)
    assert rollup_after(post(P.SCHEDULED), target_id="a", status=T.PENDING, now=NOW) is None


def test_drafts_and_cancelled_posts_keep_their_status():
    for status in (P.DRAFT, P.CANCELLED):
        after = rollup_after(post(status), target_id="a", status=T.CANCELLED, now=NOW)
        assert after is not None
        assert after.status is status


def test_outcomes_of_keeps_only_terminal_statuses():
    records = [
        TargetRecord(
            id=name,
            post_id="p",
            user_id="u",
            platform=Platform.X,
            account_id="1",
            connection_id="c",
            text="hi",
            status=status,
            max_attempts=4,
            created_at=NOW,
            updated_at=NOW,
        )
        for name, status in (("a", T.SUCCESS), ("b", T.RETRYING), ("c", T.CANCELLED))
    ]
    assert outcomes_of(records) == {"a": T.SUCCESS, "c": T.CANCELLED}
