"""YouTube Data API v3 stand-in for video metadata: ``GET /youtube/v3/videos`` (videos.list).

Shapes follow https://developers.google.com/youtube/v3/docs/videos/list and the discovery
document of ``googleapis/google-api-python-client`` (``youtube.v3.json``):
``{"kind": "youtube#videoListResponse", "etag", "items": [{"kind": "youtube#video", "etag",
"id", "snippet": {"publishedAt", "channelId", "title", "description", "thumbnails",
"channelTitle", "tags", "categoryId", "liveBroadcastContent", "localized"}}], "pageInfo"}``.
Errors are Google's JSON error envelope (``{"error": {"code", "message", "errors": [{"domain",
"reason", "message"}], "status"}}``): no ``key`` → 403 ``forbidden``, no ``part``/``id`` → 400
``required``. Every video exists, with a title and description derived from its id (awkward
characters included), except ids starting with ``missing`` (``items: []``).

Faults: rules with ``"platform": "youtube_data"`` and ``"operation": "read"`` (or ``any``)
slow it down (``latency``), fail it (``server_error``, ``rate_limit``, ``permanent``) or lose
the answer (``accept_then_hang``, ``accept_then_drop``, ``accept_then_garble``); the account
a rule may match is the API key.
"""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from infra.sandbox.ledger import Post
from infra.sandbox.publishing import Attempt, Ctx, read
from infra.sandbox.state import SandboxState
from infra.sandbox.wire import json_response

PLATFORM = "youtube_data"
PARTS = frozenset(
    {"snippet", "id", "contentDetails", "status", "statistics", "player", "topicDetails"}
)


def google_error(status: int, reason: str, message: str, domain: str = "global") -> Response:
    """Google's JSON error envelope."""
    names = {
        400: "INVALID_ARGUMENT",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        429: "RESOURCE_EXHAUSTED",
        500: "INTERNAL",
        503: "UNAVAILABLE",
    }
    body = {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
            "status": names.get(status, "UNKNOWN"),
        }
    }
    return json_response(body, status)


class YouTubeDataDialect:
    """Google API error spellings (``googleapiclient`` ``tests/data/*.json``)."""

    platform = PLATFORM
    supported_kinds = frozenset(
        {
            "latency",
            "server_error",
            "rate_limit",
            "permanent",
            "accept_then_drop",
            "accept_then_hang",
            "accept_then_garble",
        }
    )
    created_status = 200

    def fault_response(self, kind: str, *, ctx: Ctx, retry_after_s: int) -> Response:
        """The wire form of each fault kind (reads only)."""
        if kind == "server_error":
            return google_error(503, "backendError", "Backend Error")
        if kind == "rate_limit":
            return google_error(
                403,
                "quotaExceeded",
                "The request cannot be completed because you have exceeded your quota.",
                "youtube.quota",
            )
        return google_error(400, "badRequest", "Bad Request")

    def mint_id(self, account_id: str) -> str:
        """Unused: this API is read-only here."""
        raise NotImplementedError

    def is_duplicate(self, earlier: Post, attempt: Attempt) -> bool:
        """Unused: this API is read-only here."""
        return False


def video_resource(video_id: str) -> dict[str, Any]:
    """The ``youtube#video`` resource of ``video_id`` with its snippet (deterministic)."""
    digest = hashlib.sha256(video_id.encode()).hexdigest()
    title = f"Sandbox video {video_id} & friends #1 🎬"
    filler = "More words about the video. " * 20
    description = (
        f"A video that only exists in the sandbox ({video_id}).\n\n"
        "It has a long description with links (https://example.com/?a=1&b=2), emoji 🎉, "
        f"and several paragraphs, so that a share must be cut to fit short networks.\n\n{filler}"
    ).strip()
    return {
        "kind": "youtube#video",
        "etag": digest[:27],
        "id": video_id,
        "snippet": {
            "publishedAt": "2026-01-01T00:00:00Z",
            "channelId": f"UC{digest[:22]}",
            "title": title,
            "description": description,
            "thumbnails": {
                "default": {
                    "url": f"https://i.ytimg.com/vi/{video_id}/default.jpg",
                    "width": 120,
                    "height": 90,
                }
            },
            "channelTitle": "Sharecast Sandbox",
            "tags": ["sandbox", "sharecast demo", "video"],
            "categoryId": "22",
            "liveBroadcastContent": "none",
            "localized": {"title": title, "description": description},
        },
    }


def routes(state: SandboxState) -> list[BaseRoute]:
    """The videos.list route, bound to ``state``."""
    dialect = YouTubeDataDialect()

    async def videos_list(request: Request) -> Response:
        params = request.query_params
        key = params.get("key")
        if not key:
            return google_error(
                403,
                "forbidden",
                "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to call "
                "this API.",
            )
        parts = {p.strip() for p in params.get("part", "").split(",") if p.strip()}
        if not parts:
            return google_error(400, "required", "Required parameter: part", "youtube.parameter")
        if not parts <= PARTS:
            return google_error(
                400, "unknownPart", f"'{','.join(sorted(parts - PARTS))}'", "youtube.part"
            )
        ids = [i for i in params.get("id", "").split(",") if i]
        if not ids:
            return google_error(
                400,
                "missingRequiredParameter",
                "No filter selected. Expected one of: id, chart, myRated",
                "youtube.parameter",
            )

        def answer() -> Response:
            items = [video_resource(i) for i in ids if not i.startswith("missing")]
            if "snippet" not in parts:
                items = [{k: v for k, v in item.items() if k != "snippet"} for item in items]
            return json_response(
                {
                    "kind": "youtube#videoListResponse",
                    "etag": hashlib.sha256(",".join(ids).encode()).hexdigest()[:27],
                    "items": items,
                    "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
                }
            )

        return await read(state, dialect, request, Ctx(account_id=key), answer)

    return [Route("/youtube/v3/videos", videos_list, methods=["GET"])]
