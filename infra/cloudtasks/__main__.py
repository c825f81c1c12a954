"""Command line: ``python -m infra.cloudtasks --host 127.0.0.1 --port 8683``.

Stops gracefully on SIGTERM or SIGINT. Readiness: a successful ``ListQueues`` call.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType

from infra.cloudtasks import logs
from infra.cloudtasks.server import DEFAULT_PORT, Emulator

logger = logging.getLogger("infra.cloudtasks")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m infra.cloudtasks", description="Local Cloud Tasks v2 emulator (gRPC)."
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default loopback)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="gRPC port")
    parser.add_argument(
        "--tombstone-seconds",
        type=float,
        default=3600.0,
        help="seconds a completed/deleted task name stays reserved",
    )
    parser.add_argument(
        "--auto-create-queues",
        action="store_true",
        help="create missing queues on CreateTask instead of NOT_FOUND",
    )
    parser.add_argument(
        "--dispatch-workers",
        type=int,
        default=32,
        help="concurrent HTTP dispatches across all queues",
    )
    parser.add_argument(
        "--min-dispatch-deadline-seconds",
        type=float,
        default=15.0,
        help="lowest accepted Task.dispatch_deadline (production: 15)",
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the emulator until SIGTERM/SIGINT."""
    args = parse_args(argv)
    logs.configure(args.log_level)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("signal received; stopping", extra={"signal": signal.Signals(signum).name})
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    emulator = Emulator(
        args.host,
        args.port,
        tombstone_seconds=args.tombstone_seconds,
        auto_create_queues=args.auto_create_queues,
        dispatch_workers=args.dispatch_workers,
        min_dispatch_deadline_seconds=args.min_dispatch_deadline_seconds,
    )
    emulator.start()
    try:
        stop.wait()
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
