"""YouTube stand-in: resumable ``videos.insert`` (``/upload/youtube/v3/videos``).

Protocol (https://developers.google.com/youtube/v3/guides/using_resumable_upload_protocol):
``POST ?uploadType=resumable&part=snippet,status`` with ``X-Upload-Content-Length`` and the video
resource answers 200 with the session URI in ``Location``; ``PUT <session>`` with
``Content-Range: bytes a-b/total`` answers 308 + ``Range: bytes=0-N`` until the last byte, then
200 with the ``video`` resource; ``PUT`` with ``Content-Range: bytes */total`` and no body
reports progress the same way (no ``Range`` when nothing arrived). Bytes are not stored:
the session hashes the committed bytes in order (``sha256`` in the control API), so a
test compares the assembled file with its source. With the setting ``youtube_commit_bytes``
N > 0 a ``PUT`` keeps only the first N bytes of a larger chunk and answers 308 with the
committed ``Range``, as the protocol allows (the client must resume from there). A chunk that
does not start where the session stands is refused with a 308 giving the current range, so
clients resynchronise.

Faults: error kinds fire when the session is created (``usage_capped`` renders as 403
``quotaExceeded``, ``rate_limit`` as 403 ``userRateLimitExceeded``); the final chunk runs through
the shared publish flow, so ``accept_then_drop``/``hang``/``garble`` and ``server_error`` apply
there (a refused final chunk is not counted). Errors are Google's envelope
(https://developers.google.com/youtube/v3/docs/errors). ``GET /_sandbox/youtube/uploads`` lists
sessions.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from infra.sandbox.accounts import bearer_token, user_id_for_token
from infra.sandbox.faults import ALL_KINDS, RESPONSE_LOSS_KINDS
from infra.sandbox.ledger import Post, rfc3339
from infra.sandbox.publishing import Attempt, Ctx, publish
from infra.sandbox.state import SandboxState
from infra.sandbox.stores import YouTubeSession
from infra.sandbox.wire import json_response, read_json

PLATFORM = "youtube"
_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
_STATUS = re.compile(r"^bytes \*/(\d+)$")
#: Kinds that may fire on the final chunk (the rest fire when the session is created).
FINAL_CHUNK_KINDS = RESPONSE_LOSS_KINDS | {"latency", "server_error"}


def google_error(status: int, reason: str, message: str, domain: str = "youtube.api") -> Response:
    """``{"error": {"code", "message", "errors": [{"domain", "reason", "message"}]}}``."""
    return json_response(
        {
            "error": {
                "code": status,
                "message": message,
                "errors": [{"domain": domain, "reason": reason, "message": message}],
            }
        },
        status,
    )


class YouTubeDialect:
    """Google's error spellings per fault kind."""

    platform = PLATFORM
    supported_kinds = ALL_KINDS - {"duplicate", "policy_blocked", "container_error"}
    created_status = 200

    def __init__(self, state: SandboxState) -> None:
        self._state = state

    def mint_id(self, account_id: str) -> str:
        """An 11-character video id."""
        return secrets.token_urlsafe(9)[:11]

    def is_duplicate(self, earlier: Post, attempt: Attempt) -> bool:
        """YouTube accepts the same video twice."""
        return False

    def fault_response(self, kind: str, *, ctx: Ctx, retry_after_s: int) -> Response:
        """The wire form of each fault kind."""
        if kind == "server_error":
            return google_error(503, "backendError", "Backend Error", "global")
        if kind == "rate_limit":
            return google_error(
                403, "userRateLimitExceeded", "User Rate Limit Exceeded", "usageLimits"
            )
        if kind == "usage_capped":
            return google_error(
                403,
                "quotaExceeded",
                "The request cannot be completed because you have exceeded your quota.",
                "youtube.quota",
            )
        if kind == "token_expired":
            return google_error(401, "authError", "Invalid Credentials", "global")
        if kind == "permission_denied":
            return google_error(403, "forbidden", "Forbidden", "youtube.video")
        return google_error(400, "badRequest", "Bad Request", "global")


class YouTubeRoutes:
    """YouTube's resumable videos.insert (start a session, PUT chunks, ask progress) and the
    control route listing sessions."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.dialect = YouTubeDialect(self.state)
        self.video_resource = _video_resource

    def progress(self, session: YouTubeSession) -> Response:
        headers = {}
        if session.received:
            headers["range"] = f"bytes=0-{session.received - 1}"
        return Response(status_code=308, headers=headers)

    async def start(self, request: Request) -> Response:
        token = bearer_token(request.headers.get("authorization"))
        if not token:
            return google_error(401, "required", "Login Required", "global")
        if request.query_params.get("uploadType") != "resumable":
            return google_error(400, "badRequest", "only uploadType=resumable is supported")
        try:
            total = int(request.headers.get("x-upload-content-length", ""))
        except ValueError:
            return google_error(400, "badRequest", "X-Upload-Content-Length is required")
        body, bad = await read_json(request)
        snippet = (body or {}).get("snippet") if isinstance(body, dict) else None
        if bad is not None or not isinstance(snippet, dict):
            return google_error(400, "badRequest", "the body must be a video resource")
        title = snippet.get("title")
        if not isinstance(title, str) or not title.strip():
            return google_error(
                400, "invalidTitle", "The request metadata specifies an invalid video title."
            )
        if len(title) > 100 or "<" in title or ">" in title:
            return google_error(
                400, "invalidTitle", "The request metadata specifies an invalid video title."
            )
        channel = user_id_for_token(token)
        plan = self.state.faults.plan(
            platform=PLATFORM,
            account_id=channel,
            text=title,
            operation="publish",
            supported=self.dialect.supported_kinds - FINAL_CHUNK_KINDS | {"server_error"},
        )
        if plan.error is not None:
            return self.dialect.fault_response(
                plan.error.spec.kind, ctx=Ctx(channel), retry_after_s=plan.error.spec.retry_after_s
            )
        session = YouTubeSession(
            id=secrets.token_urlsafe(12),
            channel=channel,
            token=token,
            total=total,
            snippet=snippet,
            status=(body or {}).get("status") or {},
        )
        self.state.youtube.sessions[session.id] = session
        location = (
            f"{request.base_url}upload/youtube/v3/videos?uploadType=resumable"
            f"&upload_id={session.id}"
        )
        return Response(status_code=200, headers={"location": location})

    async def upload(self, request: Request) -> Response:
        session = self.state.youtube.sessions.get(request.query_params.get("upload_id", ""))
        if session is None:
            return google_error(404, "notFound", "upload session not found", "global")
        content_range = request.headers.get("content-range", "")
        if _STATUS.match(content_range):
            if session.video_id is not None:
                return self.video_resource(session)
            return self.progress(session)
        match = _RANGE.match(content_range)
        if match is None or int(match.group(3)) != session.total:
            return google_error(400, "badRequest", f"invalid Content-Range {content_range!r}")
        first, last = int(match.group(1)), int(match.group(2))
        if session.video_id is not None:
            return self.video_resource(session)
        if first != session.received:
            async for _chunk in request.stream():
                pass
            return self.progress(session)
        body = b""
        async for chunk in request.stream():
            body += chunk
        size = len(body)
        if size != last - first + 1 or last >= session.total:
            return google_error(400, "badRequest", "the body does not match Content-Range")
        limit = self.state.settings.youtube_commit_bytes
        kept = body[:limit] if limit and size > limit else body  # the protocol allows it
        before = session.digest.copy()
        session.digest.update(kept)
        session.received += len(kept)
        if session.received < session.total:
            return self.progress(session)
        return await _final_chunk(self.state, self.dialect, session, request, len(kept), before)

    async def uploads(self, request: Request) -> Response:
        return json_response(
            {"sessions": [s.to_json() for s in self.state.youtube.sessions.values()]}
        )

    def routes(self) -> list[BaseRoute]:
        """The routes, bound to this instance."""
        return [
            Route("/upload/youtube/v3/videos", self.start, methods=["POST"]),
            Route("/upload/youtube/v3/videos", self.upload, methods=["PUT"]),
            Route("/_sandbox/youtube/uploads", self.uploads, methods=["GET"]),
        ]


def routes(state: SandboxState) -> list[BaseRoute]:
    """The upload routes and ``GET /_sandbox/youtube/uploads``."""
    """The upload routes and ``GET /_sandbox/youtube/uploads``."""
    return YouTubeRoutes(state).routes()


async def _final_chunk(
    state: SandboxState,
    dialect: YouTubeDialect,
    session: YouTubeSession,
    request: Request,
    kept: int,
    before: Any,
) -> Response:
    """The last byte arrived: the video is "published" through the shared flow; a refused final
    chunk (fault) is not counted, so the client sends it again."""
    published = {p.id for p in state.ledger.posts(PLATFORM, session.channel)}
    title = str(session.snippet.get("title"))
    response = await publish(
        state,
        _FinalChunk(dialect),
        Attempt(PLATFORM, session.channel, title, None, session.token),
        request,
        Ctx(session.channel),
        lambda post: _accepted(session, post, lambda s: _video_resource(s, 201)),
    )
    new = [p for p in state.ledger.posts(PLATFORM, session.channel) if p.id not in published]
    if new:
        session.video_id = new[-1].id
    else:
        session.received -= kept
        session.digest = before
    return response


def _video_resource(session: YouTubeSession, status_code: int = 200) -> Response:
    """The ``youtube#video`` resource of a completed upload: 201 when the last byte creates it
    (the resumable-upload guide), 200 when a finished session is asked again."""
    assert session.video_id is not None
    return json_response(
        {
            "kind": "youtube#video",
            "etag": hashlib.sha256(session.video_id.encode()).hexdigest()[:27],
            "id": session.video_id,
            "snippet": {
                "categoryId": "22",
                **session.snippet,
                "channelId": session.channel,
                "publishedAt": rfc3339(session.created_at),
            },
            "status": {**session.status, "uploadStatus": "uploaded"},
        },
        status_code,
    )


def _accepted(session: YouTubeSession, post: Post, render: Any) -> Response:
    session.video_id = post.id
    response: Response = render(session)
    return response


class _FinalChunk(YouTubeDialect):
    """The dialect as seen by the final chunk: only :data:`FINAL_CHUNK_KINDS` fire there."""

    def __init__(self, inner: YouTubeDialect) -> None:
        super().__init__(inner._state)
        self.supported_kinds = FINAL_CHUNK_KINDS & YouTubeDialect.supported_kinds
