"""``python -m infra run``: start the local stack, print where everything is, show the services'
logs, restart a service that dies, and stop everything on Ctrl-C.

``--all-logs`` (``make run LOGS=all``) also shows the minutely sweeper's and scheduler's routine
lines, hidden by default.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from pathlib import Path

from infra.localenv import DEV_INTERNAL_SECRET, HOST, Ports
from infra.logtail import LogFollower
from infra.scheduler import LocalScheduler
from infra.stack import ROOT, Stack, StackError

log = logging.getLogger("infra")

#: Restart delays (seconds) after consecutive failed restarts of one service, then the last one.
RESTART_BACKOFF_S = (0.0, 1.0, 2.0, 5.0, 10.0, 30.0)


class Supervisor:
    """Restarts services of ``stack`` whose process exited, with a line saying so.

    A service that keeps dying is retried with growing delays (``RESTART_BACKOFF_S``); a
    successful start resets its delay. In-memory emulators (Firestore, Pub/Sub, Storage, Cloud
    Tasks) come back empty: the topic and the queue are created again, data is lost.
    """

    def __init__(self, stack: Stack, say: LogFollower) -> None:
        self.stack = stack
        self.say = say
        self.failures: dict[str, int] = {}
        self.not_before: dict[str, float] = {}

    def check(self) -> None:
        """Restart every dead service whose delay has passed."""
        for name in self.stack.dead():
            if time.monotonic() < self.not_before.get(name, 0.0):
                continue
            proc = self.stack.services[name].process
            code = proc.returncode if proc is not None else None
            self.say.emit(name, f"*** exited with code {code}; restarting")
            try:
                self.stack.stop_service(name)
                self.stack.start_service(name)
            except StackError as exc:
                count = self.failures.get(name, 0) + 1
                self.failures[name] = count
                delay = RESTART_BACKOFF_S[min(count, len(RESTART_BACKOFF_S) - 1)]
                self.not_before[name] = time.monotonic() + delay
                self.say.emit(name, f"*** restart failed ({exc}); next try in {delay:.0f} s")
                continue
            self.failures.pop(name, None)
            self.say.emit(name, f"*** restarted, ready on {self.stack.services[name].url}")


def _print_endpoints(stack: Stack) -> None:
    p = stack.ports
    log.info("\nSharecast is running (logs in %s):", stack.logs)
    for name, port in [
        ("console (web app)", p.console),
        ("api", p.api),
        ("publisher", p.publisher),
        ("media_finalized (CloudEvents)", p.media_finalized),
        ("webhook_delivery", p.webhook_delivery),
        ("sweeper", p.sweeper),
        ("relay (SSE)", p.relay),
        ("sandbox", p.sandbox),
        ("firestore", p.firestore),
        ("pubsub", p.pubsub),
        ("cloud tasks (gRPC)", p.tasks),
        ("storage (emulator)", p.storage),
        ("storage (CORS front, signed URLs)", p.storage_cors),
    ]:
        log.info("  %-34s http://%s:%d", name, HOST, port)
    origins = stack.env.get("CORS_ALLOWED_ORIGINS", "").split(",")
    log.info(
        "  CORS allows %d browser origins (the console, localhost/127.0.0.1 on common dev "
        "ports; add more with CORS_EXTRA_ORIGINS=...)",
        len(origins),
    )


def main(argv: list[str] | None = None) -> int:
    """Run the stack until SIGINT/SIGTERM; exit non-zero if it cannot start."""
    parser = argparse.ArgumentParser(prog="python -m infra")
    parser.add_argument("command", choices=["run"])
    parser.add_argument("--workdir", type=Path, default=ROOT / ".stack")
    parser.add_argument(
        "--all-logs", action="store_true", help="also show the minutely sweeper's routine lines"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    stack = Stack(Ports.from_env(), workdir=args.workdir)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stack.start()
    except StackError as exc:
        log.error("stack failed to start: %s", exc)
        return 1
    _print_endpoints(stack)
    # Cloud Scheduler's stand-in: the jobs of terraform/scheduler.tf, same cadence and bodies.
    scheduler = LocalScheduler(f"http://{HOST}:{stack.ports.sweeper}/", DEV_INTERNAL_SECRET)
    for job in scheduler.jobs:
        log.info("  scheduler job %-14s %-12s POST %s", job.name, job.schedule, job.body)
    logging.getLogger("infra.scheduler").setLevel(
        logging.INFO if args.all_logs else logging.WARNING
    )
    hint = "" if args.all_logs else " (sweeper routine lines hidden: make run LOGS=all shows them)"
    log.info("Service logs follow%s. Press Ctrl-C to stop.\n", hint)
    follower = LogFollower(stack.logs, list(stack.services), show_all=args.all_logs)
    follower.start()
    scheduler.start()
    supervisor = Supervisor(stack, follower)
    while not stop.wait(1.0):
        supervisor.check()
    log.info("stopping...")
    scheduler.stop()
    follower.stop()
    stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
