"""A browser left open: the console in headless Chromium for ``--minutes`` (default 120) while
posts keep publishing, the relay is restarted (SIGTERM and SIGKILL in turn) and the stream's
credential expires again and again. At the end, every event in the user's event log must have
reached the page exactly once; prints the counts. Not part of ``make test``; asserts nothing
but exits 1 when an event is missing.

Starts its own stack (ports offset by ``SHARECAST_BENCH_PORT_OFFSET`` or 21000, loopback
only). Relay tokens live ``--token-ttl`` seconds (default 60, no leeway), so a 2-hour run
crosses ~120 credential expiries and a 10-minute run ~10.

    python tests/bench/bench_console_soak.py [--minutes 120] [--post-every 20]
        [--restart-every 300] [--token-ttl 60]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path[:0] = [
    str(Path(__file__).resolve().parents[2]),
    str(Path(__file__).resolve().parents[2] / "functions"),
]

from infra.localenv import service_env  # noqa: E402
from tests.support.bench import bench_ports  # noqa: E402

TERMINAL = {"PUBLISHED", "PARTIAL", "FAILED", "CANCELLED"}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=120.0)
    parser.add_argument("--post-every", type=float, default=20.0, help="seconds between posts")
    parser.add_argument("--restart-every", type=float, default=300.0, help="relay restarts, s")
    parser.add_argument("--token-ttl", type=int, default=60, help="relay token lifetime, s")
    args = parser.parse_args()
    ports = bench_ports(21000)
    os.environ.update(service_env(ports))
    from infra.stack import Stack
    from tests.support.api import ApiClient
    from tests.support.browser import Browser, stored_events, wait_until

    stack = Stack(
        ports,
        workdir=Path(tempfile.mkdtemp(prefix="sharecast-soak-")),
        extra_env={"OUTBOX_GRACE_S": "1"},
    )
    stack.services["api"].env["SSE_TOKEN_TTL_S"] = str(args.token_ttl)
    stack.services["relay"].env["JWT_LEEWAY_S"] = "0"
    stack.start()
    user = f"soak-{int(time.time())}"
    api = ApiClient(ports, user)
    browser = Browser(f"http://127.0.0.1:{ports.console}", "soak")
    posts: list[str] = []
    restarts = 0
    restart_times: list[datetime] = []
    started = time.monotonic()
    started_at = datetime.now(UTC)
    try:
        browser.sign_in(user)
        end = started + args.minutes * 60
        next_post, next_restart = time.monotonic(), time.monotonic() + args.restart_every
        while time.monotonic() < end:
            now = time.monotonic()
            if now >= next_post:
                text = f"soak {len(posts)} {time.time_ns()}"
                if len(posts) % 3 == 0:
                    text += " #sandbox-fail-transient-1"
                response = api.post(
                    "/posts/multipost",
                    json={
                        "content": text,
                        "platforms": [{"platform": "facebook"}, {"platform": "x"}],
                    },
                )
                response.raise_for_status()
                posts.append(response.json()["postId"])
                next_post = now + args.post_every
            if now >= next_restart:
                progress(user, browser.event_ids(), started)
                sig = signal.SIGKILL if restarts % 2 else signal.SIGTERM
                restart_times.append(datetime.now(UTC))
                stack.restart_service("relay", sig=sig)
                restarts += 1
                next_restart = now + args.restart_every
            time.sleep(0.5)
            # Cloud Scheduler's stand-in: the outbox sweep republishes stuck events.
            if int(now) % 60 == 0:
                api.session.post(
                    f"http://127.0.0.1:{ports.sweeper}/",
                    json={"sweep": "minutely"},
                    headers={"X-Sharecast-Internal-Auth": stack.env["INTERNAL_AUTH_SECRET"]},
                    timeout=60,
                )
        for post_id in posts:

            def terminal(p: str = post_id) -> bool:
                return api.get(f"/posts/{p}").json()["status"] in TERMINAL

            wait_until(terminal, 180, f"post {post_id} terminal")
        log = stored_events(user)
        stored = set(log)
        with contextlib.suppress(AssertionError):  # reported below
            wait_until(lambda: stored <= set(browser.event_ids()), 180, "all events in the page")
        received = browser.event_ids()
        state = browser.stream_state()
        missing = stored - set(received)
        browser.shot("end")
        minutes = (time.monotonic() - started) / 60
        print(f"console soak: {minutes:.1f} min, token TTL {args.token_ttl} s")
        print(f"  posts {len(posts)}, relay restarts {restarts}")
        print(f"  events stored {len(stored)}, shown {len(set(received))}, missing {len(missing)}")
        print(f"  delivered twice {len(received) - len(set(received))}")
        print(
            f"  stream opens {state.get('opens')}, native reconnects {state.get('reconnects')}, "
            f"reopens after auth failure {state.get('reauths')}, duplicates dropped "
            f"{state.get('duplicates')}, stale versions {state.get('stale')}, "
            f"mode {state.get('mode')}"
        )
        print(f"  schema mismatches {len(browser.schema_mismatches())}")
        describe_missing(user, sorted(missing), log, restart_times, started_at)
        return 1 if missing else 0
    finally:
        browser.close()
        stack.stop()


def progress(user_id: str, received: list[str], started: float) -> None:
    """One line before each relay restart: events stored so far, shown, and how many of those
    stored over 90 s ago the page still lacks (an early sign of a lost event)."""
    from sharecast.domain.events import event_id_time
    from tests.support.browser import stored_events

    settled = datetime.now(UTC).timestamp() - 90
    stored = stored_events(user_id)
    shown = set(received)
    late = [i for i in stored if i not in shown and event_id_time(i).timestamp() < settled]
    print(
        f"  {(time.monotonic() - started) / 60:6.1f} min: events stored {len(stored)}, "
        f"shown {len(shown)}, missing after 90 s {len(late)}",
        flush=True,
    )


def describe_missing(
    user_id: str,
    missing: list[str],
    log: dict[str, tuple[str, str]],
    restart_times: list[datetime],
    started_at: datetime,
) -> None:
    """Print what the missing events were: type and status counts, and for each when it was
    created, committed and marked published (seconds since the run started), and the relay
    restart before it."""
    from collections import Counter

    from sharecast.clients import Clients
    from sharecast.config import Settings
    from sharecast.domain.events import event_id_time
    from sharecast.outbox import EVENTS, USERS

    if not missing:
        return
    kinds = Counter(log[i] for i in missing)
    print("  missing by (type, status): " + ", ".join(f"{k}: {n}" for k, n in kinds.items()))
    events = Clients(Settings()).firestore.collection(USERS).document(user_id).collection(EVENTS)

    def rel(at: datetime | None) -> str:
        return "-" if at is None else f"+{(at - started_at).total_seconds():.3f}"

    for event_id in missing[:40]:
        at = event_id_time(event_id)
        snap = events.document(event_id).get()
        published = (snap.to_dict() or {}).get("published_at")
        before = [r for r in restart_times if r <= at]
        since = f"{(at - before[-1]).total_seconds():.1f} s after restart {len(before)}"
        print(
            f"  missing {event_id} {log[event_id]} created {rel(at)} committed "
            f"{rel(snap.create_time)} published {rel(published)}, "
            + (since if before else "before any restart")
        )


if __name__ == "__main__":
    sys.exit(main())
