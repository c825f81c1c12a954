"""What one operation costs (issue 15 item 1): Firestore round trips, reads, writes, commits and
queries, Pub/Sub publishes, Cloud Tasks calls and CPU-ms of our code, per operation:

- ``create post``: ``POST /posts/multipost`` with two targets (Facebook, X) and an
  ``Idempotency-Key``, through the real Flask app (auth, rate limit, idempotency, validation,
  storage, events, tasks), and the same without the key;
- ``target attempt``: one delivery of a publish task that publishes (claim, the sandbox call,
  record, rollup, events);
- ``sweep, nothing to do``: one minutely sweep when nothing is due;
- ``SSE replay``: the relay's ``Last-Event-ID`` resume with the 20 events after an id (a read
  of the last event, then of the window).

The calls are counted by wrapping the Google clients' gRPC channels with an interceptor
(``tests/support/cost.py``), not estimated. The functions run in this process against the real
emulators and the sandbox (started here, ports offset by ``SHARECAST_BENCH_PORT_OFFSET`` or
22000); CPU-ms is this process's CPU time (every thread), so it is our code and the Google
client libraries, not the emulators'. Tasks go to a paused queue of their own.

    python tests/bench/bench_cost.py [--runs 20] [--json out.json] [--compare before.json]

``--compare`` prints the table of a previous run (e.g. main's) beside this one.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path[:0] = [
    str(Path(__file__).resolve().parents[2]),
    str(Path(__file__).resolve().parents[2] / "functions"),
]

from infra.localenv import service_env  # noqa: E402
from tests.support.bench import bench_ports  # noqa: E402
from tests.support.cost import COLUMNS, Tally, counting_channels, format_table  # noqa: E402

QUEUE = "publish-bench"


def _measure(tally: Tally, runs: int, operation: Any) -> dict[str, float]:
    """Run ``operation(i)`` ``runs`` times; the calls and CPU-ms per run."""
    before = tally.snapshot()
    cpu = time.process_time()
    for i in range(runs):
        operation(i)
    spent_ms = (time.process_time() - cpu) * 1000
    after = tally.snapshot()
    after.subtract(before)
    row = {c: after.get(c, 0) / runs for c in COLUMNS if c != "cpu_ms"}
    row["cpu_ms"] = spent_ms / runs
    return row


def run(runs: int) -> dict[str, dict[str, float]]:
    """Start the emulators and the sandbox, then measure each operation ``runs`` times."""
    from google.api_core.exceptions import NotFound as QueueMissing
    from google.cloud import tasks_v2

    from infra.stack import Stack
    from sharecast.api import create_app
    from sharecast.app import AppContext
    from sharecast.auth import issue_dev_token
    from sharecast.clients import Clients
    from sharecast.config import Settings
    from sharecast.publisher.pipeline import run_attempt
    from sharecast.relay.replay import resume
    from sharecast.shares.outcome import sync_share_target
    from sharecast.sweeper.report import SweepKind
    from sharecast.sweeper.run import run_sweep
    from sharecast.tasks import PublishTask
    from tests.conftest import STACK_ENV

    ports = bench_ports(22000)
    os.environ.update({**service_env(ports), **STACK_ENV})
    stack = Stack(
        ports,
        workdir=Path(tempfile.mkdtemp(prefix="sharecast-cost-")),
        only=("firestore", "pubsub", "storage", "tasks", "sandbox"),
        extra_env=STACK_ENV,
    )
    stack.start()
    tally = Tally()
    try:
        with counting_channels(tally):
            settings = Settings(tasks_queue=QUEUE)
            clients = Clients(settings)
            ctx = AppContext(
                settings=settings, clients=clients, outcome_consumers=(sync_share_target,)
            )
            parent = f"projects/{settings.google_cloud_project}/locations/{settings.tasks_location}"
            try:
                clients.tasks.get_queue(name=settings.queue_path)
            except QueueMissing:
                clients.tasks.create_queue(
                    parent=parent, queue=tasks_v2.Queue(name=settings.queue_path)
                )
            clients.tasks.pause_queue(name=settings.queue_path)
            app = create_app(ctx).test_client()
            user = f"cost-{uuid.uuid4().hex[:8]}"
            auth = {"Authorization": f"Bearer {issue_dev_token(settings, user_id=user)}"}
            created: list[dict[str, Any]] = []

            def create(i: int, *, key: bool = True) -> None:
                headers = dict(auth)
                if key:
                    headers["Idempotency-Key"] = uuid.uuid4().hex
                response = app.post(
                    "/posts/multipost",
                    json={
                        "content": f"cost post {i} {uuid.uuid4().hex[:8]}",
                        "platforms": [{"platform": "facebook"}, {"platform": "x"}],
                    },
                    headers=headers,
                )
                assert response.status_code == 202, response.get_data(as_text=True)
                created.append(response.get_json())

            targets: list[tuple[str, str]] = []
            tasks: dict[tuple[str, str], PublishTask] = {}

            def queued() -> dict[tuple[str, str], PublishTask]:
                """The tasks the api queued, as the publisher receives them (their bodies)."""
                names = {f.name for f in dataclasses.fields(PublishTask)}
                out = {}
                request = tasks_v2.ListTasksRequest(
                    parent=settings.queue_path, response_view=tasks_v2.Task.View.FULL
                )
                for task in clients.tasks.list_tasks(request=request):
                    body = json.loads(task.http_request.body)
                    parsed = PublishTask(**{k: v for k, v in body.items() if k in names})
                    out[(parsed.post_id, parsed.target_id)] = parsed
                return out

            def attempt(i: int) -> None:
                post_id, target_id = targets[i]
                report = run_attempt(ctx, task=tasks[(post_id, target_id)])
                assert report.status == "SUCCESS", report

            for i in range(3):  # warm-up: connections, caches, the sandbox's connections
                create(i)
            targets[:] = [(p["postId"], r["targetId"]) for p in created for r in p["results"]]
            tasks.update(queued())
            for i in range(len(targets)):
                attempt(i)
            created.clear()

            rows: dict[str, dict[str, float]] = {}
            rows["create post (2 targets, Idempotency-Key)"] = _measure(tally, runs, create)
            rows["create post (2 targets, no key)"] = _measure(
                tally, runs, lambda i: create(i, key=False)
            )
            targets[:] = [(p["postId"], r["targetId"]) for p in created for r in p["results"]]
            tasks.update(queued())
            rows["target attempt (publishes)"] = _measure(tally, len(targets), attempt)
            time.sleep(float(STACK_ENV["OUTBOX_GRACE_S"]) + 1)  # stragglers are due for sweeps

            def sweep(_: int) -> None:
                report = run_sweep(ctx, kind=SweepKind.MINUTELY, now=ctx.now())
                assert not report.errors, report.errors

            sweep(0)  # the first sweep may repair stragglers; the measured ones find nothing
            rows["sweep, nothing to do"] = _measure(tally, runs, sweep)
            events = [
                s.id
                for s in ctx.db.collection("users")
                .document(user)
                .collection("events")
                .order_by("id")
                .stream()
            ]
            after_id = events[-21]

            def replay(_: int) -> None:
                got = resume(
                    ctx.db,
                    user_id=user,
                    last_event_id=after_id,
                    overlap_s=0.0,
                    max_age_s=settings.relay_replay_max_age_s,
                    limit=settings.relay_replay_limit,
                    snapshot_posts=settings.relay_snapshot_posts,
                )
                assert got.reason == "replay", got
                assert len(got.frames) == 20, len(got.frames)

            rows["SSE replay (20 events)"] = _measure(tally, runs, replay)
            return rows
    finally:
        stack.stop()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", type=Path, help="write the table here")
    parser.add_argument("--compare", type=Path, help="a previous --json output to show beside")
    parser.add_argument("--label", default="this run")
    args = parser.parse_args()
    rows = run(args.runs)
    if args.compare and args.compare.exists():
        before = json.loads(args.compare.read_text())
        print(format_table(before["rows"], title=f"cost per operation: {before['label']}"))
        print()
    print(format_table(rows, title=f"cost per operation: {args.label}"))
    if args.compare and args.compare.exists():
        print()
        print("change (this run minus the compared one):")
        diff = {
            name: {c: row.get(c, 0) - before["rows"].get(name, {}).get(c, 0) for c in COLUMNS}
            for name, row in rows.items()
        }
        print(format_table(diff, title=""))
    if args.json:
        args.json.write_text(json.dumps({"label": args.label, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
