"""RFC 9457 problem details: the one place where exceptions become HTTP responses."""

from __future__ import annotations

import logging

from flask import Flask, Response, json
from google.api_core.exceptions import GoogleAPICallError, RetryError
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from sharecast.errors import (
    PROBLEM_JSON,
    DependencyUnavailable,
    FieldProblem,
    SharecastError,
    ValidationFailed,
    error_for_status,
    problem_body,
)

log = logging.getLogger(__name__)

_KEPT_HTTP_HEADERS = frozenset({"allow", "retry-after", "www-authenticate"})
#: ``Retry-After`` (seconds) of a 503 when a Google service failed.
DEPENDENCY_RETRY_AFTER_S = 1


def problem_response(error: SharecastError) -> Response:
    """Render ``error`` as ``application/problem+json`` with its status and headers."""
    response = Response(json.dumps(problem_body(error)), status=error.status, mimetype=PROBLEM_JSON)
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
        problem = error_for_status(error.code or 500, error.description or "")
        for name, value in error.get_headers():
            if name.lower() in _KEPT_HTTP_HEADERS:  # Allow (405), Retry-After...
                problem.headers[name] = value
        return problem_response(problem)

    @app.errorhandler(GoogleAPICallError)
    @app.errorhandler(RetryError)
    def _google(error: Exception) -> Response:
        # Firestore, Storage, Tasks... failed or timed out: nothing half-done is reported as
        # success, and the client may retry (503 with Retry-After, not 500). (Two handlers
        # were registered here; Flask kept the second, which dropped Retry-After.)
        log.error("google service call failed: %s", type(error).__name__, exc_info=True)
        return problem_response(
            DependencyUnavailable(
                "a backing service is unavailable; retry",
                headers={"Retry-After": str(DEPENDENCY_RETRY_AFTER_S)},
            )
        )

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unhandled error")
        return problem_response(SharecastError("an unexpected error occurred"))
