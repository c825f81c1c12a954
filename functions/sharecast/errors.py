"""The typed exception hierarchy of Sharecast, mapped to HTTP once (``api.problems``).

Every error a request can cause is a :class:`SharecastError` subclass carrying its HTTP status,
a stable machine ``code`` and a human ``detail``; the API renders it as RFC 9457 problem details
(``application/problem+json``: ``type``, ``title``, ``status``, ``detail``, ``code``,
``errors[]``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldProblem:
    """One problem with one input field.

    ``field`` is a JSON-pointer-like path (``platforms[1].content``), ``code`` a stable
    upper-case identifier (``TEXT_TOO_LONG``), ``message`` a sentence for people. ``target`` is
    the index of the offending entry of ``platforms`` when the problem belongs to one target.
    """

    field: str
    code: str
    message: str
    target: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The problem as it appears in ``errors[]``."""
        out: dict[str, Any] = {"field": self.field, "code": self.code, "message": self.message}
        if self.target is not None:
            out["target"] = self.target
        return out


@dataclass
class SharecastError(Exception):
    """Base of every error with a defined HTTP mapping. ``detail`` never holds secrets."""

    detail: str
    errors: list[FieldProblem] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    status: ClassVar[int] = 500
    code: ClassVar[str] = "INTERNAL"
    title: ClassVar[str] = "Internal error"

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


class BadRequest(SharecastError):
    """The request cannot be parsed (malformed JSON, bad query parameter)."""

    status = 400
    code = "BAD_REQUEST"
    title = "Bad request"


class Unauthenticated(SharecastError):
    """No credentials, or credentials that are expired, forged or for another audience."""

    status = 401
    code = "UNAUTHENTICATED"
    title = "Authentication required"


class Forbidden(SharecastError):
    """Authenticated, but the role does not allow this route."""

    status = 403
    code = "FORBIDDEN"
    title = "Forbidden"


class NotFound(SharecastError):
    """The resource does not exist, or belongs to someone else (never revealed as 403)."""

    status = 404
    code = "NOT_FOUND"
    title = "Not found"


class MethodNotAllowed(SharecastError):
    """The route exists but not with this method."""

    status = 405
    code = "METHOD_NOT_ALLOWED"
    title = "Method not allowed"


class Conflict(SharecastError):
    """The resource is in a state that does not allow the operation."""

    status = 409
    code = "CONFLICT"
    title = "Conflict"


class PayloadTooLarge(SharecastError):
    """The request body is larger than the configured cap."""

    status = 413
    code = "PAYLOAD_TOO_LARGE"
    title = "Payload too large"


class UnsupportedMediaType(SharecastError):
    """The request body is not ``application/json``."""

    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"
    title = "Unsupported media type"


class ValidationFailed(SharecastError):
    """The body parsed but is invalid; ``errors`` lists every problem found."""

    status = 422
    code = "VALIDATION_FAILED"
    title = "Validation failed"


class RateLimited(SharecastError):
    """Too many requests; ``headers`` carries ``Retry-After`` (seconds)."""

    status = 429
    code = "RATE_LIMITED"
    title = "Too many requests"


class DependencyUnavailable(SharecastError):
    """A Google service we depend on is unavailable; nothing was recorded."""

    status = 503
    code = "DEPENDENCY_UNAVAILABLE"
    title = "Service unavailable"


PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://sharecast.dev/problems/"

_BY_STATUS: dict[int, type[SharecastError]] = {
    400: BadRequest,
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: ValidationFailed,
    429: RateLimited,
    503: DependencyUnavailable,
}


def error_for_status(status: int, detail: str) -> SharecastError:
    """The :class:`SharecastError` for a framework-level HTTP error (unknown route, 405...)."""
    return _BY_STATUS.get(status, SharecastError)(detail)


def problem_body(error: SharecastError) -> dict[str, Any]:
    """RFC 9457 problem details of ``error``: ``type``, ``title``, ``status``, ``detail``,
    ``code``, and ``errors[]`` when there are field problems. Used by the API and the relay."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + error.code.lower().replace("_", "-"),
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "code": error.code,
    }
    if error.errors:
        body["errors"] = [p.to_json() for p in error.errors]
    body.update(error.extra)
    return body
