"""The relay's cookie session (Mercure-style): ``POST``/``DELETE /events/session``.

EventSource cannot send an ``Authorization`` header and reconnects on its own with the URL it
was opened with, so a token in the URL dies with its ``exp``. Instead the browser
posts its credential once (``Authorization: Bearer <user JWT or relay token>``, CORS with
credentials), the relay answers 204 with a cookie holding a relay token, and EventSource opened
with ``withCredentials: true`` sends that cookie on every request and native reconnect. A
client refreshes it (another ``POST``) at about half its lifetime. See
https://mercure.rocks/spec#authorization for the approach.

Cookie: ``sharecast_sse=<relay token>; Max-Age=<seconds left>; Path=/events; HttpOnly; Secure;
SameSite=None; Partitioned``. ``SameSite=None`` because the relay is another site than the
console in production; ``Partitioned`` (CHIPS) so that browsers blocking third-party cookies
still keep it per top-level site; ``Secure`` is required by both, and Chromium accepts it from
``http://localhost`` and ``http://127.0.0.1`` (potentially trustworthy origins,
https://w3c.github.io/webappsec-secure-contexts/#is-origin-trustworthy; checked with headless
Chromium 156), so the local stack needs no exception.
"""

from __future__ import annotations

import logging
import math
import time

from starlette.requests import Request
from starlette.responses import Response

from sharecast.auth import issue_sse_token
from sharecast.config import Settings
from sharecast.errors import Unauthenticated
from sharecast.logs import fields
from sharecast.relay.auth import SESSION_COOKIE, bearer_token, verify_bearer
from sharecast.relay.http import problem_response

log = logging.getLogger(__name__)

_ATTRIBUTES = "Path=/events; HttpOnly; Secure; SameSite=None; Partitioned"


def session_cookie(token: str, max_age_s: int) -> str:
    """The ``Set-Cookie`` value holding ``token`` for ``max_age_s`` seconds (0 clears it)."""
    return f"{SESSION_COOKIE}={token}; Max-Age={max(0, max_age_s)}; {_ATTRIBUTES}"


def open_session(request: Request, settings: Settings) -> Response:
    """``POST /events/session``: 204 with the session cookie, or 401 problem+json.

    A user JWT is exchanged for a new relay token (``SSE_TOKEN_TTL_S``); a relay token is
    set as it is, for the seconds it has left.
    """
    try:
        authorization = request.headers.get("authorization")
        if authorization is None:
            raise Unauthenticated("missing credentials: Authorization: Bearer <token>")
        credential = verify_bearer(bearer_token(authorization), settings)
    except Unauthenticated as err:
        log.info("relay session refused", extra=fields(reason=err.detail))
        return problem_response(err)
    if credential.sse:
        token, max_age = credential.token, math.floor(credential.expires_at - time.time())
    else:
        token, expires = issue_sse_token(credential.principal, settings)
        max_age = math.floor(expires.timestamp() - time.time())
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.headers.append("Set-Cookie", session_cookie(token, max_age))
    log.info("relay session opened", extra=fields(user_id=credential.principal.user_id))
    return response


def close_session() -> Response:
    """``DELETE /events/session``: 204, clearing the cookie (no credential needed)."""
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.headers.append("Set-Cookie", session_cookie("", 0))
    return response
