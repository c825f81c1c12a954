"""The relay hub: per-user fan-out, isolation, bounded buffers (no I/O)."""

from __future__ import annotations

import asyncio

import pytest

from sharecast.relay.hub import CloseReason, Connection, Frame, Hub, RecentIds


def frame(n: int) -> Frame:
    return Frame(id=f"{n:017d}-0000000{n % 10}", payload=f"data: {n}\n\n".encode())


def drain(conn: Connection) -> list[str]:
    async def run() -> list[str]:
        ids = []
        while conn.pending:
            got = await conn.next()
            assert got is not None
            ids.append(got.id)
        return ids

    return asyncio.run(run())


def test_fan_out_reaches_every_connection_of_the_user() -> None:
    hub = Hub(capacity=8)
    a1, a2 = hub.subscribe("alice"), hub.subscribe("alice")
    assert hub.publish("alice", frame(1)) == 2
    assert hub.publish("alice", frame(2)) == 2
    assert drain(a1) == [frame(1).id, frame(2).id]
    assert drain(a2) == [frame(1).id, frame(2).id]
    assert len(hub) == 2
    assert hub.users == 1
    assert hub.stats.delivered == 4


def test_users_are_isolated() -> None:
    hub = Hub(capacity=8)
    alice, bob = hub.subscribe("alice"), hub.subscribe("bob")
    hub.publish("alice", frame(1))
    hub.publish("bob", frame(2))
    assert hub.publish("carol", frame(3)) == 0
    assert drain(alice) == [frame(1).id]
    assert drain(bob) == [frame(2).id]


def test_overflow_closes_only_the_slow_connection() -> None:
    hub = Hub(capacity=3)
    slow, fast, other = hub.subscribe("alice"), hub.subscribe("alice"), hub.subscribe("bob")
    closed: list[CloseReason] = []
    slow.on_close(closed.append)
    received: list[str] = []
    hub.publish("bob", frame(100))
    for n in range(1, 6):
        hub.publish("alice", frame(n))
        received += drain(fast)  # the fast reader keeps up; the slow one never reads
    assert closed == [CloseReason.OVERFLOW]
    assert slow.closed is CloseReason.OVERFLOW
    assert slow.pending == 0  # its buffer is released at once
    assert received == [frame(n).id for n in range(1, 6)]
    assert fast.closed is None
    assert other.closed is None
    assert other.pending == 1
    assert hub.connections("alice") == frozenset({fast})
    assert hub.stats.overflows == 1
    assert asyncio.run(slow.next()) is None


def test_next_waits_for_a_frame_and_wakes_on_close() -> None:
    async def run() -> None:
        hub = Hub(capacity=4)
        conn = hub.subscribe("alice")
        waiter = asyncio.create_task(conn.next())
        await asyncio.sleep(0)
        assert not waiter.done()
        hub.publish("alice", frame(7))
        assert await asyncio.wait_for(waiter, 1) == frame(7)
        waiter = asyncio.create_task(conn.next())
        await asyncio.sleep(0)
        assert hub.close_all(CloseReason.SHUTDOWN) == 1
        assert await asyncio.wait_for(waiter, 1) is None
        assert conn.closed is CloseReason.SHUTDOWN
        assert len(hub) == 0
        assert hub.publish("alice", frame(8)) == 0

    asyncio.run(run())


def test_unsubscribe_is_idempotent_and_first_close_reason_wins() -> None:
    hub = Hub(capacity=2)
    conn = hub.subscribe("alice")
    conn.close(CloseReason.MAX_DURATION)
    hub.unsubscribe(conn)
    hub.unsubscribe(conn)
    assert conn.closed is CloseReason.MAX_DURATION
    assert len(hub) == 0
    assert hub.users == 0
    assert not conn.offer(frame(1))


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        Connection("alice", 0)
    with pytest.raises(ValueError, match="capacity"):
        RecentIds(0)


def test_recent_ids_are_bounded_and_keep_the_newest() -> None:
    ids = RecentIds(3)
    for n in range(5):
        ids.add(str(n))
    assert len(ids) == 3
    assert "0" not in ids
    assert "4" in ids
    ids.add("2")  # re-adding refreshes: "3" is now the oldest
    ids.resize(2)
    assert "3" not in ids
    assert "2" in ids
    assert "4" in ids
