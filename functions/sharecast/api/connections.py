"""Routes of connected accounts (docs/api.md#accounts-realtime-and-operations): list, OAuth
authorize/callback, delete.

- `GET /connections` → :class:`ConnectionsOut` (the caller's connections, never tokens)
- `GET /connections/{platform}/authorize` → :class:`AuthorizeOut`
- `GET /connections/{platform}/callback?code=&state=` → 201 :class:`ConnectionsOut`
- `DELETE /connections/{id}` → 204 (404 for anyone else's)
"""

from __future__ import annotations

from flask import Blueprint

from sharecast.api.connection_schemas import (
    AuthorizeOut,
    CallbackQuery,
    ConnectionOut,
    ConnectionsOut,
)
from sharecast.api.context import context
from sharecast.api.routes import AUTHORS, route
from sharecast.auth import Principal
from sharecast.domain.statuses import normalise_platform
from sharecast.oauth import flow
from sharecast.oauth.providers import Provider, build_providers
from sharecast.store import connections as connections_store
from sharecast.timeutil import utcnow

bp = Blueprint("connections", __name__)


def _provider(name: str) -> Provider:
    """The OAuth provider of `name` on the app's HTTP session (404/400/501, see
    :func:`sharecast.oauth.flow.provider_for`)."""
    platform = normalise_platform(name) if len(name) <= 32 else None
    ctx = context()
    return flow.provider_for(build_providers(ctx.settings, ctx.http), platform)


@route(
    bp,
    "GET",
    "/connections",
    summary="The caller's connected accounts",
    roles=AUTHORS,
    rate="read",
    responses={200: ConnectionsOut},
)
def list_connections(user: Principal) -> ConnectionsOut:
    """The caller's connected accounts with status, scopes and token expiry (never tokens)."""
    records = connections_store.list_connections(context().db, user_id=user.user_id)
    return ConnectionsOut(connections=[ConnectionOut.of(r) for r in records])


@route(
    bp,
    "GET",
    "/connections/{platform}/authorize",
    summary="Start connecting an account: the OAuth consent URL",
    roles=AUTHORS,
    rate="write",
    responses={200: AuthorizeOut},
)
def authorize(user: Principal, platform: str) -> AuthorizeOut:
    """The consent URL with a single-use state bound to the caller (PKCE where required)."""
    provider = _provider(platform)
    ctx = context()
    result = flow.authorize(
        ctx,
        provider=provider,
        user_id=user.user_id,
        now=utcnow(),
    )
    return AuthorizeOut(
        authorizationUrl=result.authorization_url, state=result.state, expiresAt=result.expires_at
    )


@route(
    bp,
    "GET",
    "/connections/{platform}/callback",
    summary="Finish connecting: exchange the code, store one connection per account",
    roles=AUTHORS,
    rate="write",
    query=CallbackQuery,
    responses={201: ConnectionsOut},
)
def callback(user: Principal, platform: str, query: CallbackQuery) -> tuple[ConnectionsOut, int]:
    """Called with what the network appended to the redirect URI (`code`, `state`)."""
    provider = _provider(platform)
    ctx = context()
    saved = flow.callback(
        ctx,
        provider=provider,
        user_id=user.user_id,
        code=query.code,
        state=query.state,
        error=query.error,
        now=utcnow(),
    )
    return ConnectionsOut(connections=[ConnectionOut.of(r) for r in saved]), 201


@route(
    bp,
    "DELETE",
    "/connections/{conn_id}",
    summary="Delete one of the caller's connections",
    roles=AUTHORS,
    rate="write",
    responses={204: None},
)
def delete(user: Principal, conn_id: str) -> tuple[None, int]:
    """Its tokens go with it; someone else's connection is 404."""
    connections_store.delete_connection(context().db, user_id=user.user_id, conn_id=conn_id)
    return None, 204
