"""Structured JSON logging for the sandbox: one JSON object per line on stderr.

Pass fields with ``log.info("msg", extra=fields(platform="x", outcome="accepted"))``. Tokens are
never logged; the ledger and the logs carry a short fingerprint instead (:func:`fingerprint`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

LOGGER_NAME = "infra.sandbox"


def fields(**values: Any) -> dict[str, Any]:
    """``extra=`` argument carrying structured fields for :class:`JsonFormatter`."""
    return {"sandbox_fields": values}


def fingerprint(token: str | None) -> str | None:
    """First 12 hex digits of the SHA-256 of ``token``: identifies a token without revealing it."""
    if not token:
        return None
    return hashlib.sha256(token.encode()).hexdigest()[:12]


class JsonFormatter(logging.Formatter):
    """Formats a record as ``{"time", "severity", "logger", "message", ...fields}``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "severity": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        extra = getattr(record, "sandbox_fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def setup_logging(level: str = "INFO") -> None:
    """Send every record (the sandbox's and uvicorn's) as JSON lines to stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uv = logging.getLogger(name)
        uv.handlers[:] = []
        uv.propagate = True
