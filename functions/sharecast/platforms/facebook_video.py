"""Facebook Page videos by URL: ``POST {base}/{version}/{page_id}/videos`` with ``file_url``.

Graph fetches the video from ``file_url`` (a signed GET URL of our media object) and answers
``{"id": "<video id>"}``. This is the non-resumable protocol of the Video API
(https://developers.facebook.com/docs/video-api/guides/publishing, "Non-Resumable Upload";
older revisions of that page document ``file_url``, the current one shows the upload-handle flow
``fbuploader_video_file_chunk``, which needs an app-level upload session; whether ``file_url`` is
accepted on every current version is UNVERIFIED). ``description`` carries the post text and
``title`` the target's title. Errors are Graph errors (:func:`classify_graph_error`).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import requests

from sharecast.platforms.base import MediaSource, PublishRequest, PublishResult
from sharecast.platforms.errors import PermanentPlatformError
from sharecast.platforms.http import created_id
from sharecast.platforms.meta_container import SIGNED_URL_TTL_S


def publish_video(
    request: PublishRequest,
    *,
    base: str,
    access_token: str,
    media: MediaSource | None,
    send: Callable[..., requests.Response],
    check: Callable[[requests.Response, str], object],
) -> PublishResult:
    """Publish ``request.media[0]`` (a video) on the Page; returns the video id and URL.

    ``base``: ``{host}/{version}``; ``send(method, url, token, **kwargs)`` and
    ``check(response, token)`` are the Facebook connector's HTTP call and error check.
    Raises permanent ``MEDIA_UNAVAILABLE`` without a media source."""
    if media is None:
        raise PermanentPlatformError("MEDIA_UNAVAILABLE", "no media source configured")
    item = request.media[0]
    data = {
        "file_url": media.signed_url(item, ttl_s=SIGNED_URL_TTL_S),
        "description": request.text,
        "access_token": access_token,
    }
    if request.title:
        data["title"] = request.title
    page = quote(request.account_id, safe="")
    response = send("POST", f"{base}/{page}/videos", access_token, data=data)
    body = check(response, access_token)
    video_id = created_id(
        body.get("id") if isinstance(body, dict) else None,
        status=response.status_code,
        where="id",
    )
    return PublishResult(
        external_id=video_id,
        external_url=f"https://www.facebook.com/{request.account_id}/videos/{video_id}",
    )
