"""One structured JSON logger for Cloud Logging.

Each record is one JSON line on stdout with ``severity``, ``message``, the trace
(``logging.googleapis.com/trace``, taken from ``X-Cloud-Trace-Context``/``traceparent`` of the
current Flask request by Google's own :class:`StructuredLogHandler`) and the record's extra
fields, whether passed as ``extra=fields(post_id=...)`` or as a plain ``extra={"task": ...}``.
Every process of the project uses it: the functions, the relay and the local emulators.
See https://cloud.google.com/logging/docs/structured-logging.
"""

from __future__ import annotations

import json
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


#: Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's ANSI-coloured copy of the message
}


class _ExtraFields(logging.Filter):
    """Moves plain ``extra={...}`` attributes into ``json_fields`` (redacted), where Google's
    handler looks for structured fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        plain = {
            k: v
            for k, v in vars(record).items()
            if k not in _RECORD_ATTRS and k != "json_fields" and not k.startswith("_")
        }
        if plain:
            merged = {**_redact(plain), **(getattr(record, "json_fields", None) or {})}
            record.json_fields = merged
        return True


class _RequestUrlWithoutQuery(logging.Filter):
    """Drops the query string from the ``httpRequest.requestUrl`` that Google's handler adds
    to every record logged during a request (``?auth_token=``/``?token=`` carry credentials).
    Must run after the handler's own ``CloudLoggingFilter``, which fills it in."""

    def filter(self, record: logging.LogRecord) -> bool:
        http = getattr(record, "_http_request", None)
        if isinstance(http, dict) and isinstance(http.get("requestUrl"), str):
            http = {**http, "requestUrl": http["requestUrl"].split("?", 1)[0]}
            record._http_request = http
            record._http_request_str = json.dumps(http, ensure_ascii=False)
        return True


class _CurrentStdout:
    """``sys.stdout`` as it is at each write. With ``LOG_EXECUTION_ID`` the functions framework
    swaps it per request for a writer that adds the execution id to each JSON line
    (https://cloud.google.com/functions/docs/monitoring/logging#execution_id); a handler that
    kept the stream it started with would bypass it."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()
        # The framework's execution-id writer does not flush the stream it wraps.
        if sys.__stdout__ is not None and sys.__stdout__ is not sys.stdout:
            sys.__stdout__.flush()


def setup_logging(level: str | None = None, *, again: bool = False) -> None:
    """Install the JSON handler on the root logger once per process (idempotent; ``again``
    installs it anew, see :func:`reclaim_logging`)."""
    global _configured
    if _configured and not again:
        return
    project = os.environ.get("GOOGLE_CLOUD_PROJECT")
    handler = StructuredLogHandler(project_id=project, stream=_CurrentStdout())
    handler.addFilter(_ExtraFields())
    handler.addFilter(_RequestUrlWithoutQuery())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level or os.environ.get("LOG_LEVEL", "INFO"))
    # httpx logs every request URL at INFO (signed URLs carry their signature in the query).
    for noisy in ("urllib3", "google.auth", "google.api_core", "grpc", "werkzeug", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _configured = True


def reclaim_logging() -> None:
    """Undo a logging configuration made after :func:`setup_logging`: install the JSON handler
    again and re-enable every logger.

    functions-framework does that for an ASGI function (``@functions_framework.aio.http``) when
    ``LOG_EXECUTION_ID`` is set: after loading ``main.py`` it calls ``logging.config.dictConfig``
    with a root level of ``WARNING`` and, by default, disables every logger that already exists
    (``functions_framework.aio._configure_app_execution_id_logging``), so none of our lines would
    be written. Call it once the framework is done, on the first request."""
    setup_logging(again=True)
    for logger in logging.root.manager.loggerDict.values():
        if isinstance(logger, logging.Logger):
            logger.disabled = False


class _StripQuery(logging.Filter):
    """Removes the query string from uvicorn access-log records (it may hold tokens)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def route_uvicorn_logs() -> None:
    """Send uvicorn's records through the JSON handler; access lines lose their query string
    (``?token=``/``?auth_token=`` carry credentials and are never logged). Idempotent."""
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _StripQuery) for f in access.filters):
        access.addFilter(_StripQuery())
