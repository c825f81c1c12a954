import pytest

from sharecast.domain.rollup import rollup_post_status
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
