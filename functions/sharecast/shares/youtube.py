"""Video title, description and tags from the YouTube Data API (optional enrichment).

``GET {youtube_api_base_url}/youtube/v3/videos?part=snippet&id={videoId}&key={key}``
(https://developers.google.com/youtube/v3/docs/videos/list) answers
``{"items": [{"id", "snippet": {"title", "description", "tags", ...}}]}``; an unknown id gives
``items: []``. Enrichment is never required: the whole call has a wall-clock budget
(``youtube_enrich_budget_s``, 2 s) and any failure (no key, timeout, HTTP error, malformed
body, no such video) returns ``None`` with a warning, and the share goes out without it.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import requests

from sharecast.config import Settings
from sharecast.logs import fields
from sharecast.shares.compose import VideoInfo

log = logging.getLogger(__name__)

VIDEOS_PATH = "/youtube/v3/videos"
#: Threads that run lookups so the caller can stop waiting at the budget; a lookup that
#: outlives it still ends at its own socket timeouts (the same budget).
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="youtube-enrich")


def _get(session: requests.Session, url: str, params: dict[str, str], budget_s: float) -> Any:
    response = session.get(url, params=params, timeout=(budget_s, budget_s))
    response.raise_for_status()
    return response.json()


def parse_snippet(body: Any, video_id: str) -> VideoInfo | None:
    """The :class:`VideoInfo` of ``video_id`` in a ``videos.list`` body, or ``None``."""
    if not isinstance(body, dict):
        return None
    for item in body.get("items") or []:
        if not isinstance(item, dict) or item.get("id") != video_id:
            continue
        snippet = item.get("snippet")
        if not isinstance(snippet, dict):
            return None
        title = snippet.get("title")
        description = snippet.get("description")
        tags = snippet.get("tags") or []
        return VideoInfo(
            title=title if isinstance(title, str) else "",
            description=description if isinstance(description, str) else "",
            tags=tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else (),
        )
    return None


def fetch_video_info(
    session: requests.Session, settings: Settings, video_id: str
) -> VideoInfo | None:
    """The video's snippet within ``settings.youtube_enrich_budget_s`` seconds, else ``None``.

    Never raises; every failure is logged as a warning with its reason.
    """
    if settings.youtube_api_key is None:
        log.info("video enrichment skipped: no YOUTUBE_API_KEY", extra=fields(video_id=video_id))
        return None
    budget = settings.youtube_enrich_budget_s
    url = settings.youtube_api_base_url.rstrip("/") + VIDEOS_PATH
    params = {
        "part": "snippet",
        "id": video_id,
        "key": settings.youtube_api_key.get_secret_value(),
    }
    started = time.monotonic()
    future = _POOL.submit(_get, session, url, params, budget)
    try:
        body = future.result(timeout=budget)
    except FutureTimeout:
        future.cancel()
        reason = "timeout"
    except (requests.RequestException, ValueError) as exc:
        reason = type(exc).__name__
        if isinstance(exc, requests.HTTPError) and exc.response is not None:
            reason = f"HTTP {exc.response.status_code}"
    else:
        info = parse_snippet(body, video_id)
        if info is not None:
            return info
        reason = "video not found"
    log.warning(
        "video enrichment failed; sharing without it",
        extra=fields(
            video_id=video_id,
            reason=reason,
            elapsed_ms=int((time.monotonic() - started) * 1000),
        ),
    )
    return None
