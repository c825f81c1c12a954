"""Relay benchmark (not part of ``make test``): many SSE streams on one relay process.

Starts the Firestore and Pub/Sub emulators and the relay (a separate uvicorn process, so its
memory can be read from ``/proc/<pid>/status``), opens ``--streams`` SSE streams over loopback
(one user each), publishes ``--events`` events through Pub/Sub to those users at ``--rate``
events/s (body and attributes exactly as ``sharecast.events.publish_events`` sends them) and
prints: streams open, events/s delivered, delivery latency p50/p99 (publish call → ``id:`` line
read by the client) and relay RSS per stream. Everything stops within ``--max-s`` seconds.

Run from the repository root::

    .venv/bin/python tests/bench/bench_relay.py [--streams 2000] [--events 10000] [--rate 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "functions")]

import httpx  # noqa: E402
from google.cloud import pubsub_v1  # noqa: E402

from infra.localenv import Ports  # noqa: E402
from infra.stack import Stack  # noqa: E402
from sharecast.auth import issue_dev_token  # noqa: E402
from sharecast.config import Settings  # noqa: E402
from sharecast.domain.events import Event  # noqa: E402
from sharecast.domain.statuses import EventType  # noqa: E402

JWT_SECRET = "bench-secret-0123456789abcdef-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up") from None
            time.sleep(0.2)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds used by ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def spawn(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env, start_new_session=True
    )


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


class Streams:
    """Raw asyncio SSE clients (HTTP/1.0, so the body is the bare event stream)."""

    def __init__(self, port: int, settings: Settings) -> None:
        self.port = port
        self.settings = settings
        self.ready = 0
        self.failed = 0
        self.received: dict[str, float] = {}
        self.tasks: list[asyncio.Task[None]] = []

    async def one(self, user_id: str, opened: asyncio.Semaphore) -> None:
        token = issue_dev_token(self.settings, user_id=user_id)
        async with opened:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.write(
                    f"GET /events HTTP/1.0\r\nHost: relay\r\n"
                    f"Authorization: Bearer {token}\r\n\r\n".encode()
                )
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(head[:40])
                if not (await reader.readline()).startswith(b"retry:"):
                    raise RuntimeError("no retry hint")
            except Exception:
                self.failed += 1
                return
        self.ready += 1
        try:
            while line := await reader.readline():
                if line.startswith(b"id: "):
                    self.received[line[4:-1].decode()] = time.monotonic()
        finally:
            writer.close()

    def open(self, users: list[str], concurrency: int = 200) -> None:
        gate = asyncio.Semaphore(concurrency)
        self.tasks = [asyncio.create_task(self.one(u, gate)) for u in users]

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def publish(topic: str, users: list[str], count: int, rate: float, deadline: float) -> dict:
    """Publish ``count`` events round-robin to ``users`` at ``rate``/s; id → publish time."""
    publisher = pubsub_v1.PublisherClient(
        batch_settings=pubsub_v1.types.BatchSettings(max_latency=0.005, max_messages=100)
    )
    sent: dict[str, float] = {}
    futures = []
    start = time.monotonic()
    for n in range(count):
        due = start + n / rate if rate > 0 else 0
        if (pause := due - time.monotonic()) > 0:
            time.sleep(pause)
        if time.monotonic() > deadline:
            break
        user = users[n % len(users)]
        event = Event.new(
            user_id=user,
            type=EventType.POST_STATUS,
            data={"post_id": f"p{n}", "status": "PUBLISHED", "version": 1},
        )
        body = json.dumps(event.wire(), separators=(",", ":"), default=str).encode()
        sent[event.id] = time.monotonic()
        futures.append(publisher.publish(topic, body, user_id=user, type=event.type))
    for future in futures:
        future.result(timeout=max(1.0, deadline - time.monotonic()))
    return sent


async def bench(args: argparse.Namespace, relay_pid: int, port: int, settings: Settings) -> None:
    deadline = time.monotonic() + args.max_s
    users = [f"bench-{n}" for n in range(args.streams)]
    rss_before = rss_kib(relay_pid)
    streams = Streams(port, settings)
    t0 = time.monotonic()
    streams.open(users)
    while streams.ready + streams.failed < args.streams and time.monotonic() < deadline - 20:
        await asyncio.sleep(0.1)
    open_s = time.monotonic() - t0
    await asyncio.sleep(1.0)  # let the relay settle before reading its memory
    rss_after = rss_kib(relay_pid)

    publish_deadline = min(deadline - 5, time.monotonic() + args.events / max(args.rate, 1) + 15)
    t1, cpu1 = time.monotonic(), cpu_s(relay_pid)
    sent = await asyncio.get_running_loop().run_in_executor(
        None, publish, settings.topic_path, users, args.events, args.rate, publish_deadline
    )
    publish_s = time.monotonic() - t1
    while len(streams.received) < len(sent) and time.monotonic() < deadline - 2:
        await asyncio.sleep(0.1)
    got = {i: t for i, t in streams.received.items() if i in sent}
    latencies = sorted((got[i] - sent[i]) * 1000 for i in got)
    span = (max(got.values()) - min(sent.values())) if got else float("nan")
    rss_events = rss_kib(relay_pid)
    relay_cpu = (cpu_s(relay_pid) - cpu1) / max(time.monotonic() - t1, 1e-9)
    await streams.close()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else 0.0

    per_stream = (rss_after - rss_before) / max(streams.ready, 1)
    print(f"streams_requested: {args.streams}")
    print(f"streams_open: {streams.ready}")
    print(f"streams_failed: {streams.failed}")
    print(f"streams_open_s: {open_s:.2f}")
    print(f"events_published: {len(sent)}")
    print(f"events_delivered: {len(got)}")
    print(f"publish_rate_target_per_s: {args.rate}")
    print(f"publish_s: {publish_s:.2f}")
    print(f"events_per_s_delivered: {len(got) / span:.0f}")
    print(f"latency_ms_p50: {pct(0.50):.1f}")
    print(f"latency_ms_p99: {pct(0.99):.1f}")
    print(f"latency_ms_max: {latencies[-1] if latencies else 0.0:.1f}")
    print(f"relay_cpu_share_during_events: {relay_cpu:.2f}")
    print(f"cpus: {os.cpu_count()}")
    print(f"relay_rss_kib_before_streams: {rss_before}")
    print(f"relay_rss_kib_with_streams: {rss_after}")
    print(f"relay_rss_kib_after_events: {rss_events}")
    print(f"relay_rss_kib_per_stream: {per_stream:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=2000)
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--rate", type=float, default=1000.0, help="events/s; 0 = unpaced")
    parser.add_argument("--max-s", type=float, default=60.0, help="overall bound, seconds")
    args = parser.parse_args()
    args.max_s = min(args.max_s, 60.0)

    logs = Path(tempfile.mkdtemp(prefix="bench-relay-"))
    relay_port = free_port()
    # The emulators come from the same stack code as `make run`, on ports of their own.
    emulators = Stack(Ports.from_env(offset=21000), workdir=logs, only=("firestore", "pubsub"))
    os.environ.update(emulators.env)
    env = os.environ.copy()
    relay = None
    try:
        emulators.start()  # also creates the post-status topic
        settings = Settings(google_cloud_project=emulators.project, jwt_secret=JWT_SECRET)
        relay_env = env | {
            "JWT_SECRET": JWT_SECRET,
            "RELAY_INSTANCE_ID": f"bench-{uuid.uuid4().hex[:8]}",
            "LOG_LEVEL": "WARNING",
        }
        relay = spawn(
            [sys.executable, "-m", "uvicorn", "sharecast.relay.main:app", "--app-dir",
             str(REPO / "functions"), "--host", "127.0.0.1", "--port", str(relay_port),
             "--timeout-graceful-shutdown", "8", "--no-access-log", "--backlog", "4096"],
            logs / "relay.log",
            relay_env,
        )  # fmt: skip
        wait_http(f"http://127.0.0.1:{relay_port}/healthz", relay)
        asyncio.run(bench(args, relay.pid, relay_port, settings))
    finally:
        if relay is not None:
            stop(relay, signal.SIGTERM)
        emulators.stop()
        print(f"logs: {logs}")


if __name__ == "__main__":
    main()
