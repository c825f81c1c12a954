"""Errors a connector raises, already classified as transient or permanent
(docs/semantics.md#statuses-and-rules).

The publisher never inspects HTTP responses itself: it reads ``retryable`` and
``retry_after_s`` from these errors and records ``code``/``message`` on the target.
"""

from __future__ import annotations


class PlatformError(Exception):
    """A failed call to a platform.

    ``code``: stable upper-case identifier recorded on the target (``RATE_LIMITED``,
    ``DUPLICATE_CONTENT``, ``PLATFORM_5XX``...); ``message``: the platform's explanation with no
    tokens in it; ``retryable``: whether another attempt may succeed; ``retry_after_s``: the
    platform's own wait instruction in seconds, if it gave one; ``http_status``: the status code
    the platform answered, if any.
    """

    retryable: bool = False

    def __init__(
        self,
        code: str,
        message: str,
        *,
        retry_after_s: float | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retry_after_s = retry_after_s
        self.http_status = http_status


class TransientPlatformError(PlatformError):
    """Network errors, timeouts, HTTP 5xx, 429 and platform throttling codes: retry."""

    retryable = True


class PermanentPlatformError(PlatformError):
    """Validation, permission, not-found and policy errors: do not retry."""

    retryable = False


class DuplicateContentError(PermanentPlatformError):
    """The platform refused the post as a duplicate of an earlier one.

    After an attempt whose outcome is unknown this means "already posted"
    (docs/semantics.md#statuses-and-rules).
    """


class AuthExpiredError(TransientPlatformError):
    """The access token expired or was revoked; a refresh may fix it."""


def by_http_status(status: int, message: str) -> PlatformError:
    """The error family of a failed HTTP answer once a platform's own codes said nothing more
    specific (docs/semantics.md#statuses-and-rules): 401 → :class:`AuthExpiredError` (a refresh may
    fix it), 403/404 and other 4xx → permanent, 5xx → transient ``PLATFORM_5XX``. ``http_status`` is
    kept."""
    if status == 401:
        return AuthExpiredError("TOKEN_EXPIRED", message, http_status=status)
    if status == 403:
        return PermanentPlatformError("PERMISSION_DENIED", message, http_status=status)
    if status == 404:
        return PermanentPlatformError("NOT_FOUND", message, http_status=status)
    if status >= 500:
        return TransientPlatformError("PLATFORM_5XX", message, http_status=status)
    return PermanentPlatformError("INVALID_REQUEST", message, http_status=status)
