"""Facebook Page videos by URL: ``POST /{version}/{page_id}/videos`` with ``file_url``.

Graph downloads ``file_url`` (the sandbox fetches it over HTTP and counts the bytes) and answers
``{"id": "<video id>"}`` (https://developers.facebook.com/docs/video-api/guides/publishing,
non-resumable upload). The post is recorded in the ledger under ``facebook`` with the
``description`` as its text, so the feed lookup used by reconciliation finds it. A URL that
cannot be fetched answers Graph error 100 ("the video file could not be fetched").
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from infra.sandbox.graph import PLATFORM, FacebookDialect, graph_error, graph_params, graph_token
from infra.sandbox.ledger import Post
from infra.sandbox.media_fetch import FetchFailed, fetch_size
from infra.sandbox.publishing import Attempt, Ctx, publish
from infra.sandbox.state import SandboxState
from infra.sandbox.wire import json_response


class _VideoDialect(FacebookDialect):
    def mint_id(self, account_id: str) -> str:
        """A bare numeric video id."""
        return self._state.ids.numeric()


def routes(state: SandboxState) -> list[BaseRoute]:
    """The ``/videos`` edge of a Page."""
    dialect = _VideoDialect(state)

    async def create_video(request: Request) -> Response:
        page_id = request.path_params["page_id"]
        version = request.path_params.get("version", "v24.0")
        params, error = await graph_params(request)
        if error is not None:
            return error
        token = graph_token(request, params)
        if not token:
            return graph_error(400, "An access token is required to request this resource.", 104)
        headers = dialect.usage_headers(page_id, version)
        url = params.get("file_url")
        if not url:
            return graph_error(400, "(#100) file_url or a file handle is required", 100)
        try:
            size = await fetch_size(url)
        except FetchFailed as exc:
            return graph_error(
                400, f"(#100) The video file could not be fetched: {exc}", 100, headers=headers
            )
        if size == 0:
            return graph_error(400, "(#100) The video file is empty", 100, headers=headers)
        attempt = Attempt(PLATFORM, page_id, params.get("description", ""), None, token)

        def created(post: Post) -> Response:
            return json_response({"id": post.id}, 200, headers)

        return await publish(state, dialect, attempt, request, Ctx(page_id, headers), created)

    return [
        Route("/{version}/{page_id}/videos", create_video, methods=["POST"]),
        Route("/{page_id}/videos", create_video, methods=["POST"]),
    ]
