"""RFC 9457 problem details: the one place where exceptions become HTTP responses."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from sharecast.errors import (
    BadRequest,
    FieldProblem,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    SharecastError,
    UnsupportedMediaType,
    ValidationFailed,
)

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://sharecast.dev/problems/"


def problem_response(error: SharecastError) -> Response:
    """Render ``error`` as ``application/problem+json`` with its status and headers."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + error.code.lower().replace("_", "-"),
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "code": error.code,
    }
    if error.errors:
        body["errors"] = [p.to_json() for p in error.errors]
    body.update(error.extra)
    response = Response(json.dumps(body), status=error.status, mimetype=PROBLEM_JSON)
    for name, value in error.headers.items():
        response.headers[name] = value
    return response


def pydantic_problems(exc: ValidationError) -> list[FieldProblem]:
    """Field problems from a pydantic validation error (locations joined as ``a[0].b``)."""
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        path = ""
        for part in err["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        target = None
        loc = err["loc"]
        if len(loc) >= 2 and loc[0] == "platforms" and isinstance(loc[1], int):
            target = loc[1]
        out.append(FieldProblem(path or "body", err["type"].upper(), err["msg"], target))
    return out


_HTTP_MAP: dict[int, type[SharecastError]] = {
    400: BadRequest,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
}


def register(app: Flask) -> None:
    """Install the error handlers on ``app`` (every error becomes problem+json)."""

    @app.errorhandler(SharecastError)
    def _sharecast(error: SharecastError) -> Response:
        if error.status >= 500:
            log.error("request failed: %s", error)
        return problem_response(error)

    @app.errorhandler(ValidationError)
    def _validation(error: ValidationError) -> Response:
        return problem_response(
            ValidationFailed("the request body is invalid", errors=pydantic_problems(error))
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        cls = _HTTP_MAP.get(error.code or 500)
        if cls is None:
            return problem_response(SharecastError(error.description or "error"))
        return problem_response(cls(error.description or cls.title))

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unhandled error")
        return problem_response(SharecastError("an unexpected error occurred"))
