"""Authentication: end-user JWTs (pyjwt) and short-lived relay tokens.

User tokens are verified with the algorithms named in settings, never the token's header:
HS256 with ``JWT_SECRET`` locally, or RS256/ES256 with keys from ``JWT_JWKS_URL`` (cached by
:class:`jwt.PyJWKClient`). ``exp`` is required; ``nbf``, ``iss`` and ``aud`` are checked when
present/configured, with ``JWT_LEEWAY_S`` seconds of leeway. The role comes from the
``ROLE_CLAIM`` claim (default ``role``; a name or a list of names; ``user`` when absent).

Hardening: the accepted algorithms come only from ``JWT_ALGORITHMS`` (Settings refuses HMAC
algorithms next to a JWKS and ``none`` altogether), so ``alg: none`` and HS/RS confusion fail;
a ``kid`` unknown to the JWKS makes :class:`jwt.PyJWKClient` refetch the set once (key
rotation) and then fails. See https://pyjwt.readthedocs.io/en/stable/usage.html.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

from sharecast.config import Settings
from sharecast.errors import Unauthenticated
from sharecast.timeutil import utcnow

#: Roles from the least to the most privileged (docs/api.md#accounts-realtime-and-operations). A
#: claim listing several roles gets the most privileged one. Which roles may call a route is
#: declared with the route (``sharecast.api.routes``), not derived from this order.
ROLES = ("user", "viewer", "monitor", "admin")
SSE_AUDIENCE = "sharecast-relay"
_SSE_ALGORITHM = "HS256"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: ``user_id`` (the ``sub`` claim) and ``role``."""

    user_id: str
    role: str


@functools.cache
def _jwks_client(url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=300)


def _principal(claims: dict[str, Any], role_claim: str) -> Principal:
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 128 or "/" in sub:
        raise Unauthenticated("token has no usable 'sub' claim")
    raw = claims.get(role_claim, "user")
    granted = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else None
    if not granted or not all(isinstance(r, str) for r in granted):
        raise Unauthenticated("the role claim must be a role name or a list of them")
    known = [r for r in ROLES if r in granted]
    if len(known) != len(granted):
        raise Unauthenticated("unknown role in the role claim")
    return Principal(user_id=sub, role=known[-1])


def verify_user_token(token: str, settings: Settings) -> Principal:
    """Verify an end-user JWT and return its principal.

    Raises :class:`Unauthenticated` for every failure (expired, not yet valid, bad signature,
    wrong issuer/audience, unexpected algorithm, malformed); the message never echoes the token.
    """
    try:
        if settings.jwt_jwks_url:
            key: Any = _jwks_client(settings.jwt_jwks_url).get_signing_key_from_jwt(token).key
        elif settings.jwt_secret is not None:
            key = settings.jwt_secret.get_secret_value()
        else:
            raise Unauthenticated("no JWT verification key is configured")
        claims = jwt.decode(
            token,
            key=key,
            algorithms=settings.jwt_algorithms,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=settings.jwt_leeway_s,
            options={"require": ["exp", "sub"], "verify_aud": settings.jwt_audience is not None},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("token expired") from exc
    except jwt.ImmatureSignatureError as exc:
        raise Unauthenticated("token not yet valid") from exc
    except (jwt.PyJWTError, ValueError) as exc:
        raise Unauthenticated(f"invalid token: {type(exc).__name__}") from exc
    if claims.get("aud") == SSE_AUDIENCE:
        raise Unauthenticated("relay tokens are not accepted here")
    return _principal(claims, settings.role_claim)


def _sse_key(settings: Settings) -> str:
    secret = settings.sse_token_secret or settings.jwt_secret
    if secret is None:
        raise Unauthenticated("no relay token key is configured")
    return secret.get_secret_value()


def issue_sse_token(principal: Principal, settings: Settings) -> tuple[str, datetime]:
    """A relay token for ``principal``, valid ``SSE_TOKEN_TTL_S`` s: ``(token, expires_at)``."""
    now = utcnow()
    expires = now + timedelta(seconds=settings.sse_token_ttl_s)
    claims = {
        "sub": principal.user_id,
        settings.role_claim: principal.role,
        "aud": SSE_AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
    }
    return jwt.encode(claims, _sse_key(settings), algorithm=_SSE_ALGORITHM), expires


def verify_sse_token(token: str, settings: Settings) -> Principal:
    """Verify a relay token made by :func:`issue_sse_token`. Raises :class:`Unauthenticated`."""
    try:
        claims = jwt.decode(
            token,
            key=_sse_key(settings),
            algorithms=[_SSE_ALGORITHM],
            audience=SSE_AUDIENCE,
            leeway=settings.jwt_leeway_s,
            options={"require": ["exp", "sub", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("token expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"invalid token: {type(exc).__name__}") from exc
    return _principal(claims, settings.role_claim)


def issue_dev_token(
    settings: Settings, *, user_id: str, role: str = "user", ttl_s: int = 12 * 3600
) -> str:
    """An HS256 user token signed with ``JWT_SECRET``, for local development and tests only."""
    if settings.jwt_secret is None:
        raise RuntimeError("JWT_SECRET is not set")
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    now = utcnow()
    claims: dict[str, Any] = {
        "sub": user_id,
        settings.role_claim: role,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_s)).timestamp()),
    }
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")
