"""Who may call the internal functions (publisher, sweeper): Cloud Tasks and Cloud Scheduler.

In production (allowed service accounts configured) every request must carry
``Authorization: Bearer <Google-signed OIDC ID token>`` whose signature verifies against
Google's certificates (``GOOGLE_OIDC_CERTS_URL``), whose issuer is Google, whose audience is the
function's URL and whose verified
``email`` is one of the allowed service accounts. Cloud Run IAM checks the same token at the
door; checking it again here means a mis-set IAM binding cannot open the function.
Locally (``INTERNAL_AUTH_SECRET``) a shared secret header is required instead. See
https://cloud.google.com/tasks/docs/creating-http-target-tasks#token and
https://googleapis.dev/python/google-auth/latest/reference/google.oauth2.id_token.html.
"""

from __future__ import annotations

import hmac
import threading
import time
from typing import Any

import google.auth.transport.requests
from flask import Request
from google.auth import exceptions as auth_exceptions
from google.oauth2 import id_token

from sharecast.config import Settings
from sharecast.errors import Unauthenticated
from sharecast.tasks import INTERNAL_AUTH_HEADER

GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
#: Seconds Google's certificates are reused before they are fetched again.
CERTS_CACHE_S = 300.0


class _CachingRequest(google.auth.transport.requests.Request):
    """A google-auth transport that reuses GET answers (the certificates) for a while, so a
    verification costs no HTTP round trip per task."""

    def __init__(self) -> None:
        super().__init__()
        self._cache: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def __call__(
        self,
        url: Any,
        method: Any = "GET",
        body: Any = None,
        headers: Any = None,
        timeout: Any = 120,
        **kwargs: Any,
    ) -> Any:
        kwargs.update(body=body, headers=headers, timeout=timeout)
        if method != "GET" or body is not None:
            return super().__call__(url, method=method, **kwargs)
        with self._lock:
            hit = self._cache.get(url)
            if hit is not None and time.monotonic() - hit[0] < CERTS_CACHE_S:
                return hit[1]
        response = super().__call__(url, method=method, **kwargs)
        if response.status == 200:
            with self._lock:
                self._cache[url] = (time.monotonic(), response)
        return response


_transport = _CachingRequest()


def verify_internal_caller(
    request: Request, settings: Settings, *, audience: str, accounts: list[str] | None = None
) -> str:
    """Check the caller of an internal function; returns who it is (for logs).

    ``audience`` is the function's own URL; ``accounts`` the service accounts allowed (default
    ``INTERNAL_OIDC_SERVICE_ACCOUNTS``; OIDC is required when there is at least one).
    Raises :class:`Unauthenticated` (401) for a missing, invalid, expired, foreign or
    wrong-account token, or a wrong shared secret. With neither OIDC nor a secret configured
    the request is accepted (Cloud Run IAM alone guards the function).
    """
    allowed = settings.internal_oidc_service_accounts if accounts is None else accounts
    if allowed:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("an OIDC bearer token is required")
        try:
            claims = id_token.verify_token(
                token.strip(),
                _transport,
                audience=audience,
                certs_url=settings.google_oidc_certs_url,
                clock_skew_in_seconds=settings.jwt_leeway_s,
            )
        except (ValueError, auth_exceptions.GoogleAuthError) as exc:
            raise Unauthenticated(f"invalid OIDC token: {type(exc).__name__}") from exc
        if claims.get("iss") not in GOOGLE_ISSUERS:
            raise Unauthenticated("the OIDC token was not issued by Google")
        email = claims.get("email")
        if claims.get("email_verified") is not True or email not in allowed:
            raise Unauthenticated("the OIDC token is not from an allowed service account")
        return f"oidc:{email}"
    secret = settings.internal_auth_secret
    if secret is None:
        return "unchecked"
    given = request.headers.get(INTERNAL_AUTH_HEADER, "")
    if not hmac.compare_digest(given.encode(), secret.get_secret_value().encode()):
        raise Unauthenticated("internal caller not authenticated")
    return "secret"
