"""Facebook Graph stand-in for Pages: ``POST`` and ``GET /{version}/{page_id}/feed``.

Shapes follow developers.facebook.com: a feed post answers ``{"id": "{page_id}_{post_id}"}``
(https://developers.facebook.com/documentation/pages-api/posts.md); errors are
``{"error": {"message", "type", "code", "error_subcode", "is_transient", "error_user_title",
"error_user_msg", "fbtrace_id"}}`` (https://developers.facebook.com/docs/graph-api/guides/error-handling);
usage travels in ``X-Business-Use-Case-Usage`` whose ``estimated_time_to_regain_access`` is in
MINUTES (https://developers.facebook.com/docs/graph-api/overview/rate-limiting).

The token may come as ``access_token`` in the query string or the body (form-encoded or JSON), or
as ``Authorization: Bearer <token>`` / ``Authorization: OAuth <token>``. Any non-empty token is
valid for any page.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from infra.sandbox.accounts import bearer_token
from infra.sandbox.faults import ALL_KINDS
from infra.sandbox.ledger import Post
from infra.sandbox.media_state import attached_photos
from infra.sandbox.publishing import Attempt, Ctx, publish, read
from infra.sandbox.state import SandboxState
from infra.sandbox.wire import decode_offset, encode_offset, json_response

PLATFORM = "facebook"
DEFAULT_VERSION = "v24.0"
_VERSION = re.compile(r"^v\d+\.\d+$")
#: Hourly window for the ``call_count`` percentage of the usage header (sandbox budget).
USAGE_WINDOW_S = 3600
USAGE_BUDGET = 4800
FEED_FIELDS = ("id", "message", "created_time", "permalink_url")
DEFAULT_FEED_FIELDS = ("created_time", "message", "id")


def graph_error(
    status: int,
    message: str,
    code: int,
    *,
    subcode: int | None = None,
    is_transient: bool | None = None,
    user_title: str | None = None,
    user_msg: str | None = None,
    error_type: str = "OAuthException",
    headers: dict[str, str] | None = None,
) -> Response:
    """A Graph API error response."""
    error: dict[str, Any] = {"message": message, "type": error_type, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if is_transient is not None:
        error["is_transient"] = is_transient
    if user_title is not None:
        error["error_user_title"] = user_title
    if user_msg is not None:
        error["error_user_msg"] = user_msg
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(16)[:20]
    return json_response({"error": error}, status, headers)


def _buc_header(page_id: str, call_count: int, regain_minutes: int) -> str:
    usage = {
        "type": "pages",
        "call_count": call_count,
        "total_cputime": min(call_count, 100),
        "total_time": min(call_count, 100),
        "estimated_time_to_regain_access": regain_minutes,
        "ads_api_access_tier": "development_access",
    }
    return json.dumps({page_id: [usage]}, separators=(",", ":"))


class FacebookDialect:
    """Graph's error spellings for each fault kind (codes per the error-handling page)."""

    platform = PLATFORM
    supported_kinds = ALL_KINDS - {"usage_capped", "container_error"}
    created_status = 200

    def __init__(self, state: SandboxState) -> None:
        self._state = state

    def usage_headers(self, page_id: str, version: str) -> dict[str, str]:
        """Count one call for the page and return Graph's response headers for it."""
        count, _ = self._state.usage.hit((PLATFORM, page_id), USAGE_WINDOW_S)
        percent = min(100, math.ceil(count * 100 / USAGE_BUDGET))
        return {
            "facebook-api-version": version,
            "x-fb-trace-id": secrets.token_urlsafe(8),
            "x-business-use-case-usage": _buc_header(page_id, percent, 0),
        }

    def mint_id(self, account_id: str) -> str:
        """``{page_id}_{post_id}``."""
        return f"{account_id}_{self._state.ids.numeric()}"

    def is_duplicate(self, earlier: Post, attempt: Attempt) -> bool:
        """Same message and link as an earlier post of the page."""
        return earlier.text == attempt.text and earlier.link == attempt.link

    def fault_response(self, kind: str, *, ctx: Ctx, retry_after_s: int) -> Response:
        """The wire form of each fault kind."""
        headers = dict(ctx.headers)
        if kind == "server_error":
            return graph_error(
                500,
                "An unexpected error has occurred. Please retry your request later.",
                2,
                is_transient=True,
                headers=headers,
            )
        if kind == "rate_limit":
            headers["x-business-use-case-usage"] = _buc_header(
                ctx.account_id, 100, math.ceil(retry_after_s / 60)
            )
            return graph_error(
                400,
                "There have been too many calls to this Page account. Wait a bit and try "
                "again. For more info, please refer to "
                "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
                80001,
                is_transient=True,
                headers=headers,
            )
        if kind == "duplicate":
            return graph_error(
                400,
                "Duplicate status message",
                506,
                subcode=1455006,
                is_transient=False,
                user_title="Duplicate Status Update",
                user_msg="This status update is identical to the last one you posted. Try "
                "posting something different, or delete your previous update.",
                headers=headers,
            )
        if kind == "token_expired":
            now = datetime.now(UTC).strftime("%A, %d-%b-%y %H:%M:%S UTC")
            message = (
                f"Error validating access token: Session has expired on {now}. "
                f"The current time is {now}."
            )
            headers["www-authenticate"] = f'OAuth "Facebook Platform" "invalid_token" "{message}"'
            return graph_error(400, message, 190, subcode=463, headers=headers)
        if kind == "permission_denied":
            return graph_error(
                403,
                "(#200) The user hasn't authorized the application to perform this action",
                200,
                is_transient=False,
                headers=headers,
            )
        if kind == "policy_blocked":
            return graph_error(
                400,
                "It looks like you were misusing this feature by going too fast. You've "
                "been temporarily blocked from using it.",
                368,
                subcode=1390008,
                is_transient=False,
                user_title="You Can't Use This Feature Right Now",
                headers=headers,
            )
        return graph_error(
            400, "(#100) Invalid parameter", 100, is_transient=False, headers=headers
        )


async def _params(request: Request) -> tuple[dict[str, str], Response | None]:
    """Query parameters overlaid with the form-encoded or JSON body."""
    params = dict(request.query_params)
    raw = await request.body()
    if not raw.strip():
        return params, None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return params, graph_error(400, "(#100) The request body is not a JSON object", 100)
        params.update(
            {
                k: v if isinstance(v, str) else json.dumps(v)
                for k, v in body.items()
                if v is not None
            }
        )
        return params, None
    if content_type in ("", "application/x-www-form-urlencoded"):
        try:
            params.update(parse_qsl(raw.decode(), keep_blank_values=True))
        except UnicodeDecodeError:
            return params, graph_error(400, "(#100) The request body is not valid UTF-8", 100)
        return params, None
    return params, graph_error(
        400,
        f"(#100) The sandbox does not accept {content_type} bodies; send form-encoded or "
        "JSON parameters",
        100,
    )


def _token(request: Request, params: dict[str, str]) -> str | None:
    return params.get("access_token") or bearer_token(
        request.headers.get("authorization"), ("bearer", "oauth")
    )


def _timestamp(value: str) -> datetime | None:
    """A Graph time parameter: a Unix timestamp or an ISO 8601 date-time (UTC if naive)."""
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except ValueError:
        pass
    except (OverflowError, OSError):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def routes(state: SandboxState) -> list[BaseRoute]:
    """The Graph routes, bound to ``state``."""
    dialect = FacebookDialect(state)

    def _check(request: Request) -> tuple[str, str, Response | None]:
        version = request.path_params.get("version", DEFAULT_VERSION)
        page_id = request.path_params["page_id"]
        if not _VERSION.match(version):
            return (
                version,
                page_id,
                graph_error(400, f"Unknown path components: /{version}/{page_id}/feed", 2500),
            )
        return version, page_id, None

    async def create_post(request: Request) -> Response:
        version, page_id, error = _check(request)
        if error is not None:
            return error
        params, error = await _params(request)
        if error is not None:
            return error
        token = _token(request, params)
        if not token:
            return graph_error(400, "An access token is required to request this resource.", 104)
        headers = dialect.usage_headers(page_id, version)
        message = params.get("message", "")
        link = params.get("link") or None
        photos, photo_error = attached_photos(state, page_id, params)
        if photo_error is not None:
            return graph_error(400, photo_error, 100, is_transient=False, headers=headers)
        if not message and not link and not photos:
            return graph_error(
                400,
                "(#100) Missing message or attachment",
                100,
                is_transient=False,
                headers=headers,
            )
        attempt = Attempt(PLATFORM, page_id, message, link, token, media=tuple(photos))

        def created(post: Post) -> Response:
            return json_response({"id": post.id}, 200, headers)

        return await publish(state, dialect, attempt, request, Ctx(page_id, headers), created)

    async def read_feed(request: Request) -> Response:
        version, page_id, error = _check(request)
        if error is not None:
            return error
        params = dict(request.query_params)
        token = _token(request, params)
        if not token:
            return graph_error(400, "An access token is required to request this resource.", 104)
        headers = dialect.usage_headers(page_id, version)
        wanted = [f.strip() for f in params.get("fields", "").split(",") if f.strip()]
        wanted = wanted or list(DEFAULT_FEED_FIELDS)
        for name in wanted:
            if name not in FEED_FIELDS:
                return graph_error(
                    400,
                    f"(#100) Tried accessing nonexisting field ({name}) on node type (Post)",
                    100,
                    headers=headers,
                )
        bounds: dict[str, datetime] = {}
        for name in ("since", "until"):
            if name in params:
                parsed = _timestamp(params[name])
                if parsed is None:
                    return graph_error(
                        400,
                        f"(#100) The parameter {name} is not a valid time",
                        100,
                        headers=headers,
                    )
                bounds[name] = parsed
        try:
            limit = max(1, min(100, int(params.get("limit", "25"))))
        except ValueError:
            return graph_error(400, "(#100) Param limit must be a number", 100, headers=headers)
        offset = decode_offset(params.get("after"))
        if offset is None:
            return graph_error(
                400, "(#100) The parameter after is not a valid cursor", 100, headers=headers
            )

        def answer() -> Response:
            posts = [
                p
                for p in state.ledger.posts(PLATFORM, page_id)
                if ("since" not in bounds or p.created_at >= bounds["since"])
                and ("until" not in bounds or p.created_at <= bounds["until"])
            ]
            posts.reverse()  # newest first
            page = posts[offset : offset + limit]
            data = [_feed_item(post, wanted) for post in page]
            body: dict[str, Any] = {"data": data}
            if page:
                paging: dict[str, Any] = {
                    "cursors": {
                        "before": encode_offset(offset),
                        "after": encode_offset(offset + len(page)),
                    }
                }
                # Graph's time-paginated pages link both ways, the newer side included.
                newer = {k: v for k, v in params.items() if k != "access_token"}
                newer["after"] = encode_offset(max(0, offset - limit))
                paging["previous"] = str(request.url.replace(query=urlencode(newer)))
                if offset + len(page) < len(posts):
                    query = {k: v for k, v in params.items() if k != "access_token"}
                    query["after"] = encode_offset(offset + len(page))
                    paging["next"] = str(request.url.replace(query=urlencode(query)))
                body["paging"] = paging
            return json_response(body, 200, headers)

        return await read(state, dialect, request, Ctx(page_id, headers), answer)

    from infra.sandbox import facebook_video  # imports this module: bound late

    return [
        *facebook_video.routes(state),
        Route("/{version}/{page_id}/feed", create_post, methods=["POST"]),
        Route("/{version}/{page_id}/feed", read_feed, methods=["GET"]),
        Route("/{page_id}/feed", create_post, methods=["POST"]),
        Route("/{page_id}/feed", read_feed, methods=["GET"]),
    ]


def _feed_item(post: Post, wanted: list[str]) -> dict[str, Any]:
    page_id, _, post_id = post.id.partition("_")
    values: dict[str, Any] = {
        "id": post.id,
        "message": post.text or None,
        "created_time": post.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "permalink_url": f"https://www.facebook.com/{page_id}/posts/{post_id}",
    }
    return {name: values[name] for name in wanted if values[name] is not None}
