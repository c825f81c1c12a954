"""Webhooks: event → delivery latency (p50/p99) and deliveries per second, through the whole
local stack (outbox fan-out, Cloud Tasks emulator, the webhook_delivery function, the sandbox's
verifying receiver on loopback), and what the fan-out costs a flush.

Runs on ports offset by ``SHARECAST_BENCH_PORT_OFFSET`` (default 20000). Events are committed
and flushed by this process exactly as the publisher does (``Outbox.add`` in a batch, then
``flush`` with the webhook consumer); latency is from the event's ``created_at`` to the moment
the receiver got the delivery. Not part of ``make test``.

    python tests/bench/bench_webhooks.py [--latency-events 200] [--burst-events 2000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path[:0] = [
    str(Path(__file__).resolve().parents[2]),
    str(Path(__file__).resolve().parents[2] / "functions"),
]

from infra.localenv import Ports, service_env  # noqa: E402
from tests.support.bench import bench_ports  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-events", type=int, default=200)
    parser.add_argument("--burst-events", type=int, default=2000)
    parser.add_argument("--flush-size", type=int, default=50)
    args = parser.parse_args()
    ports = bench_ports(20000)
    os.environ.update(service_env(ports))
    from infra.stack import Stack
    from tests.conftest import STACK_ENV

    stack = Stack(
        ports, workdir=Path(tempfile.mkdtemp(prefix="sharecast-webhooks-")), extra_env=STACK_ENV
    )
    stack.start()
    try:
        run(ports, args)
    finally:
        stack.stop()
    return 0


def run(ports: Ports, args: argparse.Namespace) -> None:
    from sharecast.app import AppContext
    from sharecast.config import Settings
    from sharecast.domain.events import Event
    from sharecast.domain.statuses import EventType
    from sharecast.webhooks import fanout
    from tests.support.api import ApiClient
    from tests.support.webhooks import Receiver

    user = f"bench-{time.time_ns() % 10**9}"
    api = ApiClient(ports, user)
    receiver = Receiver(ports)
    created = api.post("/webhooks", json={"url": receiver.url}).json()
    receiver.configure(secrets=[created["secret"]])
    ctx = AppContext.build(Settings(), event_consumers=(fanout.consumer,))
    plain = AppContext.build(Settings())

    def emit(context: AppContext, n: int, who: str = user) -> tuple[list[Event], float]:
        events = [
            Event.new(
                user_id=who,
                type=EventType.TARGET_STATUS,
                data={"post_id": f"p{i}", "target_id": "x-0", "status": "SUCCESS", "version": i},
            )
            for i in range(n)
        ]
        batch = context.db.batch()
        context.outbox.add(batch, events)
        batch.commit()
        started = time.perf_counter()
        context.outbox.flush(events)
        return events, (time.perf_counter() - started) * 1000

    # What the fan-out adds to one flush of one event (the publisher's usual flush).
    for label, context, who in (
        ("flush without webhook consumer", plain, user),
        ("flush, user without endpoints", ctx, f"{user}-none"),
        ("flush, user with one endpoint", ctx, user),
    ):
        costs = [emit(context, 1, who)[1] for _ in range(50)]
        print(f"{label}: p50 {percentile(costs, 50):.1f} ms, p99 {percentile(costs, 99):.1f} ms")
    wait_for(receiver, 50)

    # Latency under light load: one event at a time.
    base = len(receiver.deliveries())
    for _ in range(args.latency_events):
        emit(ctx, 1)
        time.sleep(0.05)
    got = wait_for(receiver, base + args.latency_events)[base:]
    latencies = [latency_ms(d) for d in got]
    print(
        f"event -> delivery latency ({len(latencies)} events, one at a time): "
        f"p50 {percentile(latencies, 50):.0f} ms, p99 {percentile(latencies, 99):.0f} ms, "
        f"max {max(latencies):.0f} ms"
    )

    # Throughput: a burst of flushes of ``flush_size`` events.
    base = len(receiver.deliveries())
    started = time.time()
    for _ in range(args.burst_events // args.flush_size):
        emit(ctx, args.flush_size)
    emitted_s = time.time() - started
    got = wait_for(receiver, base + args.burst_events, timeout_s=900)[base:]
    elapsed = max(d["received_at"] for d in got) - started
    latencies = [latency_ms(d) for d in got]
    print(
        f"burst of {len(got)} events (committed in {emitted_s:.1f} s): "
        f"{len(got) / elapsed:.1f} deliveries/s, latency p50 {percentile(latencies, 50):.0f} ms, "
        f"p99 {percentile(latencies, 99):.0f} ms"
    )
    unverified = sum(1 for d in receiver.deliveries() if d["verified"] is not True)
    print(f"unverified deliveries: {unverified}; mean body {mean_size(got):.0f} bytes")


def latency_ms(delivery: dict) -> float:
    created = datetime.fromisoformat(delivery["body"]["timestamp"].replace("Z", "+00:00"))
    return (delivery["received_at"] - created.timestamp()) * 1000


def mean_size(deliveries: list[dict]) -> float:
    import json

    return statistics.fmean(len(json.dumps(d["body"])) for d in deliveries)


def wait_for(receiver, count: int, timeout_s: float = 300) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while True:
        got = receiver.deliveries()
        if len(got) >= count or time.monotonic() > deadline:
            return got
        time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
