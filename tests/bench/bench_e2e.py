"""End-to-end latency: ``POST /posts/multipost`` → final ``post_status`` SSE frame.

Starts the whole local stack (ports offset by ``SHARECAST_BENCH_PORT_OFFSET`` or 20000 so it
never clashes with ``make run`` or tests), then for N posts (default 30, two sandbox targets
each, sequential, loopback only) measures the time from sending the request to receiving the
``PUBLISHED`` frame on an already open SSE stream. Prints the first (cold) post, then
p50/p90/p99/max of the rest, in ms. Not part of ``make test``.

    python tests/bench/bench_e2e.py [--posts 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [
    str(Path(__file__).resolve().parents[2]),
    str(Path(__file__).resolve().parents[2] / "functions"),
]

from infra.localenv import service_env  # noqa: E402
from tests.support.bench import bench_ports  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=30)
    args = parser.parse_args()
    ports = bench_ports(20000)
    os.environ.update(service_env(ports))
    from infra.stack import Stack
    from tests.support.api import ApiClient
    from tests.support.sse import SSEClient

    stack = Stack(ports, workdir=Path(tempfile.mkdtemp(prefix="sharecast-bench-")))
    started = time.monotonic()
    stack.start()
    print(f"stack started in {time.monotonic() - started:.1f} s")
    try:
        api = ApiClient(ports, "bench-user")
        stream = SSEClient(f"http://127.0.0.1:{ports.relay}/events?auth_token={api.token}")
        assert stream.wait_connected() == 200
        latencies: list[float] = []
        for n in range(args.posts):
            sent = time.monotonic()
            response = api.post(
                "/posts/multipost",
                json={
                    "content": f"bench post {n} {time.time_ns()}",
                    "platforms": [{"platform": "facebook"}, {"platform": "x"}],
                },
            )
            response.raise_for_status()
            post_id = response.json()["postId"]
            stream.wait_for(
                lambda fs, p=post_id: any(
                    f.event == "post_status"
                    and f.data["post_id"] == p
                    and f.data["status"] == "PUBLISHED"
                    for f in fs
                ),
                timeout=60,
            )
            latencies.append((time.monotonic() - sent) * 1000)
        stream.close()
        cold, warm = latencies[0], latencies[1:] or latencies
        print(f"e2e multipost→final SSE frame, {len(latencies)} posts (2 targets each):")
        print(f"  first post (cold processes): {cold:.0f} ms")
        print(
            f"  warm: p50 {statistics.median(warm):.0f} ms  p90 {percentile(warm, 90):.0f} ms"
            f"  p99 {percentile(warm, 99):.0f} ms  max {max(warm):.0f} ms"
        )
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
