"""Logging of the emulator: the project's one structured JSON logger (:mod:`sharecast.logs`).

Records carry ``severity``, ``message`` and their ``extra={...}`` fields (task, queue, attempt,
http_status...), one JSON object per line, as Cloud Logging reads them
(https://cloud.google.com/logging/docs/structured-logging).
"""

from __future__ import annotations

from sharecast.logs import setup_logging


def configure(level: str = "INFO") -> None:
    """Send every log record of the process to the JSON logger at ``level``."""
    setup_logging(level.upper())
