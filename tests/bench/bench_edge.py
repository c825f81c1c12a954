"""The api's edge under load (issue 14 items 3, 5 and 8), on loopback against its own stack.

1. **Flood**: three requests announcing 200 MiB without a token (time to the 413, bytes the
   client got to send, the api worker's RSS and peak RSS before and after); then 100
   connections announcing 100 MB and 100 announcing 900 bytes, each sending one byte, while
   ``GET /healthz`` is timed (p50/p99/max) and the trickling connections' answers counted.
2. **Waits**: with the publish queue paused, 2 ``?wait=25`` creates for each of 10 users (more
   waits than threads) while another user's ``GET /posts/{id}`` is timed.
3. **Threads**: one client at a time reads ``GET /posts/{id}`` (wall time and the api worker's
   CPU per request: how many requests in flight keep a CPU busy); then ``API_THREADS`` 2, 4,
   8, 16 in turn, 40 concurrent clients (Cloud Run's concurrency of the api) for a fixed time:
   requests/s, p50/p99, CPU per request, RSS. terraform/functions.tf takes the api's
   ``API_THREADS`` from these figures (docs/operations.md#threads-and-concurrency).
4. **Rate limiter cost**: one user past a ``read=20/3600`` limit; Firestore hit documents
   written per counted and per refused request.

Prints numbers; asserts nothing. Ports offset by ``SHARECAST_BENCH_PORT_OFFSET`` (default
20000)::

    python tests/bench/bench_edge.py [--phase flood|waits|threads|ratelimit]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]

from infra.localenv import HOST, service_env  # noqa: E402
from infra.stack import Stack  # noqa: E402
from tests.support.bench import bench_ports  # noqa: E402

MIB = 1024 * 1024
#: Limits high enough that the throughput phases measure the API, not the limiter.
OPEN_LIMITS = "read=10000000/60,write=10000000/60,session=10000000/60,analytics=10000000/60"
SERVICES = ("firestore", "pubsub", "storage", "tasks", "sandbox", "api", "publisher")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def summary_ms(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"p50 {statistics.median(ms):.0f} ms  p99 {percentile(ms, 99):.0f} ms  "
        f"max {max(ms):.0f} ms  (n={len(ms)})"
    )


def worker_pid(stack: Stack) -> int:
    """The api's gunicorn worker: the child of the functions-framework process."""
    proc = stack.services["api"].process
    assert proc is not None
    return int(Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()[0])


def worker_cpu_s(stack: Stack) -> float:
    """CPU seconds (user + system) the api's worker has used."""
    fields = Path(f"/proc/{worker_pid(stack)}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker_memory(stack: Stack) -> tuple[float, float]:
    """``(RSS, peak RSS)`` in MiB of the api's gunicorn worker (the child of its process)."""
    status = Path(f"/proc/{worker_pid(stack)}/status").read_text().splitlines()
    wanted = ("VmRSS:", "VmHWM:")
    kib = {line.split(":")[0]: int(line.split()[1]) for line in status if line.startswith(wanted)}
    return kib["VmRSS"] / 1024, kib["VmHWM"] / 1024


def raw_post(port: int, *headers: str) -> bytes:
    lines = ["POST /posts/multipost HTTP/1.1", f"Host: {HOST}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def announce(port: int, size: int) -> tuple[float, int, str]:
    """Send headers announcing ``size`` bytes, then the body as fast as the server takes it
    until it answers: ``(seconds to the answer, body bytes sent, status line)``."""
    sock = socket.create_connection((HOST, port), timeout=60)
    sock.sendall(raw_post(port, "Content-Type: application/json", f"Content-Length: {size}"))
    started, sent, chunk = time.monotonic(), 0, b"a" * 65536
    sock.setblocking(False)
    answer = b""
    while not answer and time.monotonic() - started < 60:
        try:
            answer = sock.recv(200)
            break
        except BlockingIOError:
            pass
        try:
            sent += sock.send(chunk) if sent < size else 0
        except BlockingIOError:
            time.sleep(0.001)
        except OSError:
            sock.setblocking(True)
            answer = sock.recv(200)
    took = time.monotonic() - started
    sock.close()
    return took, sent, answer.split(b"\r\n", 1)[0].decode("latin-1")


@contextmanager
def trickling(port: int, count: int, announced: int) -> Iterator[list[socket.socket]]:
    with ExitStack() as stack:
        socks = []
        for _ in range(count):
            sock = stack.enter_context(socket.create_connection((HOST, port), timeout=60))
            framing = ("Content-Type: application/json", f"Content-Length: {announced}")
            sock.sendall(raw_post(port, *framing) + b"{")
            socks.append(sock)
        yield socks


def timed(call: Callable[[], object], n: int, pause_s: float = 0.05) -> list[float]:
    out = []
    for _ in range(n):
        started = time.monotonic()
        call()
        out.append(time.monotonic() - started)
        time.sleep(pause_s)
    return out


def flood(stack: Stack) -> None:
    import requests

    port = stack.ports.api
    health = f"http://{HOST}:{port}/healthz"
    requests.get(health, timeout=30)
    rss, peak = worker_memory(stack)
    print(f"api worker before: RSS {rss:.0f} MiB, peak {peak:.0f} MiB")
    for _ in range(3):
        took, sent, status = announce(port, 200 * MIB)
        print(
            f"200 MiB announced, no token: {status!r} after {took * 1000:.1f} ms, "
            f"{sent / MIB:.1f} MiB sent"
        )
    rss, peak = worker_memory(stack)
    print(f"api worker after the announcements: RSS {rss:.0f} MiB, peak {peak:.0f} MiB")
    idle = timed(lambda: requests.get(health, timeout=60), 50)
    print(f"GET /healthz idle: {summary_ms(idle)}")
    with trickling(port, 100, 100_000_000) as huge, trickling(port, 100, 900) as slow:
        busy = timed(lambda: requests.get(health, timeout=60), 50)
        print(f"GET /healthz with 200 trickling connections: {summary_ms(busy)}")
        statuses: dict[str, int] = {}
        for sock in huge + slow:
            line = sock.recv(200).split(b"\r\n", 1)[0].decode("latin-1")
            statuses[line] = statuses.get(line, 0) + 1
        print(f"their answers: {statuses}")
    rss, peak = worker_memory(stack)
    print(f"api worker after the flood: RSS {rss:.0f} MiB, peak {peak:.0f} MiB")


def draft_post(api: Any) -> str:
    response = api.post(
        "/posts/multipost",
        json={"content": "bench read", "platforms": [{"platform": "facebook"}], "draft": True},
    )
    response.raise_for_status()
    post_id: str = response.json()["postId"]
    return post_id


def waits(stack: Stack) -> None:
    from sharecast.clients import Clients
    from sharecast.config import Settings
    from tests.support.api import ApiClient

    settings = Settings()
    tasks = Clients(settings).tasks
    other = ApiClient(stack.ports, "bench-observer")
    post_id = draft_post(other)
    before = timed(lambda: other.get(f"/posts/{post_id}"), 20)
    print(f"GET /posts/{{id}} of another user, no waits: {summary_ms(before)}")
    tasks.pause_queue(name=settings.queue_path)
    try:
        with ThreadPoolExecutor(max_workers=20) as pool:
            users = [ApiClient(stack.ports, f"bench-waiter-{n}") for n in range(10)]
            futures = [
                pool.submit(
                    ApiClient(stack.ports, u.user_id).post,
                    "/posts/multipost?wait=25",
                    json={"content": f"wait {n}", "platforms": [{"platform": "x"}]},
                    timeout=90,
                )
                for u in users
                for n in range(2)
            ]
            time.sleep(3)
            during = timed(lambda: other.get(f"/posts/{post_id}"), 20)
            pending = sum(not f.done() for f in futures)
            print(f"... with 20 ?wait=25 pending ({pending} still pending): {summary_ms(during)}")
            tasks.resume_queue(name=settings.queue_path)
            answers = [f.result() for f in futures]
            finals = [a.json()["status"] for a in answers]
            print(
                f"the waits answered {sorted(set(finals))} ({finals.count('PUBLISHED')} PUBLISHED)"
            )
    finally:
        tasks.resume_queue(name=settings.queue_path)


def load(stack: Stack, *, clients: int, seconds: float) -> tuple[int, list[float], int]:
    """``clients`` threads reading one post for ``seconds``: (ok answers, latencies, errors)."""
    from tests.support.api import ApiClient

    owner = ApiClient(stack.ports, "bench-reader")
    post_id = draft_post(owner)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def run() -> None:
        api = ApiClient(stack.ports, "bench-reader")
        while time.monotonic() < stop:
            started = time.monotonic()
            status = api.get(f"/posts/{post_id}").status_code
            with lock:
                if status == 200:
                    latencies.append(time.monotonic() - started)
                else:
                    errors[0] += 1

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies), latencies, errors[0]


def threads_sweep(stack: Stack, seconds: float) -> None:
    """What a read costs the api (CPU and wall time, one client at a time), then throughput
    and latency at 40 concurrent clients for several ``API_THREADS``."""
    stack.restart_service("api")
    load(stack, clients=2, seconds=3)
    cpu_before = worker_cpu_s(stack)
    ok, latencies, _ = load(stack, clients=1, seconds=seconds)
    cpu_ms = (worker_cpu_s(stack) - cpu_before) / ok * 1000
    wall_ms = statistics.mean(latencies) * 1000
    print(
        f"one client at a time: {ok / seconds:.1f} req/s, {wall_ms:.0f} ms per request, of which "
        f"{cpu_ms:.1f} ms CPU in the api worker: one CPU is kept busy by about "
        f"{wall_ms / cpu_ms:.1f} requests in flight"
    )
    print(f"API_THREADS vs 40 concurrent GET /posts/{{id}} for {seconds:.0f} s each:")
    for threads in (2, 4, 8, 16):
        stack.services["api"].env["API_THREADS"] = str(threads)
        stack.restart_service("api")
        load(stack, clients=8, seconds=3)  # warm the clients and the emulator
        cpu_before = worker_cpu_s(stack)
        ok, latencies, errors = load(stack, clients=40, seconds=seconds)
        cpu_ms = (worker_cpu_s(stack) - cpu_before) / max(ok, 1) * 1000
        rss, peak = worker_memory(stack)
        print(
            f"  API_THREADS={threads:>2}: {ok / seconds:6.1f} req/s  {summary_ms(latencies)}"
            f"  {cpu_ms:.1f} ms CPU/req  errors {errors}  RSS {rss:.0f} MiB (peak {peak:.0f})"
            f"  load {os.getloadavg()[0]:.1f}"
        )
    stack.services["api"].env.pop("API_THREADS", None)
    stack.restart_service("api")


def ratelimit_cost(stack: Stack) -> None:
    from sharecast import ratelimit
    from sharecast.clients import Clients
    from sharecast.config import Settings
    from tests.support.api import ApiClient

    limit = 20
    stack.services["api"].env["RATE_LIMITS"] = f"read={limit}/3600,write=1000/60"
    stack.restart_service("api")
    db = Clients(Settings()).firestore

    user = f"bench-limited-{time.time_ns()}"

    def hits() -> int:
        """Increments of the user's counter in this hour's ``read`` window (one per write)."""
        window = ratelimit.window_doc_id(user, "read", int(time.time()) // 3600)
        doc = db.collection(ratelimit.COLLECTION).document(window).get()
        return int((doc.to_dict() or {}).get(ratelimit.COUNT, 0))

    api = ApiClient(stack.ports, user)
    start = hits()
    counted = [api.get("/posts/nothing").status_code for _ in range(limit)]
    after_counted = hits()
    refused = [api.get("/posts/nothing").status_code for _ in range(200)]
    after_refused = hits()
    written, blocked = after_counted - start, after_refused - after_counted
    print(
        f"rate limit read={limit}/3600: {len(counted)} counted requests ({set(counted)}) wrote "
        f"{written} counter increments ({written / len(counted):.2f} per request); "
        f"{len(refused)} refused ({set(refused)}) wrote {blocked} "
        f"({blocked / len(refused):.3f} per request)"
    )
    stack.services["api"].env["RATE_LIMITS"] = OPEN_LIMITS
    stack.restart_service("api")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phase", choices=["flood", "waits", "threads", "ratelimit"])
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    ports = bench_ports(20000)
    os.environ.update(service_env(ports))
    stack = Stack(
        ports,
        workdir=Path(tempfile.mkdtemp(prefix="sharecast-bench-edge-")),
        only=SERVICES,
        extra_env={"RATE_LIMITS": OPEN_LIMITS},
    )
    started = time.monotonic()
    stack.start()
    print(f"stack started in {time.monotonic() - started:.1f} s; load average {os.getloadavg()}")
    try:
        if args.phase in (None, "flood"):
            flood(stack)
        if args.phase in (None, "waits"):
            waits(stack)
        if args.phase in (None, "threads"):
            threads_sweep(stack, args.seconds)
        if args.phase in (None, "ratelimit"):
            ratelimit_cost(stack)
    finally:
        stack.stop()
    print(f"load average at the end {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
