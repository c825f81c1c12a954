"""Structured JSON logging on stderr, one object per line.

Fields: ``severity`` (Cloud Logging names: DEBUG, INFO, WARNING, ERROR, CRITICAL, see
https://cloud.google.com/logging/docs/structured-logging), ``message``, ``time`` (UTC,
RFC 3339), ``logger``, any ``extra={...}`` fields (task, queue, attempt, http_status,
...) and ``exception`` when one is attached.
"""

from __future__ import annotations

import datetime
import json
import logging
import sys

_RESERVED = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """Formats a record as a single-line JSON object."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` with its extras."""
        stamp = datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC)
        payload: dict[str, object] = {
            "severity": record.levelname,
            "message": record.getMessage(),
            "time": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "logger": record.name,
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure(level: str = "INFO") -> None:
    """Send every log record of the process to stderr as JSON at ``level``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
