"""The ``api`` HTTP function: a Flask app with one blueprint per resource.

Every route is declared with :func:`sharecast.api.routes.route` (auth, roles, rate class,
models); this module adds what applies to every answer: the body size cap (413), CORS for the
allowlisted origins (``CORS_ALLOWED_ORIGINS``), security headers and the ``RateLimit-*`` headers
of the caller's window.
"""

from __future__ import annotations

from flask import Flask, Response, g, request

from sharecast.api import (
    admin,
    analytics,
    connections,
    docs_page,
    media,
    meta,
    posts,
    problems,
    session,
    shares,
    webhooks,
)
from sharecast.api.context import install
from sharecast.api.headers import (
    CORS_ALLOW_HEADERS,
    CORS_EXPOSE_HEADERS,
    SECURITY_HEADERS,
    common_headers,
)
from sharecast.app import AppContext

__all__ = ["CORS_ALLOW_HEADERS", "CORS_EXPOSE_HEADERS", "SECURITY_HEADERS", "create_app"]

#: Blueprints of the API; each declares its routes with ``api.routes.route``.
BLUEPRINTS = (
    meta.bp,
    docs_page.bp,
    docs_page.assets,
    posts.bp,
    session.bp,
    analytics.bp,
    connections.bp,
    media.bp,
    shares.bp,
    webhooks.bp,
    admin.bp,
)


def create_app(ctx: AppContext) -> Flask:
    """Build the API app around ``ctx`` (no network I/O happens here)."""
    app = Flask("sharecast.api")
    app.config["MAX_CONTENT_LENGTH"] = ctx.settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    install(app, ctx)
    problems.register(app, docs_base_url=ctx.settings.docs_base_url)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    origins = frozenset(ctx.settings.cors_allowed_origins)

    @app.before_request
    def cors_preflight() -> Response | None:
        if request.method != "OPTIONS":
            return None
        response = Response(status=204)
        if request.headers.get("Origin") in origins:
            adapter = app.url_map.bind_to_environ(request.environ)
            try:
                methods = adapter.allowed_methods()
            except Exception:
                methods = []
            response.headers["Access-Control-Allow-Methods"] = ", ".join(
                m for m in methods if m not in ("OPTIONS", "HEAD")
            )
            response.headers["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
            response.headers["Access-Control-Max-Age"] = "600"
        return response

    @app.after_request
    def every_answer(response: Response) -> Response:
        response.vary.add("Origin")
        window = g.get("rate_limit")
        if window is not None:
            for name, value in window.headers().items():
                response.headers.setdefault(name, value)
        for name, value in common_headers(request.headers.get("Origin"), origins).items():
            if name != "Vary":
                response.headers.setdefault(name, value)
        return response

    return app
