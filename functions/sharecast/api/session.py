"""``POST /auth/sse-token``: a short-lived token for the relay (SPEC §4.4)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from sharecast.api.context import deps, principal
from sharecast.auth import issue_sse_token
from sharecast.timeutil import isoformat

bp = Blueprint("session", __name__)


@bp.post("/auth/sse-token")
def sse_token() -> Response:
    """Issue ``{token, expiresAt}`` for ``GET /events?token=`` on the relay."""
    token, expires = issue_sse_token(principal(), deps().settings)
    return jsonify({"token": token, "expiresAt": isoformat(expires)})
