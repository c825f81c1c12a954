"""``python -m infra run``: start the local stack, print where everything is, wait for Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from infra.localenv import DEV_INTERNAL_SECRET, HOST, Ports
from infra.scheduler import LocalScheduler
from infra.stack import ROOT, Stack, StackError


def main(argv: list[str] | None = None) -> int:
    """Run the stack until SIGINT/SIGTERM; exit non-zero if a service fails."""
    parser = argparse.ArgumentParser(prog="python -m infra")
    parser.add_argument("command", choices=["run"])
    parser.add_argument("--workdir", type=Path, default=ROOT / ".stack")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    log = logging.getLogger("infra")
    stack = Stack(Ports.from_env(), workdir=args.workdir)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stack.start()
    except StackError as exc:
        log.error("stack failed to start: %s", exc)
        return 1
    p = stack.ports
    log.info("\nSharecast is running (logs in %s):", stack.logs)
    for name, port in [
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
        ("storage", p.storage),
    ]:
        log.info("  %-30s http://%s:%d", name, HOST, port)
    # Cloud Scheduler's stand-in: the jobs of terraform/scheduler.tf, same cadence and bodies.
    scheduler = LocalScheduler(f"http://{HOST}:{p.sweeper}/", DEV_INTERNAL_SECRET)
    scheduler.start()
    for job in scheduler.jobs:
        log.info("  scheduler job %-14s %-12s POST %s", job.name, job.schedule, job.body)
    log.info("Press Ctrl-C to stop.")
    code = 0
    while not stop.wait(1.0):
        dead = stack.dead()
        if dead:
            log.error("service(s) exited: %s; see %s", ", ".join(dead), stack.logs)
            code = 1
            break
    log.info("stopping...")
    scheduler.stop()
    stack.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
