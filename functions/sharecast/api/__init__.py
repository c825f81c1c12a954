"""The ``api`` HTTP function: a Flask app with one blueprint per resource."""

from __future__ import annotations

from flask import Flask, Response, jsonify

from sharecast.api import connections, media, posts, problems, session, shares
from sharecast.api.context import Deps, install

#: Request bodies above this many bytes are refused with 413.
MAX_BODY_BYTES = 1_000_000


def create_app(dependencies: Deps) -> Flask:
    """Build the API app around ``dependencies`` (no network I/O happens here)."""
    app = Flask("sharecast.api")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False  # type: ignore[attr-defined]
    install(app, dependencies)
    problems.register(app)
    app.register_blueprint(posts.bp)
    app.register_blueprint(session.bp)
    app.register_blueprint(media.bp)
    app.register_blueprint(connections.bp)
    app.register_blueprint(shares.bp)

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"status": "ok"})

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app
