"""Per-app dependencies and request helpers shared by the blueprints."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import current_app, g, request
from pydantic import BaseModel

from sharecast.auth import Principal, verify_user_token
from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.errors import BadRequest, Forbidden, Unauthenticated, UnsupportedMediaType
from sharecast.vault import TokenVault

M = TypeVar("M", bound=BaseModel)

_EXTENSION = "sharecast"


@dataclass
class Deps:
    """Everything handlers need: settings, the lazily built Google clients and the vault."""

    settings: Settings
    clients: Clients
    vault: TokenVault


def deps() -> Deps:
    """The dependencies of the current app."""
    result: Deps = current_app.extensions[_EXTENSION]
    return result


def install(app: Any, value: Deps) -> None:
    """Attach ``value`` to ``app`` for :func:`deps`."""
    app.extensions[_EXTENSION] = value


def principal() -> Principal:
    """The authenticated caller of this request (``Authorization: Bearer <JWT>``).

    Raises :class:`Unauthenticated` (401, with ``WWW-Authenticate``) when missing or invalid.
    """
    cached = g.get("principal")
    if cached is not None:
        return cached
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "a bearer token is required", headers={"WWW-Authenticate": 'Bearer realm="sharecast"'}
        )
    try:
        result = verify_user_token(token.strip(), deps().settings)
    except Unauthenticated as exc:
        exc.headers.setdefault("WWW-Authenticate", 'Bearer error="invalid_token"')
        raise
    g.principal = result
    return result


def json_body(model: type[M]) -> M:
    """Parse the JSON body into ``model``.

    Raises :class:`UnsupportedMediaType` (415) for other content types, :class:`BadRequest`
    (400) for malformed JSON, and pydantic's ``ValidationError`` (rendered as 422) for invalid
    fields.
    """
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("the body must be application/json")
    raw = request.get_data(cache=False)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"malformed JSON: {exc}") from exc
    return model.model_validate(data)


def query_args(model: type[M]) -> M:
    """Parse the query string into ``model`` (the first value of each parameter); pydantic's
    ``ValidationError`` is rendered as 422 with one entry per bad parameter."""
    return model.model_validate(request.args.to_dict())


def require_role(*allowed: str) -> Principal:
    """The caller, when their role is one of ``allowed``; raises :class:`Forbidden` (403)
    otherwise (:class:`Unauthenticated` without a valid token). The one place routes check
    roles (SPEC §4.4: monitor reads operations data, admin also acts on it)."""
    user = principal()
    if user.role not in allowed:
        raise Forbidden(f"this route needs one of the roles {', '.join(allowed)}")
    return user
