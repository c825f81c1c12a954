"""Facebook Graph stand-in for Pages: ``POST`` and ``GET /{version}/{page_id}/feed``.

Shapes follow developers.facebook.com: a feed post answers ``{"id": "{page_id}_{post_id}"}``
(https://developers.facebook.com/documentation/pages-api/posts.md); errors and the usage header
are the Graph API's common parts (:mod:`infra.sandbox.graph`). The token may come as
``access_token`` in the query string or the body (form-encoded or JSON), or as
``Authorization: Bearer <token>`` / ``Authorization: OAuth <token>``. Any non-empty token is
valid for any page. Page videos live in :mod:`infra.sandbox.facebook_video`, photos in
:mod:`infra.sandbox.media`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from infra.sandbox import facebook_video
from infra.sandbox.graph import (
    DEFAULT_VERSION,
    PLATFORM,
    FacebookDialect,
    graph_error,
    graph_params,
    graph_token,
)
from infra.sandbox.ledger import Post
from infra.sandbox.media_state import attached_photos
from infra.sandbox.publishing import Attempt, Ctx, publish, read
from infra.sandbox.state import SandboxState
from infra.sandbox.wire import decode_offset, encode_offset, json_response

__all__ = ["DEFAULT_VERSION", "PLATFORM", "FacebookDialect", "graph_error", "routes"]

_VERSION = re.compile(r"^v\d+\.\d+$")
FEED_FIELDS = ("id", "message", "created_time", "permalink_url")
DEFAULT_FEED_FIELDS = ("created_time", "message", "id")
NO_TOKEN = "An access token is required to request this resource."


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


class FeedQuery:
    """The parsed query of ``GET /feed``: fields, ``since``/``until`` bounds, page size and
    offset, or the Graph error answering a bad one."""

    def __init__(self, params: dict[str, str]) -> None:
        self.error: Response | None = None
        wanted = [f.strip() for f in params.get("fields", "").split(",") if f.strip()]
        self.fields = wanted or list(DEFAULT_FEED_FIELDS)
        self.bounds: dict[str, datetime] = {}
        self.limit = 25
        self.offset = 0
        unknown = [name for name in self.fields if name not in FEED_FIELDS]
        if unknown:
            self._fail(f"Tried accessing nonexisting field ({unknown[0]}) on node type (Post)")
            return
        for name in ("since", "until"):
            if name in params:
                parsed = _timestamp(params[name])
                if parsed is None:
                    self._fail(f"The parameter {name} is not a valid time")
                    return
                self.bounds[name] = parsed
        try:
            self.limit = max(1, min(100, int(params.get("limit", "25"))))
        except ValueError:
            self._fail("Param limit must be a number")
            return
        offset = decode_offset(params.get("after"))
        if offset is None:
            self._fail("The parameter after is not a valid cursor")
            return
        self.offset = offset

    def _fail(self, message: str) -> None:
        self.error = graph_error(400, f"(#100) {message}", 100)

    def in_bounds(self, post: Post) -> bool:
        """Whether ``post`` was created within ``since``/``until``."""
        since, until = self.bounds.get("since"), self.bounds.get("until")
        return (since is None or post.created_at >= since) and (
            until is None or post.created_at <= until
        )


class FeedRoutes:
    """``/{version}/{page_id}/feed``: create a post, read the page's posts (paged)."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.dialect = FacebookDialect(state)

    def routes(self) -> list[BaseRoute]:
        """The feed routes, with and without the version segment."""
        return [
            Route("/{version}/{page_id}/feed", self.create, methods=["POST"]),
            Route("/{version}/{page_id}/feed", self.read, methods=["GET"]),
            Route("/{page_id}/feed", self.create, methods=["POST"]),
            Route("/{page_id}/feed", self.read, methods=["GET"]),
        ]

    @staticmethod
    def _path(request: Request) -> tuple[str, str, Response | None]:
        version = request.path_params.get("version", DEFAULT_VERSION)
        page_id = request.path_params["page_id"]
        if not _VERSION.match(version):
            error = graph_error(400, f"Unknown path components: /{version}/{page_id}/feed", 2500)
            return version, page_id, error
        return version, page_id, None

    async def create(self, request: Request) -> Response:
        """``POST /feed``: ``message``, ``link``, ``attached_media[i]`` → ``{"id"}``."""
        version, page_id, error = self._path(request)
        if error is not None:
            return error
        params, error = await graph_params(request)
        if error is not None:
            return error
        token = graph_token(request, params)
        if not token:
            return graph_error(400, NO_TOKEN, 104)
        headers = self.dialect.usage_headers(page_id, version)
        message, link = params.get("message", ""), params.get("link") or None
        photos, photo_error = attached_photos(self.state.media, page_id, params)
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

        ctx = Ctx(page_id, headers)
        return await publish(self.state, self.dialect, attempt, request, ctx, created)

    async def read(self, request: Request) -> Response:
        """``GET /feed?fields=&since=&until=&limit=&after=``: newest first, with ``paging``."""
        version, page_id, error = self._path(request)
        if error is not None:
            return error
        params = dict(request.query_params)
        if not graph_token(request, params):
            return graph_error(400, NO_TOKEN, 104)
        headers = self.dialect.usage_headers(page_id, version)
        query = FeedQuery(params)
        if query.error is not None:
            query.error.headers.update(headers)
            return query.error

        def answer() -> Response:
            return json_response(self._page(request, page_id, params, query), 200, headers)

        return await read(self.state, self.dialect, request, Ctx(page_id, headers), answer)

    def _page(
        self, request: Request, page_id: str, params: dict[str, str], query: FeedQuery
    ) -> dict[str, Any]:
        posts = [p for p in self.state.ledger.posts(PLATFORM, page_id) if query.in_bounds(p)]
        posts.reverse()  # newest first
        offset, limit = query.offset, query.limit
        page = posts[offset : offset + limit]
        body: dict[str, Any] = {"data": [_feed_item(post, query.fields) for post in page]}
        if not page:
            return body

        def link(at: int) -> str:
            linked = {k: v for k, v in params.items() if k != "access_token"}
            linked["after"] = encode_offset(at)
            return str(request.url.replace(query=urlencode(linked)))

        paging: dict[str, Any] = {
            "cursors": {
                "before": encode_offset(offset),
                "after": encode_offset(offset + len(page)),
            },
            # Graph's time-paginated pages link both ways, the newer side included.
            "previous": link(max(0, offset - limit)),
        }
        if offset + len(page) < len(posts):
            paging["next"] = link(offset + len(page))
        body["paging"] = paging
        return body


def routes(state: SandboxState) -> list[BaseRoute]:
    """The Graph routes of Pages (videos, then the feed), bound to ``state``."""
    return [*facebook_video.routes(state), *FeedRoutes(state).routes()]


def _feed_item(post: Post, wanted: list[str]) -> dict[str, Any]:
    page_id, _, post_id = post.id.partition("_")
    values: dict[str, Any] = {
        "id": post.id,
        "message": post.text or None,
        "created_time": post.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "permalink_url": f"https://www.facebook.com/{page_id}/posts/{post_id}",
    }
    return {name: values[name] for name in wanted if values[name] is not None}
