"""``python -m infra.sandbox --host 127.0.0.1 --port 8099 [--seed N] [--log-level INFO]``."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import socket
import sys

import uvicorn

from infra.sandbox.app import create_app
from infra.sandbox.logs import LOGGER_NAME, fields, setup_logging


def _is_loopback(host: str) -> bool:
    try:
        return all(
            ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None)
        )
    except (socket.gaierror, ValueError):
        return False


def main(argv: list[str] | None = None) -> int:
    """Serve the sandbox until interrupted. Only loopback addresses are accepted."""
    parser = argparse.ArgumentParser(prog="python -m infra.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--seed", type=int, default=None, help="seed of the fault RNG")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    if not _is_loopback(args.host):
        parser.error(f"refusing to bind {args.host!r}: the sandbox only serves loopback addresses")
    setup_logging(args.log_level)
    log = logging.getLogger(LOGGER_NAME)
    log.info("sandbox starting", extra=fields(host=args.host, port=args.port, seed=args.seed))
    uvicorn.run(
        create_app(args.seed),
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=True,
        timeout_graceful_shutdown=2,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
