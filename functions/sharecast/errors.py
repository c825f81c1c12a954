"""The one typed exception hierarchy of Sharecast, and its one mapping to HTTP.

Every error Sharecast raises on purpose is a :class:`SharecastError` subclass carrying a stable
machine ``code`` and a human ``detail``. The classes say what went wrong, never which HTTP status
it is: the store raises storage-level errors (:class:`NotFound`, :class:`Conflict`,
:class:`Contention`), features raise request-level ones (:class:`ValidationFailed`...), and
:data:`HTTP_STATUS` below is the only place where a class becomes a status. The API and the
relay render errors as RFC 9457 problem details with :func:`problem_body`
(``application/problem+json``: ``type``, ``title``, ``status``, ``detail``, ``code``,
``errors[]``). Subclasses elsewhere (``oauth.errors``, ``media.uploads``,
``domain.user_transitions``) only refine ``code``/``title`` and inherit their status.
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

    code: ClassVar[str] = "INTERNAL"
    title: ClassVar[str] = "Internal error"

    def __post_init__(self) -> None:
        """Subclasses add their default headers here."""

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"

    @property
    def status(self) -> int:
        """The HTTP status of this error (:func:`http_status`)."""
        return http_status(type(self))


class BadRequest(SharecastError):
    """The request cannot be parsed (malformed JSON, bad query parameter)."""

    code = "BAD_REQUEST"
    title = "Bad request"


class Unauthenticated(SharecastError):
    """No credentials, or credentials that are expired, forged or for another audience."""

    code = "UNAUTHENTICATED"
    title = "Authentication required"


class Forbidden(SharecastError):
    """Authenticated, but the role does not allow this route."""

    code = "FORBIDDEN"
    title = "Forbidden"


class NotFound(SharecastError):
    """The record or resource does not exist, or belongs to someone else (never revealed as
    403). Raised by the store for a missing document."""

    code = "NOT_FOUND"
    title = "Not found"


class MethodNotAllowed(SharecastError):
    """The route exists but not with this method."""

    code = "METHOD_NOT_ALLOWED"
    title = "Method not allowed"


class Conflict(SharecastError):
    """The record or resource is in a state that does not allow the operation."""

    code = "CONFLICT"
    title = "Conflict"


class Contention(Conflict):
    """The record kept changing under an optimistic write or transaction (every retry lost a
    race); trying again later may succeed. Raised by the store. Answers carry ``Retry-After``
    (:data:`CONTENTION_RETRY_AFTER_S` seconds unless given)."""

    code = "CONTENTION"
    title = "Conflicting changes"

    def __post_init__(self) -> None:
        self.headers.setdefault("Retry-After", str(CONTENTION_RETRY_AFTER_S))


#: Seconds a client should wait before repeating a request that lost a race (``Retry-After``).
CONTENTION_RETRY_AFTER_S = 1


class PayloadTooLarge(SharecastError):
    """The request body is larger than the configured cap."""

    code = "PAYLOAD_TOO_LARGE"
    title = "Payload too large"


class RequestTimedOut(SharecastError):
    """The request body did not arrive in time (a slow or stalled sender)."""

    code = "REQUEST_TIMEOUT"
    title = "Request timeout"


class UnsupportedMediaType(SharecastError):
    """The request body is not ``application/json``."""

    code = "UNSUPPORTED_MEDIA_TYPE"
    title = "Unsupported media type"


class ValidationFailed(SharecastError):
    """The body parsed but is invalid; ``errors`` lists every problem found."""

    code = "VALIDATION_FAILED"
    title = "Validation failed"


class RateLimited(SharecastError):
    """Too many requests; ``headers`` carries ``Retry-After`` (seconds)."""

    code = "RATE_LIMITED"
    title = "Too many requests"


class DependencyUnavailable(SharecastError):
    """A Google service we depend on is unavailable; nothing was recorded."""

    code = "DEPENDENCY_UNAVAILABLE"
    title = "Service unavailable"


class NotConfigured(SharecastError):
    """This deployment lacks the configuration the operation needs (client credentials...)."""

    code = "NOT_CONFIGURED"
    title = "Not configured"


class UpstreamFailed(SharecastError):
    """A third party the request depends on (a network's OAuth endpoint) failed."""

    code = "UPSTREAM_FAILED"
    title = "Upstream unavailable"


class InternalError(SharecastError):
    """Base of errors that never reach a client as such: the code that catches them turns them
    into an outcome (a failed target, a lost lease...). Rendered as 500 if one escapes."""


PROBLEM_JSON = "application/problem+json"
#: Where the repository's ``docs/`` pages are published; a problem's ``type`` is
#: ``{docs}/problems.md#{anchor}`` (the ``DOCS_BASE_URL`` setting overrides it per deployment).
DEFAULT_DOCS_BASE_URL = "https://github.com/sharecast/sharecast/blob/main/docs"

#: The vocabulary of ``errors[].code`` (field problems), each documented in
#: docs/problems.md#field-problems. The first group is about the shape of a value, the second
#: about the rules a valid value must also follow; a test keeps the page and this set equal.
FIELD_CODES: frozenset[str] = frozenset(
    {
        # shape (checked on every request and query model)
        "MALFORMED_JSON",
        "DUPLICATE_KEY",
        "REQUIRED",
        "UNKNOWN_FIELD",
        "WRONG_TYPE",
        "TOO_SHORT",
        "TOO_LONG",
        "TOO_FEW_ITEMS",
        "TOO_MANY_ITEMS",
        "OUT_OF_RANGE",
        "INVALID_FORMAT",
        "INVALID_CHOICE",
        "INVALID_VALUE",
        "INVALID_DATETIME",
        "TIMEZONE_REQUIRED",
        "DATE_OUT_OF_RANGE",
        "NOTHING_TO_CHANGE",
        # rules
        "TEXT_REQUIRED",
        "TEXT_TOO_LONG",
        "TOO_MANY_HASHTAGS",
        "TITLE_REQUIRED",
        "TITLE_TOO_LONG",
        "TITLE_INVALID",
        "UNKNOWN_PLATFORM",
        "PLATFORM_NOT_ENABLED",
        "SHARE_LINK_ONLY",
        "NOT_CONNECTED",
        "DUPLICATE_TARGET",
        "SCHEDULE_IN_PAST",
        "SCHEDULE_TOO_FAR",
        "MEDIA_REQUIRED",
        "TOO_MANY_MEDIA",
        "MEDIA_NOT_FOUND",
        "MEDIA_NOT_READY",
        "MEDIA_NOT_ACCEPTED",
        "MEDIA_NOT_SUPPORTED",
        "MEDIA_KIND_NOT_ALLOWED",
        "UNSUPPORTED_MEDIA_TYPE",
        "VIDEO_MUST_BE_ALONE",
        "DUPLICATE_MEDIA",
        "MIME_TYPE_NOT_ALLOWED",
        "SIZE_INVALID",
        "SIZE_TOO_LARGE",
        "UNKNOWN_KIND",
        "MEDIA_IN_USE",
        "UPLOAD_NOT_FOUND",
        "EMPTY_RANGE",
        "RANGE_TOO_LONG",
        "IDEMPOTENCY_KEY_REUSED",
        "URL_NOT_ALLOWED",
        "UNKNOWN_EVENT_TYPE",
    }
)

#: The HTTP status of each error class: the one mapping from the hierarchy to HTTP. A class
#: not listed takes the status of its nearest listed base (500 for :class:`SharecastError`).
HTTP_STATUS: dict[type[SharecastError], int] = {
    SharecastError: 500,
    BadRequest: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    MethodNotAllowed: 405,
    RequestTimedOut: 408,
    Conflict: 409,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    ValidationFailed: 422,
    RateLimited: 429,
    NotConfigured: 501,
    UpstreamFailed: 502,
    DependencyUnavailable: 503,
}

_BY_STATUS: dict[int, type[SharecastError]] = {
    status: cls for cls, status in HTTP_STATUS.items() if cls is not SharecastError
}


def http_status(cls: type[SharecastError]) -> int:
    """The HTTP status of ``cls``: its own or its nearest base's entry in :data:`HTTP_STATUS`."""
    for base in cls.__mro__:
        if base in HTTP_STATUS:
            return HTTP_STATUS[base]
    return 500


def error_for_status(status: int, detail: str) -> SharecastError:
    """The :class:`SharecastError` for a framework-level HTTP error (unknown route, 405...)."""
    return _BY_STATUS.get(status, SharecastError)(detail)


def problem_anchor(code: str) -> str:
    """The anchor of ``code``'s entry in docs/problems.md (``VALIDATION_FAILED`` →
    ``validation-failed``)."""
    return code.lower().replace("_", "-")


def problem_type(code: str, docs_base_url: str = DEFAULT_DOCS_BASE_URL) -> str:
    """The problem ``type`` URI of ``code``: its entry in ``{docs_base_url}/problems.md``."""
    return f"{docs_base_url.rstrip('/')}/problems.md#{problem_anchor(code)}"


def problem_body(
    error: SharecastError, *, docs_base_url: str = DEFAULT_DOCS_BASE_URL
) -> dict[str, Any]:
    """RFC 9457 problem details of ``error``: ``type`` (:func:`problem_type`), ``title``,
    ``status``, ``detail``, ``code``, and ``errors[]`` when there are field problems. Used by
    the API and the relay."""
    body: dict[str, Any] = {
        "type": problem_type(error.code, docs_base_url),
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "code": error.code,
    }
    if error.errors:
        body["errors"] = [p.to_json() for p in error.errors]
    body.update(error.extra)
    return body
