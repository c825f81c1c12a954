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
    (docs/semantics.md#statuses-and-rules). ``existing_id`` / ``existing_url``: the earlier post,
    when the platform names it (LinkedIn's 422 ``DUPLICATE_POST`` says "Content is a duplicate of
    urn:li:share:..."); ``None`` when it does not (X, Facebook).
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        existing_id: str | None = None,
        existing_url: str | None = None,
        retry_after_s: float | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(code, message, retry_after_s=retry_after_s, http_status=http_status)
        self.existing_id = existing_id
        self.existing_url = existing_url


class BillingError(PermanentPlatformError):
    """The platform refuses to serve the request until the account is paid for (code
    ``BILLING``): e.g. X's 402 ``CreditsDepleted`` when the developer account has no credits
    left. Retrying cannot help; the user (or operator) must top up, then retry the target."""


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
