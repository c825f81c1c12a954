"""The pure part of webhooks: filters, payloads, what an answer means, Retry-After and the
retry schedule (docs/webhooks.md#delivery)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from sharecast.domain.events import Event
from sharecast.domain.statuses import EventType
from sharecast.domain.webhooks import (
    Backoff,
    EndpointRecord,
    HealthChange,
    Verdict,
    check_filter,
    event_payload,
    health_change,
    judge,
    matches,
    retry_after_s,
)

NOW = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


def event(type_: EventType, **data) -> Event:
    return Event(
        id="01893456789012345-3f2a9c1d", user_id="alice", type=type_, data=data, created_at=NOW
    )


def test_filters():
    success = event(EventType.TARGET_STATUS, status="SUCCESS", version=3)
    failed_note = event(EventType.NOTIFICATION, kind="target_failed", version=4)
    assert matches([], success)
    assert matches(["target_status"], success)
    assert matches(["target_status:SUCCESS"], success)
    assert not matches(["target_status:FAILED"], success)
    assert not matches(["post_status"], success)
    assert matches(["notification:target_failed"], failed_note)
    assert not matches(["notification:connection_needs_reauth"], failed_note)
    assert not matches([], event(EventType.SNAPSHOT, version=1))
    assert check_filter("target_status:SUCCESS") is None
    assert check_filter("share_status:success") is None
    assert "unknown event type" in (check_filter("snapshot") or "")
    assert "has no 'DONE'" in (check_filter("post_status:DONE") or "")


def test_the_payload_carries_the_sse_data_unchanged():
    data = {"post_id": "p1", "status": "PUBLISHED", "version": 3, "note": "é"}
    body = event_payload(event(EventType.POST_STATUS, **data))
    assert json.loads(body) == {
        "id": "01893456789012345-3f2a9c1d",
        "type": "post_status",
        "timestamp": "2030-01-01T09:00:00.000Z",
        "user_id": "alice",
        "data": data,
    }
    assert " " not in body.replace("é", "")  # compact: what is signed is what is sent


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Verdict.DELIVERED),
        (204, Verdict.DELIVERED),
        (None, Verdict.RETRY),
        (408, Verdict.RETRY),
        (429, Verdict.RETRY),
        (500, Verdict.RETRY),
        (503, Verdict.RETRY),
        (410, Verdict.DISABLE),
        (301, Verdict.GIVE_UP),
        (302, Verdict.GIVE_UP),
        (400, Verdict.GIVE_UP),
        (401, Verdict.GIVE_UP),
        (404, Verdict.GIVE_UP),
        (422, Verdict.GIVE_UP),
    ],
)
def test_judge(status, verdict):
    assert judge(status) is verdict


def test_retry_after():
    assert retry_after_s("120", now=NOW) == 120.0
    assert retry_after_s(" 5 ", now=NOW) == 5.0
    assert retry_after_s("Tue, 01 Jan 2030 09:01:00 GMT", now=NOW) == 60.0
    assert retry_after_s("Tue, 01 Jan 2030 08:00:00 GMT", now=NOW) == 0.0
    assert retry_after_s("soon", now=NOW) is None
    assert retry_after_s(None, now=NOW) is None
    assert retry_after_s("", now=NOW) is None


def test_the_default_schedule_spans_about_three_days():
    backoff = Backoff(base_s=5, max_s=36000, jitter=0.2, window_s=3 * 86400)
    at, attempts = NOW, 1
    delays = []
    while True:
        nxt = backoff.next_attempt_at(
            attempts, round_started_at=NOW, now=at, retry_after=None, factor=0.0
        )
        if nxt is None:
            break
        delays.append((nxt - at).total_seconds())
        at, attempts = nxt, attempts + 1
    assert delays[:4] == [5, 10, 20, 40]
    assert max(delays) == 36000
    assert timedelta(days=2, hours=12) < at - NOW <= timedelta(days=3)
    assert 15 <= attempts <= 25


def test_jitter_and_retry_after_and_the_window():
    backoff = Backoff(base_s=10, max_s=100, jitter=0.2, window_s=300)
    low = backoff.next_attempt_at(1, round_started_at=NOW, now=NOW, retry_after=None, factor=-1)
    high = backoff.next_attempt_at(1, round_started_at=NOW, now=NOW, retry_after=None, factor=1)
    assert low == NOW + timedelta(seconds=8)
    assert high == NOW + timedelta(seconds=12)
    capped = backoff.next_attempt_at(9, round_started_at=NOW, now=NOW, retry_after=None, factor=1)
    assert capped == NOW + timedelta(seconds=100)
    told = backoff.next_attempt_at(1, round_started_at=NOW, now=NOW, retry_after=250, factor=1)
    assert told == NOW + timedelta(seconds=250)  # Retry-After wins, even over the cap
    late = NOW + timedelta(seconds=290)
    assert (
        backoff.next_attempt_at(3, round_started_at=NOW, now=late, retry_after=None, factor=0)
        is None
    )
    assert (
        backoff.next_attempt_at(1, round_started_at=NOW, now=NOW, retry_after=301, factor=0) is None
    )


def endpoint_with(**health) -> EndpointRecord:
    return EndpointRecord(
        id="we_1",
        owner_id="alice",
        audience="user:alice",
        url="https://example.com/",
        secrets=[],
        created_at=NOW,
        updated_at=NOW,
        **health,
    )


def test_health_is_written_rarely_and_disables_after_a_long_failing_episode():
    day = 86400.0
    at = NOW + timedelta(days=10)
    change = health_change
    fresh = endpoint_with()
    assert change(fresh, Verdict.DELIVERED, now=at, disable_after_s=5 * day) is HealthChange.SUCCESS
    assert change(fresh, Verdict.RETRY, now=at, disable_after_s=5 * day) is HealthChange.FAILING
    assert change(fresh, Verdict.DISABLE, now=at, disable_after_s=5 * day) is HealthChange.DISABLE
    # Healthy and recently written: nothing to write.
    healthy = endpoint_with(last_success_at=at - timedelta(seconds=30))
    assert change(healthy, Verdict.DELIVERED, now=at, disable_after_s=5 * day) is HealthChange.NONE
    # A failing episode that started 2 days ago: nothing to write; after 5 days, disable.
    failing = endpoint_with(
        last_success_at=at - timedelta(days=3), failing_since=at - timedelta(days=2)
    )
    assert failing.failing_episode_start == at - timedelta(days=2)
    assert change(failing, Verdict.GIVE_UP, now=at, disable_after_s=5 * day) is HealthChange.NONE
    later = at + timedelta(days=3, seconds=1)
    assert change(failing, Verdict.RETRY, now=later, disable_after_s=5 * day) is (
        HealthChange.DISABLE
    )
    # A success closes the episode at once; an idle endpoint's first failure starts a new one.
    assert change(failing, Verdict.DELIVERED, now=at, disable_after_s=5 * day) is (
        HealthChange.SUCCESS
    )
    closed = endpoint_with(
        last_success_at=at - timedelta(days=6), failing_since=at - timedelta(days=7)
    )
    assert closed.failing_episode_start is None
    assert change(closed, Verdict.RETRY, now=at, disable_after_s=5 * day) is HealthChange.FAILING
    # A failure right after an episode was closed is not written again within the minute.
    flapping = endpoint_with(
        last_success_at=at - timedelta(seconds=5), failing_since=at - timedelta(seconds=20)
    )
    assert change(flapping, Verdict.RETRY, now=at, disable_after_s=5 * day) is HealthChange.NONE
