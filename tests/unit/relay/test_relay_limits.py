"""Per-user limits of the relay (``sharecast.relay.limits`` and the hub's cap). No I/O."""

from __future__ import annotations

import pytest

from sharecast.relay.hub import CloseReason, Hub
from sharecast.relay.limits import OpenRateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bursts_up_to_the_rate_then_refills_at_it() -> None:
    clock = Clock()
    limiter = OpenRateLimiter(6, clock=clock)  # 6 a minute: one every 10 s
    assert [limiter.take("alice") for _ in range(6)] == [0.0] * 6
    assert limiter.take("alice") == pytest.approx(10.0)
    assert limiter.take("bob") == 0.0  # per user
    clock.now += 5
    assert limiter.take("alice") == pytest.approx(5.0)
    clock.now += 5
    assert limiter.take("alice") == 0.0
    assert limiter.refused == 2


def test_idle_buckets_are_forgotten_when_the_table_is_full() -> None:
    clock = Clock()
    limiter = OpenRateLimiter(60, max_users=3, clock=clock)
    for user in ("a", "b", "c"):
        limiter.take(user)
    clock.now += 61  # every bucket is full again
    limiter.take("d")
    assert len(limiter) == 1


def test_the_cap_closes_the_oldest_stream_of_that_user_only() -> None:
    hub = Hub(capacity=4)
    first, second = hub.subscribe("alice", limit=2), hub.subscribe("alice", limit=2)
    bob = hub.subscribe("bob", limit=2)
    third = hub.subscribe("alice", limit=2)
    assert first.closed is CloseReason.SUPERSEDED
    assert hub.connections("alice") == frozenset({second, third})
    assert bob.closed is None
    assert hub.stats.superseded == 1
    assert len(hub) == 3
    solo = hub.subscribe("carol", limit=1)
    again = hub.subscribe("carol", limit=1)
    assert solo.closed is CloseReason.SUPERSEDED
    assert hub.connections("carol") == frozenset({again})
