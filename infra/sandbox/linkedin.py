"""LinkedIn stand-in (versioned REST), mounted under ``/linkedin``: posts, images, videos.

- ``POST /rest/posts`` → 201, empty body, the URN Rest.li-encoded in ``x-restli-id``
  (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api);
  ``GET /rest/posts?q=author&author=<urn>`` → ``{"elements": [...]}`` newest first.
- ``POST /rest/images?action=initializeUpload`` → ``value{uploadUrl, image, uploadUrlExpiresAt}``;
  ``PUT <uploadUrl>`` with the bytes.
- ``POST /rest/videos?action=initializeUpload`` (``fileSizeBytes``) → ``value{video,
  uploadToken, uploadInstructions[{uploadUrl, firstByte, lastByte}]}`` in parts of
  ``linkedin_part_bytes`` (sandbox setting; LinkedIn uses 4 MiB); each part ``PUT`` answers an
  ``ETag``; ``POST /rest/videos?action=finalizeUpload`` checks ``uploadedPartIds``; ``GET
  /rest/videos/{urn}`` answers ``PROCESSING`` for ``processing_polls`` reads, then ``AVAILABLE``.

Every ``/rest`` call needs ``LinkedIn-Version: YYYYMM`` (older than the sandbox setting
``linkedin_min_version``: 426 ``NONEXISTENT_VERSION``) and ``X-Restli-Protocol-Version: 2.0.0``.
Commentary follows the little text format: an unescaped reserved character silently truncates
the stored text there, as LinkedIn does. Uploaded bytes are counted, never kept. Errors are
``{"message", "status", "serviceErrorCode"?, "code"?}``
(https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/error-handling).
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from infra.sandbox.accounts import bearer_token, user_id_for_token
from infra.sandbox.faults import ALL_KINDS
from infra.sandbox.ledger import Post
from infra.sandbox.publishing import Attempt, Ctx, publish, read
from infra.sandbox.state import SandboxState
from infra.sandbox.stores import LinkedInVideo
from infra.sandbox.wire import json_response, read_json

PLATFORM = "linkedin"
RESERVED = "\\|{}@[]()<>#*_~"
_VERSION = re.compile(r"^\d{6}$")


def error(status: int, message: str, code: str | None = None) -> Response:
    """A LinkedIn error body ``{"message", "status", "code"?}``."""
    body: dict[str, Any] = {"message": message, "status": status}
    if code is not None:
        body["code"] = code
    return json_response(body, status)


def visible_text(commentary: str) -> str:
    """What LinkedIn shows of a little-text commentary: escapes removed, truncated at the first
    unescaped reserved character."""
    out: list[str] = []
    chars = iter(commentary)
    for ch in chars:
        if ch == "\\":
            out.append(next(chars, ""))
        elif ch in RESERVED:
            break
        else:
            out.append(ch)
    return "".join(out)


def escape(text: str) -> str:
    """The little-text form of plain ``text``."""
    return "".join(f"\\{ch}" if ch in RESERVED else ch for ch in text)


class LinkedInDialect:
    """LinkedIn's error spellings per fault kind."""

    platform = PLATFORM
    supported_kinds = ALL_KINDS - {"usage_capped", "policy_blocked", "container_error"}
    created_status = 201

    def __init__(self, state: SandboxState) -> None:
        self._state = state

    def mint_id(self, account_id: str) -> str:
        """``urn:li:share:<n>``."""
        return f"urn:li:share:{self._state.ids.numeric()}"

    def is_duplicate(self, earlier: Post, attempt: Attempt) -> bool:
        """Same visible commentary."""
        return earlier.text == attempt.text

    def fault_response(self, kind: str, *, ctx: Ctx, retry_after_s: int) -> Response:
        """The wire form of each fault kind (bodies of :data:`FAULT_BODIES`; the duplicate
        names the account's latest post, as LinkedIn does)."""
        headers = dict(ctx.headers)
        if kind == "rate_limit":
            headers["retry-after"] = str(retry_after_s)
        if kind == "duplicate":
            earlier = next(
                (p.id for p in reversed(self._state.ledger.posts(PLATFORM, ctx.account_id))),
                "urn:li:share:0",
            )
            return json_response(duplicate_body(earlier), 422, headers)
        body = FAULT_BODIES.get(kind, FAULT_BODIES["permanent"])
        return json_response(body, int(body["status"]), headers)


def duplicate_body(earlier: str) -> dict[str, Any]:
    """LinkedIn's duplicate answer as recorded (Arisamiga/Linkedin-RSS#5): ``DUPLICATE_POST``
    under ``errorDetails.inputErrors[]``, the existing post named in the message."""
    return {
        "errorDetailType": "com.linkedin.common.error.BadRequest",
        "message": "com.linkedin.content.common.exception."
        f"BadRequestResponseException: Content is a duplicate of {earlier}",
        "errorDetails": {
            "inputErrors": [
                {"description": "Duplicate post is detected", "input": {}, "code": "DUPLICATE_POST"}
            ]
        },
        "status": 422,
    }


#: The body of each fault kind but the duplicate (its ``status`` is the HTTP status).
FAULT_BODIES: dict[str, dict[str, Any]] = {
    "server_error": {"message": "Internal Server Error", "status": 500},
    "rate_limit": {
        "message": "Resource level throttle APPLICATION DAY limit for calls to this resource "
        "is reached.",
        "status": 429,
    },
    "token_expired": {
        "serviceErrorCode": 65601,
        "code": "REVOKED_ACCESS_TOKEN",
        "message": "The token used in the request has been revoked by the user",
        "status": 401,
    },
    "permission_denied": {
        "serviceErrorCode": 100,
        "code": "ACCESS_DENIED",
        "message": "Not enough permissions to access: posts.CREATE",
        "status": 403,
    },
    "permanent": {
        "message": "Invalid request",
        "status": 400,
        "errorDetailType": "com.linkedin.common.error.BadRequest",
    },
}


class LinkedInRoutes:
    """LinkedIn's versioned REST routes under /linkedin: posts, images, videos and their upload
    URLs."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.dialect = LinkedInDialect(self.state)

    def check(self, request: Request) -> tuple[str, Response | None]:
        token = bearer_token(request.headers.get("authorization"))
        if not token:
            return "", error(401, "Empty oauth2 access token", "EMPTY_ACCESS_TOKEN")
        version = request.headers.get("linkedin-version", "")
        if not version:
            return token, error(400, "A version must be present", "VERSION_MISSING")
        if not _VERSION.match(version) or version < self.state.settings.linkedin_min_version:
            return token, error(
                426, f"Requested version {version} is not active", "NONEXISTENT_VERSION"
            )
        if request.headers.get("x-restli-protocol-version") != "2.0.0":
            return token, error(400, "X-Restli-Protocol-Version 2.0.0 is required")
        return token, None

    def owner_of(self, token: str) -> str:
        return f"urn:li:person:{user_id_for_token(token)}"

    def may_post_as(self, token: str, author: str) -> bool:
        return author == self.owner_of(token) or author.startswith("urn:li:organization:")

    async def posts(self, request: Request) -> Response:
        token, problem = self.check(request)
        if problem is not None:
            return problem
        body, bad = await read_json(request)
        if bad is not None or not isinstance(body, dict):
            return error(400, bad or "the body must be a JSON object")
        author = body.get("author")
        if not isinstance(author, str) or not self.may_post_as(token, author):
            return error(403, "Not enough permissions to post as this author", "ACCESS_DENIED")
        if body.get("lifecycleState") != "PUBLISHED" or "distribution" not in body:
            return error(422, "lifecycleState PUBLISHED and distribution are required")
        commentary = body.get("commentary", "")
        if not isinstance(commentary, str):
            return error(400, "commentary must be a string")
        content = body.get("content") or {}
        uploads = self.state.linkedin
        ids = []
        if isinstance(content.get("media"), dict):
            ids = [content["media"].get("id")]
        elif isinstance(content.get("multiImage"), dict):
            ids = [i.get("id") for i in content["multiImage"].get("images") or []]
        for urn in ids:
            if isinstance(urn, str) and urn.startswith("urn:li:image:"):
                if uploads.images.get(urn) is None:
                    return error(422, f"{urn} was not uploaded", "MEDIA_ASSET_NOT_FOUND")
            elif isinstance(urn, str) and urn.startswith("urn:li:video:"):
                video = uploads.videos.get(urn)
                if video is None or not video.finalized or video.polls_left > 0:
                    return error(422, f"{urn} is not AVAILABLE", "MEDIA_ASSET_NOT_READY")
            else:
                return error(422, f"unknown media {urn!r}")
        link = (content.get("article") or {}).get("source")
        ctx = Ctx(author, {"x-li-uuid": secrets.token_hex(8)})
        attempt = Attempt(PLATFORM, author, visible_text(commentary), link, token)

        def created(post: Post) -> Response:
            return Response(
                status_code=201,
                headers={**ctx.headers, "x-restli-id": quote(post.id, safe="")},
            )

        return await publish(self.state, self.dialect, attempt, request, ctx, created)

    async def find_posts(self, request: Request) -> Response:
        token, problem = self.check(request)
        if problem is not None:
            return problem
        author = request.query_params.get("author", "")
        if request.query_params.get("q") != "author" or not author:
            return error(400, "the author finder needs q=author and author")
        if not self.may_post_as(token, author):
            return error(403, "Not enough permissions to read this author's posts", "ACCESS_DENIED")
        count = min(100, int(request.query_params.get("count", "10") or 10))

        def answer() -> Response:
            found = list(reversed(self.state.ledger.posts(PLATFORM, author)))[:count]
            elements = [
                {
                    "id": p.id,
                    "author": author,
                    "commentary": escape(p.text),
                    "createdAt": int(p.created_at.timestamp() * 1000),
                    "lifecycleState": "PUBLISHED",
                }
                for p in found
            ]
            return json_response({"elements": elements, "paging": {"count": count}})

        return await read(self.state, self.dialect, request, Ctx(author), answer)

    async def images(self, request: Request) -> Response:
        token, problem = self.check(request)
        if problem is not None:
            return problem
        if request.query_params.get("action") != "initializeUpload":
            return error(400, "unsupported action")
        body, _ = await read_json(request)
        owner = ((body or {}).get("initializeUploadRequest") or {}).get("owner")
        if not isinstance(owner, str) or not self.may_post_as(token, owner):
            return error(403, "Not enough permissions for this owner", "ACCESS_DENIED")
        urn = f"urn:li:image:D{self.state.ids.numeric()}"
        self.state.linkedin.images[urn] = None
        return json_response(
            {
                "value": {
                    "uploadUrlExpiresAt": int(datetime.now(UTC).timestamp() * 1000) + 86_400_000,
                    "uploadUrl": f"{request.base_url}linkedin/_upload/images/{quote(urn, safe='')}",
                    "image": urn,
                }
            }
        )

    async def put_image(self, request: Request) -> Response:
        urn = unquote(request.path_params["urn"])
        uploads = self.state.linkedin
        if urn not in uploads.images:
            return error(404, "no such upload")
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        uploads.images[urn] = size
        return Response(status_code=201)

    async def videos(self, request: Request) -> Response:
        token, problem = self.check(request)
        if problem is not None:
            return problem
        action = request.query_params.get("action")
        body, _ = await read_json(request)
        uploads = self.state.linkedin
        if action == "initializeUpload":
            init = (body or {}).get("initializeUploadRequest") or {}
            owner, size = init.get("owner"), init.get("fileSizeBytes")
            if not isinstance(owner, str) or not self.may_post_as(token, owner):
                return error(403, "Not enough permissions for this owner", "ACCESS_DENIED")
            if not isinstance(size, int) or size <= 0:
                return error(400, "fileSizeBytes must be a positive integer")
            urn = f"urn:li:video:D{self.state.ids.numeric()}"
            step = self.state.settings.linkedin_part_bytes
            parts = [(a, min(a + step, size) - 1) for a in range(0, size, step)]
            video = LinkedInVideo(urn, owner, size, parts, secrets.token_hex(6))
            uploads.videos[urn] = video
            base = f"{request.base_url}linkedin/_upload/videos/{quote(urn, safe='')}"
            return json_response(
                {
                    "value": {
                        "video": urn,
                        "uploadToken": video.token,
                        "uploadUrlsExpireAt": int(datetime.now(UTC).timestamp() * 1000),
                        "uploadInstructions": [
                            {"uploadUrl": f"{base}/{i}", "firstByte": a, "lastByte": b}
                            for i, (a, b) in enumerate(parts)
                        ],
                    }
                }
            )
        if action == "finalizeUpload":
            final = (body or {}).get("finalizeUploadRequest") or {}
            found = uploads.videos.get(str(final.get("video")))
            if found is None or final.get("uploadToken") != found.token:
                return error(400, "unknown video or upload token")
            expected = [found.etags.get(i) for i in range(len(found.parts))]
            if None in expected or final.get("uploadedPartIds") != expected:
                return error(400, "uploadedPartIds do not match the uploaded parts")
            found.finalized = True
            found.polls_left = self.state.settings.processing_polls
            return Response(status_code=200)
        return error(400, "unsupported action")

    async def put_part(self, request: Request) -> Response:
        video = self.state.linkedin.videos.get(unquote(request.path_params["urn"]))
        index = int(request.path_params["part"])
        if video is None or not 0 <= index < len(video.parts):
            return error(404, "no such upload")
        first, last = video.parts[index]
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        if size != last - first + 1:
            return error(400, f"part {index} must be {last - first + 1} bytes, got {size}")
        video.received += size
        video.etags[index] = f'"{secrets.token_hex(8)}"'
        return Response(status_code=200, headers={"etag": video.etags[index]})

    async def get_video(self, request: Request) -> Response:
        _token, problem = self.check(request)
        if problem is not None:
            return problem
        video = self.state.linkedin.videos.get(unquote(request.path_params["urn"]))
        if video is None:
            return error(404, "Not Found")
        if not video.finalized:
            status = "WAITING_UPLOAD"
        elif video.polls_left > 0:
            video.polls_left -= 1
            status = "PROCESSING"
        else:
            status = "AVAILABLE"
        return json_response({"id": video.urn, "owner": video.owner, "status": status})

    async def uploads(self, request: Request) -> Response:
        return json_response({"bytes": uploaded_bytes(self.state)})

    def routes(self) -> list[BaseRoute]:
        """The routes, bound to this instance."""
        return [
            Route("/_sandbox/linkedin/uploads", self.uploads, methods=["GET"]),
            Mount(
                "/linkedin",
                routes=[
                    Route("/rest/posts", self.posts, methods=["POST"]),
                    Route("/rest/posts", self.find_posts, methods=["GET"]),
                    Route("/rest/images", self.images, methods=["POST"]),
                    Route("/rest/videos", self.videos, methods=["POST"]),
                    Route("/rest/videos/{urn}", self.get_video, methods=["GET"]),
                    Route("/_upload/images/{urn}", self.put_image, methods=["PUT"]),
                    Route("/_upload/videos/{urn}/{part}", self.put_part, methods=["PUT"]),
                ],
            ),
        ]


def routes(state: SandboxState) -> list[BaseRoute]:
    """LinkedIn's routes, mounted under ``/linkedin``."""
    """LinkedIn's routes, mounted under ``/linkedin``."""
    return LinkedInRoutes(state).routes()


def uploaded_bytes(state: SandboxState) -> dict[str, int]:
    """Bytes received per image/video URN (for the control API)."""
    uploads = state.linkedin
    counts = {urn: size or 0 for urn, size in uploads.images.items()}
    counts.update({urn: video.received for urn, video in uploads.videos.items()})
    return counts
