"""One structured JSON logger for Cloud Logging.

Each record is one JSON line on stdout with ``severity``, ``message``, the trace
(``logging.googleapis.com/trace``, taken from ``X-Cloud-Trace-Context``/``traceparent`` of the
current Flask request by Google's own :class:`StructuredLogHandler`) and any ``extra`` fields
passed as ``logger.info("...", extra={"json_fields": {...}})`` — use :func:`fields` for that.
See https://cloud.google.com/logging/docs/structured-logging.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from google.cloud.logging.handlers import StructuredLogHandler

_configured = False

#: Keys whose values are never logged (tokens, secrets, signed URLs).
_REDACT = ("token", "secret", "authorization", "password", "signature", "signed_url")


def _redact(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: ("[redacted]" if any(r in k.lower() for r in _REDACT) else v) for k, v in values.items()
    }


def fields(**values: Any) -> dict[str, Any]:
    """``extra=`` argument for a structured record: ``log.info("x", extra=fields(post_id=p))``.

    Keys that name credentials (token, secret, authorization, signature...) are redacted.
    """
    return {"json_fields": _redact(values)}


def setup_logging(level: str | None = None) -> None:
    """Install the JSON handler on the root logger once per process (idempotent)."""
    global _configured
    if _configured:
        return
    project = os.environ.get("GOOGLE_CLOUD_PROJECT")
    handler = StructuredLogHandler(project_id=project, stream=sys.stdout)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level or os.environ.get("LOG_LEVEL", "INFO"))
    for noisy in ("urllib3", "google.auth", "google.api_core", "grpc", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _configured = True
