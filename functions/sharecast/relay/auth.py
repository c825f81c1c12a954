"""Relay credentials: who is opening a stream (docs/semantics.md#events-and-replay), until when, and
the 401 otherwise.

Accepted, in this order (the first one present decides):

1. ``Authorization: Bearer <token>``: a user JWT or a relay token (``POST /auth/sse-token``);
   a token whose ``aud`` is the relay's is verified as a relay token, any other as a user JWT;
2. ``?token=<relay token>``;
3. ``?auth_token=<user JWT>`` (EventSource cannot set headers);
4. the ``sharecast_sse`` cookie (a relay token) set by ``POST /events/session``.

Each kind is verified only as what it claims to be: a user JWT passed as ``?token=`` is rejected.
A stream ends at its credential's ``exp`` (:attr:`Credential.expires_at`). Tokens are never
logged or echoed. Every 401 carries ``WWW-Authenticate: Bearer error="invalid_token"``
(RFC 6750 §3) so that fetch-based clients know to get fresh credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any

import jwt

from sharecast.auth import SSE_AUDIENCE, Principal, verify_sse_token, verify_user_token
from sharecast.config import Settings
from sharecast.errors import Unauthenticated

#: Name of the session cookie holding a relay token (``POST /events/session``).
SESSION_COOKIE = "sharecast_sse"
#: ``WWW-Authenticate`` of every 401 (https://www.rfc-editor.org/rfc/rfc6750#section-3).
WWW_AUTHENTICATE = 'Bearer realm="sharecast-relay", error="invalid_token"'


@dataclass(frozen=True, slots=True)
class Credential:
    """A verified credential: the ``principal``, the raw ``token``, whether it is a relay
    token (``sse``) and ``expires_at`` (its ``exp``, seconds since the epoch, UTC)."""

    principal: Principal
    token: str
    sse: bool
    expires_at: float


def _claims_unverified(token: str) -> dict[str, Any]:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"invalid token: {type(exc).__name__}") from exc
    if not isinstance(claims, dict):
        raise Unauthenticated("invalid token")
    return claims


def _audiences(claims: dict[str, Any]) -> list[Any]:
    aud = claims.get("aud")
    return aud if isinstance(aud, list) else [aud]


def verify(token: str, settings: Settings, *, sse: bool) -> Credential:
    """Verify ``token`` as a relay token (``sse``) or a user JWT. Raises
    :class:`Unauthenticated`. ``exp`` is read only after the signature was checked."""
    principal = verify_sse_token(token, settings) if sse else verify_user_token(token, settings)
    exp = _claims_unverified(token).get("exp")
    if not isinstance(exp, int | float):
        raise Unauthenticated("token has no usable 'exp' claim")
    return Credential(principal=principal, token=token, sse=sse, expires_at=float(exp))


def verify_bearer(token: str, settings: Settings) -> Credential:
    """A bearer token: a relay token if its ``aud`` says so, else a user JWT."""
    sse = SSE_AUDIENCE in _audiences(_claims_unverified(token))
    return verify(token, settings, sse=sse)


def bearer_token(authorization: str) -> str:
    """The token of an ``Authorization: Bearer <token>`` header value. Raises
    :class:`Unauthenticated` for another scheme or an empty token."""
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization must be 'Bearer <token>'")
    return token.strip()


def session_token(cookie_header: str | None) -> str | None:
    """The relay token in the ``sharecast_sse`` cookie of a ``Cookie`` header, if any."""
    if not cookie_header or SESSION_COOKIE not in cookie_header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie_header)
    except CookieError:
        return None
    morsel = jar.get(SESSION_COOKIE)
    return morsel.value if morsel is not None and morsel.value else None


def authenticate(
    *,
    authorization: str | None,
    query: dict[str, str],
    cookie: str | None,
    settings: Settings,
) -> Credential:
    """The credential of a ``GET /events`` request (see the module docstring for the order).

    ``authorization`` and ``cookie`` are the raw header values, ``query`` the query string's
    parameters. Raises :class:`Unauthenticated` on any failure.
    """
    if authorization is not None:
        return verify_bearer(bearer_token(authorization), settings)
    if token := query.get("token"):
        return verify(token, settings, sse=True)
    if token := query.get("auth_token"):
        return verify(token, settings, sse=False)
    if token := session_token(cookie):
        return verify(token, settings, sse=True)
    raise Unauthenticated(
        "missing credentials: Authorization header, ?token=, ?auth_token= or the session cookie"
    )
