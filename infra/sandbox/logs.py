"""Logging of the sandbox: the project's one structured JSON logger (:mod:`sharecast.logs`).

Pass fields with ``log.info("msg", extra=fields(platform="x", outcome="accepted"))``. Tokens are
never logged; the ledger and the logs carry a short fingerprint instead (:func:`fingerprint`).
"""

from __future__ import annotations

import hashlib

from sharecast.logs import fields, route_uvicorn_logs
from sharecast.logs import setup_logging as _setup_logging

__all__ = ["LOGGER_NAME", "fields", "fingerprint", "setup_logging"]

LOGGER_NAME = "infra.sandbox"


def fingerprint(token: str | None) -> str | None:
    """First 12 hex digits of the SHA-256 of ``token``: identifies a token without revealing it."""
    if not token:
        return None
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def setup_logging(level: str = "INFO") -> None:
    """Send every record (the sandbox's and uvicorn's) to the JSON logger at ``level``."""
    _setup_logging(level.upper())
    route_uvicorn_logs()
