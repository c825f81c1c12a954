"""`POST /auth/sse-token`: a short-lived token for the relay
(docs/api.md#accounts-realtime-and-operations)."""

from __future__ import annotations

from flask import Blueprint

from sharecast.api.context import context
from sharecast.api.routes import ANY_ROLE, route
from sharecast.api.schemas import SseTokenOut
from sharecast.auth import Principal, issue_sse_token

bp = Blueprint("session", __name__)


@route(
    bp,
    "POST",
    "/auth/sse-token",
    summary="A short-lived token for GET /events?token= on the relay",
    roles=ANY_ROLE,
    rate="session",
    responses={200: SseTokenOut},
)
def sse_token(user: Principal) -> SseTokenOut:
    """Issue `{token, expiresAt}`; the token is valid `SSE_TOKEN_TTL_S` seconds and only
    on the relay (its audience)."""
    token, expires = issue_sse_token(user, context().settings)
    return SseTokenOut(token=token, expiresAt=expires)
