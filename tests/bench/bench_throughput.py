"""Publishing throughput and create latency on a ``make run``-like stack (issue 15 item 2).

Starts the whole local stack with ``make run``'s settings (ports offset by
``SHARECAST_BENCH_PORT_OFFSET`` or 23000, loopback only; the publish queue's limits come from
``terraform/tasks.tf`` as in ``make run``), then ``--clients`` threads (default 32) acting as
``--users`` users (default 30) send ``--posts`` posts (default 400) with two targets each
(Facebook and X, zero-fault sandbox) as fast as the API answers. Prints:

- ``POST /posts/multipost`` latency p50/p90/p99/max (ms) and requests/s while creating;
- target publishes/s: targets on the sandbox's ledger divided by the time from the first
  request to the last post's arrival on the ledger, and the same over the middle 80 % of the
  arrivals (the steady rate, without the ramp-up and the tail);
- exactly-once: every target on the ledger once (duplicates and missing are counted);
- the CPU-ms each process of the stack spent per target published (from ``/proc``), to see
  where the time goes.

``--compare before.json`` prints a previous run (e.g. main's) beside this one; ``--json`` writes
this run. Bounded in count and time: at most ``--posts`` requests and ``--timeout`` seconds.

    python tests/bench/bench_throughput.py [--posts 400] [--json out.json] [--compare old.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path[:0] = [
    str(Path(__file__).resolve().parents[2]),
    str(Path(__file__).resolve().parents[2] / "functions"),
]

from infra.localenv import Ports, service_env  # noqa: E402
from tests.support.bench import bench_ports  # noqa: E402


def group_cpu_s(pgid: int) -> float:
    """CPU seconds (user + system) of every live process in process group ``pgid``."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the command: state, ppid, pgrp, ...
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def stack_cpu_s(stack: Any) -> dict[str, float]:
    """CPU seconds so far of each service of ``stack`` (each runs in its own process group)."""
    return {
        name: group_cpu_s(service.process.pid)
        for name, service in stack.services.items()
        if service.process is not None
    }


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def _when(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def run(ports: Ports, *, posts: int, clients: int, users: int, timeout_s: float) -> dict[str, Any]:
    """Fire the posts at the running stack and wait for the ledger; the figures."""
    from tests.support.api import ApiClient
    from tests.support.sandbox import Sandbox

    sandbox = Sandbox.of_stack(ports)
    run_id = uuid.uuid4().hex[:8]
    names = [f"tp-{run_id}-{n}" for n in range(users)]
    local = threading.local()

    def client_for(user: str) -> ApiClient:
        cache = getattr(local, "clients", None)
        if cache is None:
            cache = local.clients = {}
        if user not in cache:
            cache[user] = ApiClient(ports, user)
        return cache[user]

    def create(n: int) -> float:
        api = client_for(names[n % users])
        sent = time.monotonic()
        response = api.post(
            "/posts/multipost",
            json={
                "content": f"throughput {run_id} post {n}",
                "platforms": [{"platform": "facebook"}, {"platform": "x"}],
            },
        )
        elapsed = (time.monotonic() - sent) * 1000
        assert response.status_code == 202, response.text
        return elapsed

    # Warm-up: every user's sandbox connections exist and every process has its clients.
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda u: client_for(u).get("/posts?limit=1"), names))
    started_wall = time.time()
    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        latencies = list(pool.map(create, range(posts)))
    created_s = time.monotonic() - started
    expected = 2 * posts
    prefix = f"throughput {run_id} "
    deadline = time.monotonic() + timeout_s
    mine: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        mine = [p for p in sandbox.ledger() if p["text"].startswith(prefix)]
        if len(mine) >= expected:
            break
        time.sleep(0.5)
    arrivals = sorted(_when(p["created_at"]) for p in mine)
    keys = Counter((p["platform"], p["account_id"], p["text"]) for p in mine)
    total_s = (arrivals[-1] - started_wall) if arrivals else float("nan")
    low, high = int(len(arrivals) * 0.1), int(len(arrivals) * 0.9) - 1
    steady = (
        (high - low) / (arrivals[high] - arrivals[low])
        if high > low and arrivals[high] > arrivals[low]
        else float("nan")
    )
    return {
        "posts": posts,
        "clients": clients,
        "users": users,
        "post_ms_p50": percentile(latencies, 50),
        "post_ms_p90": percentile(latencies, 90),
        "post_ms_p99": percentile(latencies, 99),
        "post_ms_max": max(latencies),
        "posts_per_s_created": posts / created_s,
        "targets_published": len(mine),
        "target_publishes_per_s": len(mine) / total_s if total_s else float("nan"),
        "target_publishes_per_s_steady": steady,
        "duplicates": sum(n - 1 for n in keys.values() if n > 1),
        "missing": max(0, expected - len(keys)),
        "load_average_1m": os.getloadavg()[0],
    }


FIGURES = (
    ("post_ms_p50", "POST p50 ms"),
    ("post_ms_p90", "POST p90 ms"),
    ("post_ms_p99", "POST p99 ms"),
    ("post_ms_max", "POST max ms"),
    ("posts_per_s_created", "posts created/s"),
    ("target_publishes_per_s", "target publishes/s"),
    ("target_publishes_per_s_steady", "  steady (middle 80 %)"),
    ("targets_published", "targets on the ledger"),
    ("duplicates", "duplicates"),
    ("missing", "missing"),
    ("load_average_1m", "load average (1 min)"),
)


def print_side_by_side(runs: list[tuple[str, dict[str, Any]]]) -> None:
    """One column per run; then the CPU-ms each service of the stack spent per target published
    (its whole process group: the emulators, the functions, the sandbox, the relay)."""
    print(f"{'':<26}" + "".join(f"{label:>22}" for label, _ in runs))
    cpu_keys = sorted({k for _, f in runs for k in f if k.startswith("cpu_ms_per_target_")})
    rows = [
        *FIGURES,
        *((k, "  CPU-ms/target " + k.removeprefix("cpu_ms_per_target_")) for k in cpu_keys),
    ]
    for key, name in rows:
        cells = "".join(f"{figures.get(key, float('nan')):>22.1f}" for _, figures in runs)
        print(f"{name:<26}{cells}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=400)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--label", default="this run")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--compare", type=Path)
    args = parser.parse_args()
    ports = bench_ports(23000)
    os.environ.update(service_env(ports))
    from infra.stack import Stack

    stack = Stack(ports, workdir=Path(tempfile.mkdtemp(prefix="sharecast-throughput-")))
    stack.start()
    try:
        cpu_before = stack_cpu_s(stack)
        figures = run(
            ports, posts=args.posts, clients=args.clients, users=args.users, timeout_s=args.timeout
        )
        cpu_after = stack_cpu_s(stack)
    finally:
        stack.stop()
    published = max(1, figures["targets_published"])
    for name, spent in cpu_after.items():
        figures[f"cpu_ms_per_target_{name}"] = (
            (spent - cpu_before.get(name, 0.0)) * 1000 / published
        )
    runs = [(args.label, figures)]
    if args.compare and args.compare.exists():
        before = json.loads(args.compare.read_text())
        runs.insert(0, (before["label"], before["figures"]))
    print(
        f"{args.posts} posts x 2 targets, {args.clients} clients as {args.users} users, "
        "zero-fault sandbox:"
    )
    print_side_by_side(runs)
    if args.json:
        args.json.write_text(json.dumps({"label": args.label, "figures": figures}, indent=2))
    return 0 if figures["duplicates"] == 0 and figures["missing"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
