"""``GET /analytics/summary`` over real HTTP, on records stored in the Firestore emulator."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from sharecast.analytics import percentiles
from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.domain.models import AttemptRecord, PostRecord, TargetRecord
from sharecast.domain.statuses import Platform, PostStatus, TargetStatus
from sharecast.store import posts as posts_store
from tests.conftest import PORTS
from tests.support.api import ApiClient
from tests.support.context import outbox_for

pytestmark = pytest.mark.usefixtures("clean_stack")

NOW = datetime.now(UTC).replace(microsecond=0)


def seed(user_id: str, outcomes: list[tuple[Platform, TargetStatus, float]]) -> None:
    """One post per outcome: a target of ``platform`` in ``status``, published after ``s``."""
    db = Clients(Settings()).firestore
    for platform, status, seconds in outcomes:
        post_id = uuid.uuid4().hex
        created = NOW - timedelta(hours=1)
        published = created + timedelta(seconds=seconds) if status is TargetStatus.SUCCESS else None
        target = TargetRecord(
            id=f"{platform.value}-0",
            post_id=post_id,
            user_id=user_id,
            platform=platform,
            account_id="acct",
            connection_id="conn",
            text="t",
            status=status,
            attempts=1,
            max_attempts=4,
            published_at=published,
            created_at=created,
            updated_at=created,
        )
        post = PostRecord(
            id=post_id,
            user_id=user_id,
            content="t",
            status=PostStatus.PUBLISHED,
            target_ids=[target.id],
            created_at=created,
            updated_at=created,
        )
        posts_store.create_post(db, post=post, targets=[target], events=[], outbox=outbox_for(db))
        attempt = AttemptRecord(
            id=f"{post_id}-{target.id}-1",
            post_id=post_id,
            target_id=target.id,
            user_id=user_id,
            platform=platform,
            attempt=1,
            outcome=status.value,
            started_at=created,
            finished_at=created + timedelta(milliseconds=seconds * 100),
            duration_ms=int(seconds * 100),
        )
        db.collection("attempts").document(attempt.id).set(attempt.to_doc())


def test_user_sees_own_figures_and_viewer_sees_everyone(user_id):
    seed(
        user_id,
        [
            (Platform.X, TargetStatus.SUCCESS, 1.0),
            (Platform.X, TargetStatus.SUCCESS, 3.0),
            (Platform.X, TargetStatus.FAILED, 0),
            (Platform.FACEBOOK, TargetStatus.SUCCESS, 2.0),
        ],
    )
    seed("someone-else", [(Platform.FACEBOOK, TargetStatus.FAILED, 0)])
    since = (NOW - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    mine = ApiClient(PORTS, user_id).get("/analytics/summary", params={"from": since}, timeout=90)
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["scope"] == "own"
    assert body["targets"] == 4
    assert body["byStatus"] == {"FAILED": 1, "SUCCESS": 3}
    assert body["successRate"] == 0.75
    assert body["publishLatencyS"] == {"count": 3, "p50": 2.0, "p90": 3.0, "p99": 3.0, "max": 3.0}
    by_platform = {p["platform"]: p for p in body["platforms"]}
    assert by_platform["x"]["successRate"] == round(2 / 3, 4)
    assert by_platform["x"]["attemptLatencyMs"]["count"] == 3
    assert by_platform["facebook"]["byStatus"] == {"SUCCESS": 1}
    assert body["truncated"] is False

    everyone = ApiClient(PORTS, "a-viewer", role="viewer").get(
        "/analytics/summary", params={"from": since}, timeout=90
    )
    assert everyone.status_code == 200
    assert everyone.json()["scope"] == "all"
    assert everyone.json()["targets"] == 5
    assert everyone.json()["successRate"] == 0.6


def test_bad_ranges_are_422(user_id):
    api = ApiClient(PORTS, user_id)
    assert (
        api.get(
            "/analytics/summary",
            params={"from": "2030-01-02T00:00:00Z", "to": "2030-01-01T00:00:00Z"},
        ).status_code
        == 422
    )
    assert (
        api.get(
            "/analytics/summary",
            params={"from": "2020-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"},
        ).status_code
        == 422
    )
    assert api.get("/analytics/summary", params={"from": "yesterday"}).status_code == 422
    assert api.get("/analytics/summary", params={"from": "2030-01-01T00:00:00"}).status_code == 422
    assert api.get("/analytics/summary", params={"bogus": "1"}).status_code == 422
    empty = api.get("/analytics/summary")
    assert empty.status_code == 200
    assert empty.json()["targets"] == 0
    assert empty.json()["successRate"] is None


def test_percentiles_nearest_rank():
    assert percentiles([]) is None
    assert percentiles(range(1, 101)) == {"count": 100, "p50": 50, "p90": 90, "p99": 99, "max": 100}


def test_extreme_dates_are_422_not_500(user_id):
    """Found by schemathesis: an instant near year 1 overflowed while computing the range."""
    api = ApiClient(PORTS, user_id)
    for value in (
        "0001-01-01T01:06:22-00:00",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-23:59",
    ):
        assert api.get("/analytics/summary", params={"to": value}).status_code == 422
    response = api.post(
        "/posts/multipost",
        json={
            "content": "a",
            "platforms": [{"platform": "x"}],
            "scheduleAt": "0001-01-01T00:00:00+01:00",
        },
    )
    assert response.status_code == 422
