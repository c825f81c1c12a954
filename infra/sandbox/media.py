"""Media on the sandbox networks: Facebook Page photos fetched from a URL, and X media upload v2.

Facebook (https://developers.graph.com/docs/graph-api/reference/page/photos/):
``POST /{version}/{page_id}/photos`` with ``url`` (the sandbox GETs it, like Meta's fetcher,
and records the size and content type), ``message`` and ``published``. Published: a post in the
ledger, answer ``{"id": photo_id, "post_id": "{page}_{n}"}``. ``published=false``: an
unpublished photo ``{"id": photo_id}``, which ``POST /{page_id}/feed`` attaches with
``attached_media[i]={"media_fbid": id}`` (see :func:`attached_photos`). A URL that cannot be
fetched answers 400 code 324 "Missing or invalid image file".

X (https://docs.x.com/x-api/media/*, docs/networks.md#x): ``POST /2/media/upload/initialize``
(JSON ``media_type``, ``total_bytes``, ``media_category``), ``POST /2/media/upload/{id}/append``
(multipart ``media`` + ``segment_index``: only each segment's size is kept, never the bytes),
``POST /2/media/upload/{id}/finalize`` (sizes must add up to ``total_bytes``; videos then
report ``processing_info`` ``pending``, ``in_progress`` on the first STATUS, ``succeeded`` on the
next), ``GET /2/media/upload?command=STATUS&media_id=``. ``POST /2/tweets`` accepts
``media.media_ids`` of succeeded uploads of the same user (:func:`x_attachments`).
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from infra.sandbox import graph, x
from infra.sandbox.accounts import bearer_token, user_id_for_token
from infra.sandbox.ledger import Post
from infra.sandbox.media_state import X_EXPIRES_AFTER_S, FbPhoto, XUpload
from infra.sandbox.publishing import Attempt, Ctx, publish
from infra.sandbox.state import SandboxState
from infra.sandbox.wire import json_response, read_json

#: X media endpoints' per-user limit per 15 minutes (initialize/append/finalize, docs.x.com).
X_MEDIA_LIMIT = 1875
#: How long the sandbox waits for a photo URL, seconds.
FETCH_TIMEOUT_S = 30.0
FETCH_CHUNK = 256 * 1024


async def _fetch(url: str) -> tuple[int, str] | None:
    """GET ``url`` like Meta's fetcher: ``(bytes, content type)``, streamed, or ``None``."""
    try:
        async with (
            httpx.AsyncClient(timeout=FETCH_TIMEOUT_S) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                return None
            size = 0
            async for chunk in response.aiter_bytes(FETCH_CHUNK):
                size += len(chunk)
            return size, response.headers.get("content-type", "")
    except httpx.HTTPError:
        return None


class MediaRoutes:
    """Media routes: Facebook Page photos by URL and X media upload v2."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.fb = graph.FacebookDialect(self.state)

    async def fb_photos(self, request: Request) -> Response:
        version = request.path_params.get("version", graph.DEFAULT_VERSION)
        page_id = request.path_params["page_id"]
        params, error = await graph.graph_params(request)
        if error is not None:
            return error
        token = graph.graph_token(request, params)
        if not token:
            return graph.graph_error(
                400, "An access token is required to request this resource.", 104
            )
        headers = self.fb.usage_headers(page_id, version)
        url = params.get("url")
        if not url:
            return graph.graph_error(
                400, "(#100) Requires one of the params: url, source", 100, headers=headers
            )
        fetched = await _fetch(url)
        if fetched is None or not fetched[1].startswith("image/") or fetched[0] == 0:
            return graph.graph_error(
                400, "(#324) Missing or invalid image file", 324, headers=headers
            )
        published = params.get("published", "true").lower() not in ("false", "0")
        photo = FbPhoto(self.state.ids.numeric(), page_id, fetched[0], fetched[1], published)
        if not published:
            self.state.media.fb_photos[photo.id] = photo
            return json_response({"id": photo.id}, 200, headers)
        message = params.get("message") or params.get("caption") or ""
        attempt = Attempt(graph.PLATFORM, page_id, message, None, token, media=(photo.to_json(),))

        def created(post: Post) -> Response:
            self.state.media.fb_photos[photo.id] = photo
            return json_response({"id": photo.id, "post_id": post.id}, 200, headers)

        return await publish(self.state, self.fb, attempt, request, Ctx(page_id, headers), created)

    def x_headers(self, user: str) -> dict[str, str]:
        count, reset = self.state.usage.hit((x.PLATFORM, "media", user), x.WINDOW_S)
        return {
            "x-rate-limit-limit": str(X_MEDIA_LIMIT),
            "x-rate-limit-remaining": str(max(0, X_MEDIA_LIMIT - count)),
            "x-rate-limit-reset": str(reset),
        }

    def x_user(self, request: Request) -> tuple[str, dict[str, str]] | Response:
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            return x.problem(401, "Unauthorized", "Unauthorized")
        user = user_id_for_token(token)
        return user, self.x_headers(user)

    def x_upload(self, request: Request, user: str, headers: dict[str, str]) -> XUpload | Response:
        upload = self.state.media.x_uploads.get(request.path_params.get("media_id", ""))
        if upload is None or upload.user != user:
            return x.problem(
                404,
                "Not Found Error",
                "Could not find the media upload",
                x.PROBLEMS + "resource-not-found",
                headers,
            )
        return upload

    def data(self, upload: XUpload, **extra: Any) -> dict[str, Any]:
        prefix = "7" if "video" in upload.category else "3"
        return {"data": {"id": upload.id, "media_key": f"{prefix}_{upload.id}", **extra}}

    async def x_initialize(self, request: Request) -> Response:
        who = self.x_user(request)
        if isinstance(who, Response):
            return who
        user, headers = who
        body, error = await read_json(request)
        if error is not None or not isinstance(body, dict):
            return x.invalid_request([error or "$: must be a JSON object"], headers)
        media_type, total = body.get("media_type"), body.get("total_bytes")
        category = body.get("media_category") or "tweet_image"
        if not isinstance(media_type, str) or not isinstance(total, int) or total <= 0:
            return x.invalid_request(
                ["$.media_type and $.total_bytes (a positive integer) are required"], headers
            )
        upload = XUpload(self.state.ids.snowflake(), user, media_type, total, str(category))
        self.state.media.x_uploads[upload.id] = upload
        return json_response(self.data(upload, expires_after_secs=X_EXPIRES_AFTER_S), 200, headers)

    async def x_append(self, request: Request) -> Response:
        who = self.x_user(request)
        if isinstance(who, Response):
            return who
        user, headers = who
        upload = self.x_upload(request, user, headers)
        if isinstance(upload, Response):
            return upload
        form = await request.form(max_part_size=8 * 1024 * 1024)
        media = form.get("media")
        try:
            segment = int(str(form.get("segment_index")))
        except ValueError:
            segment = -1
        if not isinstance(media, UploadFile) or not 0 <= segment <= 999 or upload.finalized:
            return x.invalid_request(
                ["media (a file part) and segment_index 0..999 are required before finalize"],
                headers,
            )
        size = 0
        while chunk := await media.read(FETCH_CHUNK):
            size += len(chunk)
        await form.close()
        if size > 5 * 1024 * 1024:
            return x.problem(
                413, "Payload Too Large", "A segment may hold at most 5 MB", headers=headers
            )
        upload.segments[segment] = size
        expires = int(time.time()) + X_EXPIRES_AFTER_S
        return json_response({"data": {"expires_at": expires}}, 200, headers)

    async def x_finalize(self, request: Request) -> Response:
        who = self.x_user(request)
        if isinstance(who, Response):
            return who
        user, headers = who
        upload = self.x_upload(request, user, headers)
        if isinstance(upload, Response):
            return upload
        contiguous = sorted(upload.segments) == list(range(len(upload.segments)))
        if not contiguous or upload.received != upload.total_bytes:
            return x.invalid_request(
                [
                    f"File size mismatch: received {upload.received} bytes in "
                    f"{len(upload.segments)} segments, expected {upload.total_bytes}"
                ],
                headers,
            )
        upload.finalized = True
        extra: dict[str, Any] = {"size": upload.received, "expires_after_secs": X_EXPIRES_AFTER_S}
        if "video" in upload.category or "gif" in upload.category:
            upload.state = "pending"
            extra["processing_info"] = {"state": "pending", "check_after_secs": 1}
        else:
            upload.state = "succeeded"
        return json_response(self.data(upload, **extra), 200, headers)

    async def x_status(self, request: Request) -> Response:
        who = self.x_user(request)
        if isinstance(who, Response):
            return who
        user, headers = who
        if request.query_params.get("command") != "STATUS":
            return x.invalid_request(["command must be STATUS"], headers)
        upload = self.state.media.x_uploads.get(request.query_params.get("media_id", ""))
        if upload is None or upload.user != user or not upload.finalized:
            return x.problem(
                404,
                "Not Found Error",
                "Could not find the media upload",
                x.PROBLEMS + "resource-not-found",
                headers,
            )
        upload.state = {"pending": "in_progress", "in_progress": "succeeded"}.get(
            upload.state, upload.state
        )
        info: dict[str, Any] = {"state": upload.state}
        if upload.state != "succeeded":
            info["check_after_secs"] = 1
            info["progress_percent"] = 50
        else:
            info["progress_percent"] = 100
        extra = {"size": upload.received, "expires_after_secs": X_EXPIRES_AFTER_S}
        return json_response(self.data(upload, **extra, processing_info=info), 200, headers)

    def routes(self) -> list[BaseRoute]:
        """The routes, bound to this instance."""
        return [
            Route("/{version}/{page_id}/photos", self.fb_photos, methods=["POST"]),
            Route("/{page_id}/photos", self.fb_photos, methods=["POST"]),
            Route("/2/media/upload/initialize", self.x_initialize, methods=["POST"]),
            Route("/2/media/upload/{media_id}/append", self.x_append, methods=["POST"]),
            Route("/2/media/upload/{media_id}/finalize", self.x_finalize, methods=["POST"]),
            Route("/2/media/upload", self.x_status, methods=["GET"]),
        ]


def routes(state: SandboxState) -> list[BaseRoute]:
    """Facebook photo and X media upload routes, bound to ``state``."""
    """Facebook photo and X media upload routes, bound to ``state``."""
    return MediaRoutes(state).routes()
