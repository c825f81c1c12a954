"""RFC 9457 problem details: the one place where exceptions become HTTP responses.

Validation errors of the request models become field problems with codes of our own
vocabulary (:data:`sharecast.errors.FIELD_CODES`, docs/problems.md#field-problems): pydantic's
error types are translated by :data:`PYDANTIC_CODES`, and our own checks raise their code
directly (``api.fields.field_error``). A problem's ``type`` is its entry in
``{DOCS_BASE_URL}/problems.md``.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, json
from google.api_core.exceptions import GoogleAPICallError, RetryError
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from sharecast.errors import (
    DEFAULT_DOCS_BASE_URL,
    FIELD_CODES,
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
#: Seconds a client should wait before retrying after a dependency outage (503).
DEPENDENCY_RETRY_AFTER_S = 5
#: ``app.config`` key of the docs base URL used in problem ``type`` URIs.
DOCS_BASE_URL_KEY = "SHARECAST_DOCS_BASE_URL"

#: pydantic error types (https://docs.pydantic.dev/latest/errors/validation_errors/) → our
#: field problem codes. A type not listed is ``INVALID_VALUE``.
PYDANTIC_CODES: dict[str, str] = {
    "missing": "REQUIRED",
    "extra_forbidden": "UNKNOWN_FIELD",
    "string_too_short": "TOO_SHORT",
    "string_too_long": "TOO_LONG",
    "too_short": "TOO_FEW_ITEMS",
    "too_long": "TOO_MANY_ITEMS",
    "greater_than": "OUT_OF_RANGE",
    "greater_than_equal": "OUT_OF_RANGE",
    "less_than": "OUT_OF_RANGE",
    "less_than_equal": "OUT_OF_RANGE",
    "string_pattern_mismatch": "INVALID_FORMAT",
    "literal_error": "INVALID_CHOICE",
    "enum": "INVALID_CHOICE",
    "timezone_aware": "TIMEZONE_REQUIRED",
    "datetime_parsing": "INVALID_DATETIME",
    "datetime_from_date_parsing": "INVALID_DATETIME",
    "datetime_object_invalid": "INVALID_DATETIME",
    "json_invalid": "MALFORMED_JSON",
}
_TYPE_ERRORS = ("_type", "_parsing", "_from_float", "_from_string")


def field_code(error_type: str) -> str:
    """Our field problem code for a pydantic error ``type`` (or our own code, unchanged)."""
    if error_type in FIELD_CODES:
        return error_type
    if error_type in PYDANTIC_CODES:
        return PYDANTIC_CODES[error_type]
    if error_type.endswith(_TYPE_ERRORS) or error_type in {
        "model_attributes_type",
        "none_required",
    }:
        return "WRONG_TYPE"
    return "INVALID_VALUE"


def problem_response(error: SharecastError) -> Response:
    """Render ``error`` as ``application/problem+json`` with its status and headers."""
    try:
        docs = current_app.config.get(DOCS_BASE_URL_KEY, DEFAULT_DOCS_BASE_URL)
    except RuntimeError:  # outside an app context (unit tests of the rendering)
        docs = DEFAULT_DOCS_BASE_URL
    body = problem_body(error, docs_base_url=docs)
    response = Response(json.dumps(body), status=error.status, mimetype=PROBLEM_JSON)
    for name, value in error.headers.items():
        response.headers[name] = value
    return response


def field_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as a field path: ``("platforms", 0, "content")`` →
    ``platforms[0].content``; the empty location is ``body``."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def pydantic_problems(exc: ValidationError) -> list[FieldProblem]:
    """Field problems from a pydantic validation error, one per error, with our codes."""
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        loc: tuple[Any, ...] = tuple(err["loc"])
        target = (
            loc[1] if len(loc) >= 2 and loc[0] == "platforms" and isinstance(loc[1], int) else None
        )
        out.append(FieldProblem(field_path(loc), field_code(err["type"]), err["msg"], target))
    return out


def register(app: Flask, *, docs_base_url: str = DEFAULT_DOCS_BASE_URL) -> None:
    """Install the error handlers on ``app`` (every error becomes problem+json whose ``type``
    points into ``{docs_base_url}/problems.md``)."""
    app.config[DOCS_BASE_URL_KEY] = docs_base_url

    @app.errorhandler(SharecastError)
    def _sharecast(error: SharecastError) -> Response:
        if error.status >= 500:
            log.error("request failed: %s", error)
        return problem_response(error)

    @app.errorhandler(ValidationError)
    def _validation(error: ValidationError) -> Response:
        return problem_response(
            ValidationFailed("the request is invalid", errors=pydantic_problems(error))
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
    def _dependency(error: Exception) -> Response:
        # Firestore, Storage, Tasks... failed or timed out: nothing half-done is reported as
        # success, and the client may retry (503 with Retry-After, not 500). One handler per
        # exception class: Flask keeps only the last one registered for a class.
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
