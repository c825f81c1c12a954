"""Small HTTP helpers of the relay: headers and query of an ASGI scope, CORS response headers
of the lean ``/events`` handler, and problem details (RFC 9457) for every error answer."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse
from starlette.types import Scope, Send

from sharecast.config import Settings
from sharecast.errors import PROBLEM_JSON, SharecastError, Unauthenticated, problem_body
from sharecast.relay.auth import WWW_AUTHENTICATE

#: Response headers a browser script may read on a cross-origin answer of the relay.
EXPOSED_HEADERS = "WWW-Authenticate, Retry-After"


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of request header ``name`` (lower-case bytes) in ``scope``, or None."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def query_params(scope: Scope) -> dict[str, str]:
    """The query string's parameters (the first value of each name wins)."""
    raw = scope.get("query_string", b"")
    params: dict[str, str] = {}
    if raw:
        for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
            params.setdefault(name, value)
    return params


def cors_headers(scope: Scope, settings: Settings) -> list[tuple[bytes, bytes]]:
    """CORS headers for an answer to ``scope``: the request's ``Origin`` echoed with
    credentials allowed when it is one of ``cors_allowed_origins``; ``Vary: Origin`` always.
    (https://fetch.spec.whatwg.org/#http-cors-protocol)"""
    vary = [(b"vary", b"Origin")]
    origin = header(scope, b"origin")
    if origin is None or origin not in settings.cors_allowed_origins:
        return vary
    return [
        *vary,
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-allow-credentials", b"true"),
        (b"access-control-expose-headers", EXPOSED_HEADERS.encode()),
    ]


def problem_headers(error: SharecastError) -> dict[str, str]:
    """Headers of an error answer: never cached, the error's own (``Retry-After``...), and
    ``WWW-Authenticate`` on a 401."""
    headers = {"Cache-Control": "no-store", **error.headers}
    if isinstance(error, Unauthenticated):
        headers.setdefault("WWW-Authenticate", WWW_AUTHENTICATE)
    return headers


def problem_response(error: SharecastError) -> JSONResponse:
    """``error`` as a Starlette problem+json response (the API's shape)."""
    return JSONResponse(
        problem_body(error),
        status_code=error.status,
        headers=problem_headers(error),
        media_type=PROBLEM_JSON,
    )


async def send_problem(
    send: Send, error: SharecastError, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    """Answer ``error`` as problem+json on a raw ASGI ``send`` (``extra``: e.g. CORS)."""
    body = json.dumps(problem_body(error), separators=(",", ":")).encode()
    headers = [(k.lower().encode(), v.encode("latin-1")) for k, v in problem_headers(error).items()]
    headers += [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", b"%d" % len(body))]
    headers += extra or []
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
