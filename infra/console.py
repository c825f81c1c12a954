"""``python -m infra.console``: the local server of the web console (``console/``).

The console is plain ES modules and CSS with no build step; any static file server can host it
next to a ``config.json`` naming the API and the relay. This local server adds what only the
local stack may have:

- ``GET /config.json``: ``{apiUrl, relayUrl, devSignIn: true}`` for this stack's ports;
- ``POST /dev/token`` ``{"user": "alice", "role": "user"}``: a dev user JWT signed with the local
  ``JWT_SECRET`` (``{token, expiresAt}``). It exists only in this process, which only ``make run``
  and the tests start, bound to 127.0.0.1: a production deployment has no such endpoint;
- every other path without a file extension answers ``index.html`` (the console's routes, e.g.
  the OAuth redirect ``/connections/{platform}/callback``).

Answers carry a Content-Security-Policy that allows scripts from this origin only and network
calls to the API, the relay and the Storage front only.
"""

from __future__ import annotations

import argparse
import os
import re
from datetime import timedelta
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

ROOT = Path(__file__).resolve().parent.parent / "console"
_USER = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}


def _problem(status: int, code: str, detail: str, errors: list[dict[str, str]]) -> Response:
    body = {
        "type": "about:blank",
        "title": "Unprocessable Content",
        "status": status,
        "detail": detail,
        "code": code,
        "errors": errors,
    }
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def create_app(
    *, api_url: str, relay_url: str, storage_url: str, root: Path = ROOT, token_ttl_s: int = 3600
) -> Starlette:
    """The console server for a stack whose API, relay and Storage front listen at these URLs.
    ``token_ttl_s``: lifetime (seconds) of the dev JWTs it mints."""
    from sharecast.auth import ROLES, issue_dev_token
    from sharecast.config import Settings
    from sharecast.timeutil import isoformat, utcnow

    settings = Settings()
    root = root.resolve()
    csp = "; ".join(
        [
            "default-src 'self'",
            f"connect-src 'self' {api_url} {relay_url} {storage_url}",
            f"img-src 'self' data: blob: {storage_url}",
            f"media-src 'self' blob: {storage_url}",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        ]
    )
    headers = {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }

    async def config(request: Request) -> Response:
        body = {"apiUrl": api_url, "relayUrl": relay_url, "devSignIn": True}
        return JSONResponse(body, headers=headers)

    async def dev_token(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _problem(400, "MALFORMED_JSON", "send a JSON object", [])
        user, role = body.get("user"), body.get("role", "user")
        errors = []
        if not isinstance(user, str) or not _USER.fullmatch(user):
            errors.append(
                {"field": "user", "code": "INVALID", "message": "1-64 of A-Z a-z 0-9 _.@-"}
            )
        if role not in ROLES:
            errors.append({"field": "role", "code": "INVALID", "message": f"one of {ROLES}"})
        if errors:
            return _problem(422, "VALIDATION_FAILED", "cannot sign in", errors)
        token = issue_dev_token(settings, user_id=str(user), role=str(role), ttl_s=token_ttl_s)
        expires = isoformat(utcnow() + timedelta(seconds=token_ttl_s))
        return JSONResponse({"token": token, "expiresAt": expires}, headers=headers)

    async def static(request: Request) -> Response:
        rel = request.path_params.get("path", "") or "index.html"
        path = (root / rel).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            if "." in rel.rsplit("/", 1)[-1]:
                return Response("not found", status_code=404, headers=headers)
            path = root / "index.html"  # a console route: the app reads the path
        media_type = _TYPES.get(path.suffix, "application/octet-stream")
        return FileResponse(path, media_type=media_type, headers=headers)

    return Starlette(
        routes=[
            Route("/config.json", config, methods=["GET"]),
            Route("/dev/token", dev_token, methods=["POST"]),
            Route("/", static, methods=["GET", "HEAD"]),
            Route("/{path:path}", static, methods=["GET", "HEAD"]),
        ]
    )


def main(argv: list[str] | None = None) -> None:
    """Serve the console; URLs of the API, relay and Storage front come from the arguments."""
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m infra.console")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--relay-url", required=True)
    parser.add_argument("--storage-url", required=True)
    args = parser.parse_args(argv)
    ttl = int(os.environ.get("CONSOLE_DEV_TOKEN_TTL_S", "3600"))
    app = create_app(
        api_url=args.api_url,
        relay_url=args.relay_url,
        storage_url=args.storage_url,
        token_ttl_s=ttl,
    )
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
