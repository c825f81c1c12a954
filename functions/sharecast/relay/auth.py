"""Relay credentials: who is opening a stream (SPEC §7), and the 401 answered otherwise.

Accepted, in this order: ``Authorization: Bearer <user JWT>``; ``?token=<relay token>`` (from
``POST /auth/sse-token``); ``?auth_token=<user JWT>`` (EventSource cannot set headers). Each
kind is verified only as what it claims to be: a user JWT passed as ``?token=`` is rejected.
Tokens are never logged or echoed.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from sharecast.auth import Principal, verify_sse_token, verify_user_token
from sharecast.config import Settings
from sharecast.errors import PROBLEM_JSON, SharecastError, Unauthenticated, problem_body


def authenticate(request: Request, settings: Settings) -> Principal:
    """The principal of ``request``. Raises :class:`Unauthenticated` on any failure."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("Authorization must be 'Bearer <token>'")
        return verify_user_token(token.strip(), settings)
    sse_token = request.query_params.get("token")
    if sse_token:
        return verify_sse_token(sse_token, settings)
    user_token = request.query_params.get("auth_token")
    if user_token:
        return verify_user_token(user_token, settings)
    raise Unauthenticated("missing credentials: Authorization header, ?token= or ?auth_token=")


def problem_response(error: SharecastError) -> JSONResponse:
    """``error`` as problem details (the API's shape), never cached; a 401 also carries
    ``WWW-Authenticate: Bearer``."""
    headers = {"Cache-Control": "no-store", **error.headers}
    if isinstance(error, Unauthenticated):
        headers.setdefault("WWW-Authenticate", 'Bearer realm="sharecast-relay"')
    return JSONResponse(
        problem_body(error), status_code=error.status, headers=headers, media_type=PROBLEM_JSON
    )
