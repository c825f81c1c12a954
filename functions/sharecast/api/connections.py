"""Routes of connected accounts (SPEC §4.4): list, OAuth authorize/callback, delete.

- ``GET /connections`` → :class:`ConnectionsOut` (the caller's connections, never tokens)
- ``GET /connections/{platform}/authorize`` → :class:`AuthorizeOut`
- ``GET /connections/{platform}/callback?code=&state=`` → 201 :class:`ConnectionsOut`
- ``DELETE /connections/{id}`` → 204 (404 for anyone else's)
"""

from __future__ import annotations

import requests
from flask import Blueprint, Response, current_app, request

from sharecast.api.connection_schemas import (
    AuthorizeOut,
    CallbackQuery,
    ConnectionOut,
    ConnectionsOut,
)
from sharecast.api.context import deps, principal
from sharecast.domain.statuses import Platform, normalise_platform
from sharecast.oauth import flow
from sharecast.oauth.providers import Provider, build_providers
from sharecast.store import connections as connections_store
from sharecast.timeutil import isoformat, utcnow

bp = Blueprint("connections", __name__)


_PROVIDERS = "sharecast.oauth_providers"


def _providers() -> dict[Platform, Provider]:
    """The OAuth providers of this app, built once (one HTTP session)."""
    providers: dict[Platform, Provider] | None = current_app.extensions.get(_PROVIDERS)
    if providers is None:
        providers = build_providers(deps().settings, requests.Session())
        current_app.extensions[_PROVIDERS] = providers
    return providers


def _json(model: ConnectionsOut | AuthorizeOut, status: int = 200) -> Response:
    return Response(model.model_dump_json(), status=status, mimetype="application/json")


def _provider(name: str) -> Provider:
    platform = normalise_platform(name) if len(name) <= 32 else None
    return flow.provider_for(_providers(), platform)


@bp.get("/connections")
def list_connections() -> Response:
    """The caller's connected accounts with status, scopes and token expiry."""
    user = principal()
    records = connections_store.list_connections(deps().clients.firestore, user_id=user.user_id)
    return _json(ConnectionsOut(connections=[ConnectionOut.of(r) for r in records]))


@bp.get("/connections/<platform>/authorize")
def authorize(platform: str) -> Response:
    """Start connecting an account: the consent URL with a state bound to the caller."""
    user = principal()
    provider = _provider(platform)
    d = deps()
    result = flow.authorize(
        db=d.clients.firestore,
        vault=d.vault,
        settings=d.settings,
        provider=provider,
        user_id=user.user_id,
        now=utcnow(),
    )
    expires = isoformat(result.expires_at)
    assert expires is not None
    return _json(
        AuthorizeOut(
            authorizationUrl=result.authorization_url, state=result.state, expiresAt=expires
        )
    )


@bp.get("/connections/<platform>/callback")
def callback(platform: str) -> Response:
    """Finish connecting: exchange the code and store one connection per account."""
    user = principal()
    provider = _provider(platform)
    query = CallbackQuery.model_validate(request.args.to_dict())
    d = deps()
    saved = flow.callback(
        db=d.clients.firestore,
        vault=d.vault,
        provider=provider,
        user_id=user.user_id,
        code=query.code,
        state=query.state,
        error=query.error,
        now=utcnow(),
    )
    return _json(ConnectionsOut(connections=[ConnectionOut.of(r) for r in saved]), 201)


@bp.delete("/connections/<conn_id>")
def delete(conn_id: str) -> Response:
    """Delete one of the caller's connections (its tokens go with it)."""
    user = principal()
    connections_store.delete_connection(
        deps().clients.firestore, user_id=user.user_id, conn_id=conn_id
    )
    return Response(status=204)
