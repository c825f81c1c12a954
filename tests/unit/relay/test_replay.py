"""Which stored events a resumed stream gets (pure logic of ``sharecast.relay.replay``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sharecast.domain.events import Event, new_event_id
from sharecast.domain.statuses import EventType
from sharecast.relay.replay import LogEntry, select_replay

T0 = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


def entry(stamp_ms: int, commit_ms: int, published_ms: int | None) -> LogEntry:
    at = T0 + timedelta(milliseconds=stamp_ms)
    event = Event(
        id=new_event_id(at),
        user_id="u",
        type=EventType.POST_STATUS,
        data={"post_id": "p", "version": 1},
        created_at=at,
    )
    published = None if published_ms is None else T0 + timedelta(milliseconds=published_ms)
    return LogEntry(
        event=event, committed=T0 + timedelta(milliseconds=commit_ms), published=published
    )


def test_without_knowledge_every_event_of_the_window_but_the_last_is_sent() -> None:
    # Pub/Sub delivers without order: an event published long before the client's last one
    # may still have been on its way when the stream ended (the console soak lost such events
    # while the relay trusted publish times), so nothing is skipped on a guess.
    a, b, last, d = (
        entry(0, 10, 20),
        entry(100, 110, 120),
        entry(200, 210, 220),
        entry(300, 310, None),
    )
    assert select_replay([a, b, last, d], last, after=T0) == [a, b, d]


def test_events_the_previous_stream_delivered_are_not_resent() -> None:
    a, b, last, d = (
        entry(0, 10, 20),
        entry(100, 110, 120),
        entry(200, 210, 220),
        entry(300, 310, 320),
    )
    known = frozenset({a.id, last.id})
    assert select_replay([a, b, last, d], last, after=T0, known=known) == [b, d]


def test_an_earlier_id_committed_later_is_replayed() -> None:
    last = entry(100, 110, 115)
    late = entry(50, 130, 140)  # stamped before `last`, committed after it
    assert select_replay([late, last], last, after=T0, known=frozenset({last.id})) == [late]


def test_replay_is_in_commit_order() -> None:
    last = entry(0, 10, 20)
    x, y = entry(300, 400, None), entry(200, 500, None)  # y has the smaller id, commits later
    assert select_replay([last, y, x], last, after=T0) == [x, y]


def test_after_a_snapshot_cursor_only_later_commits_are_sent() -> None:
    before, after = entry(0, 10, 20), entry(5, 40, None)
    cut = T0 + timedelta(milliseconds=30)
    assert select_replay([before, after], None, after=cut) == [after]


def test_latency_histogram_percentiles_and_gc_pauses() -> None:
    import gc

    from sharecast.relay.latency import GcPauses, LatencyHistogram

    histogram = LatencyHistogram()
    for ms in range(1, 101):  # 1..100 ms
        histogram.record(ms / 1000)
    # Bucket upper bounds: at most one bucket (1 ms above 10 ms) over the true value.
    assert 50.0 <= histogram.percentile_ms(0.50) <= 51.0
    assert 99.0 <= histogram.percentile_ms(0.99) <= 100.0
    histogram.record(0.000_005)
    assert histogram.percentile_ms(0.001) == 0.01  # the first 10 µs bucket
    histogram.record(5.0)  # beyond a second: the last bucket
    assert histogram.summary()["max_ms"] == 5000.0
    histogram.reset()
    assert histogram.summary() == {"count": 0, "p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}

    pauses = GcPauses()
    pauses.install()
    try:
        gc.collect()
    finally:
        pauses.uninstall()
    assert pauses.summary()["gen2_count"] >= 1
