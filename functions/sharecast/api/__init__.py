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
)
from sharecast.api.context import install
from sharecast.app import AppContext

#: Request headers a browser may send cross-origin (tracing headers included: browser tracing
#: tools add W3C Trace Context's ``traceparent``/``tracestate``, https://www.w3.org/TR/trace-context/,
#: or Google's ``X-Cloud-Trace-Context``), and response headers it may read.
CORS_ALLOW_HEADERS = (
    "Authorization, Content-Type, Idempotency-Key, traceparent, tracestate, X-Cloud-Trace-Context"
)
CORS_EXPOSE_HEADERS = (
    "Location, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, "
    "Idempotent-Replayed, WWW-Authenticate"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}

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
    def common_headers(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if origin in origins:
            response.headers["Access-Control-Allow-Origin"] = origin or ""
            response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSE_HEADERS
        response.vary.add("Origin")
        window = g.get("rate_limit")
        if window is not None:
            for name, value in window.headers().items():
                response.headers.setdefault(name, value)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return app
