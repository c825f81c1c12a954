"""Relay benchmark (not part of ``make test``): many SSE streams on one relay process, the same
load on nchan, the cost of events nobody here listens to, and the slow-client test under load.

Phases (each bounded in time; everything on 127.0.0.1):

1. **relay**: the Firestore and Pub/Sub emulators and the relay (a separate uvicorn process,
   so its memory can be read from ``/proc``); ``--streams`` SSE streams (one user each) over
   loopback; ``--events`` events published through Pub/Sub at ``--rate``/s, round-robin to
   those users, ``--payload`` bytes of ``data`` each. Prints RSS per idle stream, end-to-end
   latency (publish call → event line read by the client), the Pub/Sub floor measured in the
   same run (publish call → the same message received by a plain subscriber in this process),
   and the relay-internal latency (message received by the relay → frame written to the
   socket, from the relay's own histogram on ``/healthz``), beside how late a 1 ms sleep of a
   separate process wakes up in the same window (the machine's scheduling delay).
2. **unconnected**: ``--events`` more events for users with no stream on the instance: relay
   CPU per event (every instance receives every event; issue 15 item 5).
3. **nchan** (Debian ``nginx`` + ``libnginx-mod-nchan``): one nginx worker, the same number of
   EventSource subscribers, the same rate and payload, published over HTTP; prints RSS per
   stream, latency and the ratios relay/nchan. Skipped, saying so, when nchan is not installed.
4. **slow client under load**: ``test_slow_client_overflow_closes_only_that_stream`` run with
   pytest beside CPU stress processes (one per core), with its own stack.

Run from the repository root::

    .venv/bin/python tests/bench/bench_relay.py [--streams 10000] [--events 10000] [--rate 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
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
NCHAN_MODULE = Path("/usr/lib/nginx/modules/ngx_nchan_module.so")
POST_KEY = b'"post_id":"'


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


def group_rss_kib(pgid: int) -> int:
    """RSS of every process in process group ``pgid`` (nginx master and workers)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError):
                if os.getpgid(int(entry.name)) == pgid:
                    total += rss_kib(int(entry.name))
    return total


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


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else float("nan")


def post_id_of(line: bytes) -> str | None:
    """The ``post_id`` in a ``data:`` line (every bench event has a unique one)."""
    start = line.find(POST_KEY)
    if start < 0:
        return None
    start += len(POST_KEY)
    return line[start : line.index(b'"', start)].decode()


def event_data(n: int, payload: int) -> dict:
    data = {"post_id": f"p{n}", "status": "PUBLISHED", "version": 1}
    pad = payload - len(json.dumps(data, separators=(",", ":"))) - len(',"pad":""')
    return data | {"pad": "x" * max(0, pad)}


class Streams:
    """Raw asyncio SSE clients (HTTP/1.0, so the body is the bare event stream)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.ready = 0
        self.failed = 0
        self.received: dict[str, float] = {}
        self.tasks: list[asyncio.Task[None]] = []

    async def one(self, path: str, headers: str, opened: asyncio.Semaphore) -> None:
        async with opened:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.write(f"GET {path} HTTP/1.0\r\nHost: bench\r\n{headers}\r\n".encode())
                head = await reader.readuntil(b"\r\n\r\n")
                if b" 200 " not in head.split(b"\r\n", 1)[0]:
                    raise RuntimeError(head[:40])
            except Exception:
                self.failed += 1
                return
        self.ready += 1
        try:
            while line := await reader.readline():
                if line.startswith(b"data: "):
                    post_id = post_id_of(line)
                    if post_id:
                        self.received[post_id] = time.monotonic()
        finally:
            writer.close()

    def open(self, requests: list[tuple[str, str]], concurrency: int = 200) -> None:
        gate = asyncio.Semaphore(concurrency)
        self.tasks = [asyncio.create_task(self.one(p, h, gate)) for p, h in requests]

    async def wait_open(self, count: int, deadline: float) -> float:
        started = time.monotonic()
        while self.ready + self.failed < count and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        return time.monotonic() - started

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


class Floor:
    """A plain Pub/Sub subscriber in its own process (so that this process's load does not
    skew it): when each bench message arrives (``time.monotonic``, system-wide on Linux)."""

    def __init__(self, settings: Settings, logs: Path) -> None:
        subscriber = pubsub_v1.SubscriberClient()
        self.path = subscriber.subscription_path(
            settings.google_cloud_project, f"bench-floor-{uuid.uuid4().hex[:8]}"
        )
        subscriber.create_subscription(request={"name": self.path, "topic": settings.topic_path})
        self.out = logs / "floor.json"
        self.proc = spawn(
            [sys.executable, __file__, "--floor", self.path, str(self.out)],
            logs / "floor.log",
            os.environ.copy(),
        )
        ready = logs / "floor.json.ready"
        deadline = time.monotonic() + 30
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.received: dict[str, float] = {}

    def collect(self) -> dict[str, float]:
        """Stop the subscriber and read what it saw."""
        stop(self.proc, signal.SIGTERM)
        with contextlib.suppress(OSError, ValueError):
            self.received = json.loads(self.out.read_text())
        with contextlib.suppress(Exception):
            pubsub_v1.SubscriberClient().delete_subscription(request={"subscription": self.path})
        return self.received


class WakeupProbe:
    """A process that sleeps 1 ms at a time and records how late each wake-up comes
    (milliseconds): the machine's own scheduling delay under the bench's load. No process on
    the machine, the relay included, can answer faster than it is scheduled, so its p99 is a
    floor under the relay-internal p99 measured in the same window."""

    def __init__(self, logs: Path) -> None:
        self.out = logs / "wakeup.json"
        self.proc = spawn([sys.executable, __file__, "--probe", str(self.out)], logs / "probe.log")

    def collect(self) -> list[float]:
        """Stop the probe and read its lateness samples (ms)."""
        stop(self.proc, signal.SIGTERM)
        with contextlib.suppress(OSError, ValueError):
            return list(json.loads(self.out.read_text()))
        return []


def wakeup_probe(out: str) -> None:
    """``--probe`` mode: sleep 1 ms at a time until SIGTERM (at most 10 minutes), then write
    how late each wake-up was (ms) to ``out``."""
    lateness: list[float] = []
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    end = time.monotonic() + 600
    while not done.is_set() and time.monotonic() < end:
        start = time.monotonic()
        time.sleep(0.001)
        lateness.append((time.monotonic() - start - 0.001) * 1000)
    Path(out).write_text(json.dumps([round(x, 4) for x in lateness]))


def floor_subscriber(path: str, out: str) -> None:
    """``--floor`` mode: record arrival times until SIGTERM, then write them to ``out``."""
    received: dict[str, float] = {}

    def callback(message: pubsub_v1.subscriber.message.Message) -> None:
        now = time.monotonic()
        message.ack()
        post_id = post_id_of(message.data)
        if post_id:
            received[post_id] = now

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    future = pubsub_v1.SubscriberClient().subscribe(path, callback)
    Path(out + ".ready").touch()
    done.wait(600)
    future.cancel()
    Path(out).write_text(json.dumps(dict(received)))


def publish_pubsub(
    topic: str, users: list[str], count: int, rate: float, payload: int, deadline: float, base: int
) -> dict[str, float]:
    """Publish ``count`` events round-robin to ``users`` at ``rate``/s; post_id → publish time."""
    publisher = pubsub_v1.PublisherClient(
        batch_settings=pubsub_v1.types.BatchSettings(max_latency=0.001, max_messages=100)
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
        data = event_data(base + n, payload)
        event = Event.new(user_id=user, type=EventType.POST_STATUS, data=data)
        body = json.dumps(event.wire(), separators=(",", ":"), default=str).encode()
        sent[event.data["post_id"]] = time.monotonic()
        futures.append(publisher.publish(topic, body, user_id=user, type=event.type))
    for future in futures:
        future.result(timeout=max(1.0, deadline - time.monotonic()))
    return sent


async def wait_delivered(
    received: dict[str, float], sent: dict[str, float], deadline: float, settle_s: float = 3.0
) -> None:
    """Until every sent event arrived, or nothing new arrived for ``settle_s``, or deadline."""
    last, last_at = -1, time.monotonic()
    while time.monotonic() < deadline:
        got = sum(1 for k in sent if k in received)
        if got >= len(sent):
            return
        if got != last:
            last, last_at = got, time.monotonic()
        elif time.monotonic() - last_at > settle_s:
            return
        await asyncio.sleep(0.1)


def latencies(received: dict[str, float], sent: dict[str, float]) -> list[float]:
    return [(received[k] - t) * 1000 for k, t in sent.items() if k in received]


# --------------------------------------------------------------------------- phases


async def relay_phase(
    args, relay_pid: int, port: int, settings: Settings, logs: Path, out: dict
) -> None:
    deadline = time.monotonic() + args.max_s
    users = [f"bench-{n}" for n in range(args.streams)]
    rss_before = rss_kib(relay_pid)
    streams = Streams(port)
    requests = [
        ("/events", f"Authorization: Bearer {issue_dev_token(settings, user_id=u)}\r\n")
        for u in users
    ]
    streams.open(requests)
    out["relay_streams_open_s"] = await streams.wait_open(len(users), deadline - 30)
    await asyncio.sleep(2.0)  # let the relay settle before reading its memory
    rss_streams = rss_kib(relay_pid)
    floor = await asyncio.to_thread(Floor, settings, logs)
    gc_before = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).json()["gc_pauses"]
    probe = WakeupProbe(logs)
    try:
        t1, cpu1 = time.monotonic(), cpu_s(relay_pid)
        publish_deadline = min(deadline - 10, time.monotonic() + args.events / args.rate + 15)
        sent = await asyncio.to_thread(
            publish_pubsub, settings.topic_path, users, args.events, args.rate, args.payload,
            publish_deadline, 0,
        )  # fmt: skip
        await wait_delivered(streams.received, sent, deadline - 5)
        relay_cpu = (cpu_s(relay_pid) - cpu1) / (time.monotonic() - t1)
    finally:
        await asyncio.to_thread(floor.collect)
        wakeups = await asyncio.to_thread(probe.collect)
    health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).json()
    e2e = latencies(streams.received, sent)
    base = latencies(floor.received, sent)
    internal = health["delivery_latency"]
    handoff = health["handoff_latency"]

    # Phase 2 (streams still open): events for users that have no stream here.
    strangers = [f"stranger-{n}" for n in range(1000)]
    cpu2, t2 = cpu_s(relay_pid), time.monotonic()
    skipped_before = health["messages"]["skipped"]
    extra = await asyncio.to_thread(
        publish_pubsub, settings.topic_path, strangers, args.events, args.rate, args.payload,
        min(deadline - 2, time.monotonic() + args.events / args.rate + 10), 10**7,
    )  # fmt: skip
    skipped = skipped_before
    while skipped - skipped_before < len(extra) and time.monotonic() < deadline - 1:
        await asyncio.sleep(0.2)
        skipped = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).json()["messages"][
            "skipped"
        ]
    unconnected_cpu = cpu_s(relay_pid) - cpu2
    unconnected_s = time.monotonic() - t2
    await streams.close()

    out.update(
        relay_streams_requested=args.streams,
        relay_streams_open=streams.ready,
        relay_streams_failed=streams.failed,
        events_published=len(sent),
        events_delivered=len(e2e),
        relay_rss_kib_before_streams=rss_before,
        relay_rss_kib_with_streams=rss_streams,
        relay_rss_kib_per_stream=(rss_streams - rss_before) / max(streams.ready, 1),
        relay_e2e_ms_p50=pct(e2e, 0.50),
        relay_e2e_ms_p99=pct(e2e, 0.99),
        relay_e2e_ms_max=max(e2e, default=float("nan")),
        pubsub_floor_ms_p50=pct(base, 0.50),
        pubsub_floor_ms_p99=pct(base, 0.99),
        pubsub_floor_received=len(base),
        relay_internal_ms_p50=internal["p50_ms"],
        relay_internal_ms_p99=internal["p99_ms"],
        relay_internal_ms_max=internal["max_ms"],
        relay_internal_samples=internal["count"],
        relay_messages_per_pull_batch=health["messages"]["received"]
        / max(health["messages"]["batches"], 1),
        relay_largest_pull_batch=health["messages"]["largest_batch"],
        relay_handoff_ms_p50=handoff["p50_ms"],
        relay_handoff_ms_p99=handoff["p99_ms"],
        machine_wakeup_late_ms_p50=pct(wakeups, 0.50),
        machine_wakeup_late_ms_p99=pct(wakeups, 0.99),
        machine_wakeup_samples=len(wakeups),
        load_average_1min=os.getloadavg()[0],
        relay_gc_gen2_max_ms=health["gc_pauses"]["gen2_max_ms"],
        relay_gc_gen2_count=health["gc_pauses"]["gen2_count"],
        relay_gc_gen1_max_ms=health["gc_pauses"]["gen1_max_ms"],
        relay_gc_gen2_during_events=health["gc_pauses"]["gen2_count"] - gc_before["gen2_count"],
        relay_gc_gen1_during_events=health["gc_pauses"]["gen1_count"] - gc_before["gen1_count"],
        relay_cpu_share_during_events=relay_cpu,
        unconnected_events=skipped - skipped_before,
        unconnected_cpu_us_per_event=unconnected_cpu / max(skipped - skipped_before, 1) * 1e6,
        unconnected_relay_cpu_share=unconnected_cpu / max(unconnected_s, 1e-9),
    )


NGINX_CONF = """
load_module {module};
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections {connections}; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    nchan_shared_memory_size 256M;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location ~ /sub/(\\w+)$ {{
            nchan_subscriber eventsource;
            nchan_channel_id $1;
            nchan_eventsource_ping_interval {ping};
        }}
        location ~ /pub/(\\w+)$ {{
            nchan_publisher;
            nchan_channel_id $1;
            nchan_message_buffer_length 16;
            nchan_message_timeout 60s;
        }}
    }}
}}
"""


async def publish_nchan(
    port: int, users: list[str], count: int, rate: float, payload: int, deadline: float
) -> dict[str, float]:
    """POST ``count`` messages round-robin to ``users``' channels at ``rate``/s over keep-alive
    connections; post_id → publish time."""
    sent: dict[str, float] = {}
    queue: asyncio.Queue[int | None] = asyncio.Queue()

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while (n := await queue.get()) is not None:
                data = json.dumps(event_data(n, payload), separators=(",", ":")).encode()
                sent[f"p{n}"] = time.monotonic()
                writer.write(
                    f"POST /pub/{users[n % len(users)]} HTTP/1.1\r\nHost: bench\r\n"
                    f"Content-Length: {len(data)}\r\n\r\n".encode()
                    + data
                )
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(h.split(b":")[1]) for h in head.split(b"\r\n")
                    if h.lower().startswith(b"content-length:")
                )  # fmt: skip
                await reader.readexactly(length)
        finally:
            writer.close()

    workers = [asyncio.create_task(worker()) for _ in range(8)]
    start = time.monotonic()
    for n in range(count):
        due = start + n / rate
        if (pause := due - time.monotonic()) > 0:
            await asyncio.sleep(pause)
        if time.monotonic() > deadline:
            break
        queue.put_nowait(n)
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers, return_exceptions=True)
    return sent


async def nchan_phase(args, logs: Path, out: dict) -> None:
    if shutil.which("nginx") is None or not NCHAN_MODULE.exists():
        out["nchan"] = "not installed (apt-get install nginx libnginx-mod-nchan): column skipped"
        return
    deadline = time.monotonic() + args.max_s
    prefix = logs / "nginx"
    prefix.mkdir()
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            module=NCHAN_MODULE, prefix=prefix, port=port, connections=args.streams + 1024,
            ping=int(Settings().relay_heartbeat_s),
        )
    )  # fmt: skip
    proc = spawn(["nginx", "-c", str(conf), "-p", str(prefix)], prefix / "nginx.out")
    try:
        wait_http(f"http://127.0.0.1:{port}/nope", proc)
        await asyncio.sleep(0.5)
        rss_before = group_rss_kib(proc.pid)
        users = [f"bench{n}" for n in range(args.streams)]
        streams = Streams(port)
        streams.open([(f"/sub/{u}", "Accept: text/event-stream\r\n") for u in users])
        out["nchan_streams_open_s"] = await streams.wait_open(len(users), deadline - 30)
        await asyncio.sleep(2.0)
        rss_streams = group_rss_kib(proc.pid)
        t1, cpu1 = time.monotonic(), sum(cpu_s(p) for p in nginx_pids(proc.pid))
        sent = await publish_nchan(
            port, users, args.events, args.rate, args.payload,
            min(deadline - 10, time.monotonic() + args.events / args.rate + 15),
        )  # fmt: skip
        await wait_delivered(streams.received, sent, deadline - 3)
        nginx_cpu = (sum(cpu_s(p) for p in nginx_pids(proc.pid)) - cpu1) / (time.monotonic() - t1)
        await streams.close()
    finally:
        stop(proc, signal.SIGTERM)
    lat = latencies(streams.received, sent)
    out.update(
        nchan_streams_open=streams.ready,
        nchan_events_published=len(sent),
        nchan_events_delivered=len(lat),
        nchan_rss_kib_per_stream=(rss_streams - rss_before) / max(streams.ready, 1),
        nchan_e2e_ms_p50=pct(lat, 0.50),
        nchan_e2e_ms_p99=pct(lat, 0.99),
        nchan_cpu_share_during_events=nginx_cpu,
    )


def nginx_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.getpgid(int(entry.name)) == pgid:
                    pids.append(int(entry.name))
    return pids


def slow_client_phase(args, logs: Path, out: dict) -> None:
    """The slow-client test beside one CPU-bound process per core (bounded in time)."""
    stress_code = "import time\nend = time.monotonic() + {s}\nwhile time.monotonic() < end: pass\n"
    stressors = [
        spawn([sys.executable, "-c", stress_code.format(s=args.slow_max_s)], logs / f"stress{n}")
        for n in range(os.cpu_count() or 1)
    ]
    env = os.environ.copy()
    env["SHARECAST_TEST_PORT_OFFSET"] = str(args.port_offset + 1000)
    env["PYTHONPATH"] = f"{REPO}:{REPO / 'functions'}"
    started = time.monotonic()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "tests/integration/relay/test_relay.py::test_slow_client_overflow_closes_only_that_stream"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=args.slow_max_s,
        )  # fmt: skip
        summary = (result.stdout.strip().splitlines() or ["?"])[-1]
        out["slow_client_under_cpu_stress"] = "passed" if result.returncode == 0 else "FAILED"
        out["slow_client_pytest_summary"] = summary
        (logs / "slow_client.txt").write_text(result.stdout + result.stderr)
    except subprocess.TimeoutExpired:
        out["slow_client_under_cpu_stress"] = f"timed out after {args.slow_max_s} s"
    finally:
        for proc in stressors:
            stop(proc)
    out["slow_client_phase_s"] = time.monotonic() - started
    out["slow_client_stress_processes"] = len(stressors)


def report(out: dict) -> None:
    for key, value in out.items():
        print(f"{key}: {value:.2f}" if isinstance(value, float) else f"{key}: {value}")
    if "nchan_rss_kib_per_stream" in out and out.get("relay_streams_open"):
        print(
            "ratio_rss_per_stream_relay_over_nchan: "
            f"{out['relay_rss_kib_per_stream'] / max(out['nchan_rss_kib_per_stream'], 1e-9):.2f}"
        )
        print(
            "ratio_e2e_p99_relay_over_nchan: "
            f"{out['relay_e2e_ms_p99'] / max(out['nchan_e2e_ms_p99'], 1e-9):.2f}"
        )
        print(
            "ratio_e2e_p50_relay_over_nchan: "
            f"{out['relay_e2e_ms_p50'] / max(out['nchan_e2e_ms_p50'], 1e-9):.2f}"
        )


class SkipRelay(Exception):
    """``--skip relay``: no emulators, no relay phase."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=10000)
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--rate", type=float, default=1000.0, help="events/s")
    parser.add_argument("--payload", type=int, default=200, help="bytes of event data")
    parser.add_argument("--max-s", type=float, default=90.0, help="bound of each phase, seconds")
    parser.add_argument("--slow-max-s", type=float, default=300.0)
    parser.add_argument("--skip", action="append", default=[], choices=["relay", "nchan", "slow"])
    parser.add_argument(
        "--port-offset", type=int,
        default=int(os.environ.get("SHARECAST_BENCH_PORT_OFFSET", "5000")),
    )  # fmt: skip
    parser.add_argument("--floor", nargs=2, help=argparse.SUPPRESS)  # internal: subscriber mode
    parser.add_argument("--probe", help=argparse.SUPPRESS)  # internal: wake-up probe mode
    args = parser.parse_args()
    if args.floor:
        floor_subscriber(*args.floor)
        return
    if args.probe:
        wakeup_probe(args.probe)
        return
    args.max_s = min(args.max_s, 120.0)
    args.rate = max(args.rate, 1.0)

    logs = Path(tempfile.mkdtemp(prefix="bench-relay-"))
    out: dict = {"cpus": os.cpu_count(), "rate_per_s": args.rate, "payload_bytes": args.payload}
    relay_port = free_port()
    # The emulators come from the same stack code as `make run`, on ports of their own.
    emulators = Stack(
        Ports.from_env(offset=args.port_offset), workdir=logs, only=("firestore", "pubsub")
    )
    saved_env = os.environ.copy()
    os.environ.update(emulators.env)
    relay = None
    try:
        if "relay" in args.skip:
            raise SkipRelay
        emulators.start()  # also creates the post-status topic
        settings = Settings(google_cloud_project=emulators.project, jwt_secret=JWT_SECRET)
        relay_env = os.environ.copy() | {
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
        asyncio.run(relay_phase(args, relay.pid, relay_port, settings, logs, out))
        stop(relay, signal.SIGTERM)
        relay = None
    except SkipRelay:
        pass
    finally:
        if relay is not None:
            stop(relay, signal.SIGTERM)
        emulators.stop()
        os.environ.clear()
        os.environ.update(saved_env)
    if "nchan" not in args.skip:
        asyncio.run(nchan_phase(args, logs, out))
    if "slow" not in args.skip:
        slow_client_phase(args, logs, out)
    report(out)
    print(f"logs: {logs}")


if __name__ == "__main__":
    main()
