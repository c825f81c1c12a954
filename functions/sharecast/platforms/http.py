"""HTTP plumbing shared by every connector: one call, its failures, and token hygiene.

Transport failures become :class:`TransientPlatformError` ``NETWORK`` (the request may or may
not have reached the platform, so the publisher reconciles before sending again); HTTP errors
are classified by the connector's own pure function. Tokens never appear in error messages.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from sharecast.platforms.errors import PlatformError, TransientPlatformError

#: ``classify(status, body, headers)``: a connector's mapping of an error answer
#: (docs/semantics.md#statuses-and-rules).
Classifier = Callable[[int, Any, Mapping[str, str]], PlatformError]


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup that also works on plain dicts."""
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def as_int(value: Any) -> int | None:
    """``value`` as an int, or ``None`` when it is missing or not a number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def server_clock(headers: Mapping[str, str]) -> float:
    """The answer's own time (its ``Date`` header, RFC 9110 §6.6.1) as epoch seconds, or the
    local clock when the header is missing or unparsable.

    Waits announced as absolute times (X's ``x-rate-limit-reset`` epoch seconds, an HTTP-date
    ``Retry-After``, Google's midnight-Pacific quota reset) are measured from the server's clock,
    so a skewed local clock neither shortens nor stretches them."""
    raw = header(headers, "date")
    if raw:
        try:
            return parsedate_to_datetime(raw).timestamp()
        except (TypeError, ValueError, IndexError):
            pass
    return time.time()


def retry_after_header(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or an HTTP-date, RFC 9110
    §10.2.3), never negative; ``None`` when absent or unparsable. An HTTP-date is measured from
    ``now`` (epoch seconds; default :func:`server_clock`)."""
    value = header(headers, "retry-after")
    if not value:
        return None
    seconds = as_int(value.strip())
    if seconds is not None:
        return float(max(0, seconds))
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (server_clock(headers) if now is None else now))


def scrub(text: str, token: str) -> str:
    """``text`` with every occurrence of ``token`` replaced by ``[redacted]``."""
    return text.replace(token, "[redacted]") if token else text


class PlatformHttp:
    """Sends requests to one platform with a per-call timeout (seconds) over a shared session."""

    def __init__(self, *, timeout_s: float, session: requests.Session | None = None) -> None:
        self.timeout_s = timeout_s
        self.session = session if session is not None else requests.Session()

    def send(
        self, method: str, url: str, *, token: str, headers: dict[str, str], **kwargs: Any
    ) -> requests.Response:
        """Send one request. Raises ``TransientPlatformError("NETWORK")`` on timeouts and
        connection errors, with the token scrubbed from the message."""
        try:
            return self.session.request(
                method, url, headers=headers, timeout=self.timeout_s, **kwargs
            )
        except requests.Timeout as exc:
            raise TransientPlatformError(
                "NETWORK", f"timed out after {self.timeout_s}s: {scrub(str(exc), token)}"
            ) from None
        except requests.RequestException as exc:
            raise TransientPlatformError(
                "NETWORK", f"{type(exc).__name__}: {scrub(str(exc), token)}"
            ) from None

    @staticmethod
    def json_or_raise(
        response: requests.Response,
        *,
        token: str,
        classify: Classifier,
        is_error: Callable[[int, Any], bool] = lambda status, _body: status >= 400,
    ) -> Any:
        """The JSON body of a successful answer (``None`` when not JSON); otherwise raises the
        error ``classify`` maps it to, with the token scrubbed from its message."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if is_error(response.status_code, body):
            error = classify(response.status_code, body, response.headers)
            error.message = scrub(error.message, token)
            error.args = (f"{error.code}: {error.message}",)
            raise error
        return body


def created_id(value: Any, *, status: int, where: str) -> str:
    """The platform's id of a post it just created (``where`` names the field, for the message).

    A success answer without an id means the post may exist: raises
    ``TransientPlatformError("UNKNOWN_OUTCOME")`` so the next attempt reconciles first.
    """
    if not isinstance(value, str | int) or not str(value):
        raise TransientPlatformError(
            "UNKNOWN_OUTCOME",
            f"HTTP {status} without {where}; the post may exist",
            http_status=status,
        )
    return str(value)
