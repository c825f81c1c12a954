"""Instagram connector (Instagram Platform content publishing): image, reel, story, carousel.

- Create: ``POST {base}/{version}/{ig-user-id}/media`` with ``image_url`` (feed image), or
  ``media_type=REELS`` + ``video_url``, or ``media_type=STORIES`` + ``image_url``/``video_url``;
  a carousel first creates one container per item (``is_carousel_item=true``) and then a
  ``media_type=CAROUSEL`` parent with ``children`` and the ``caption``
  (https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media).
- Status: ``GET /{container}?fields=status_code,status``; ``status_code`` is ``EXPIRED``,
  ``ERROR``, ``FINISHED``, ``IN_PROGRESS`` or ``PUBLISHED``; on ``ERROR`` ``status`` names the
  error subcode (https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-container).
- Publish: ``POST /{ig-user-id}/media_publish?creation_id=<container>`` → ``{"id": <media id>}``.
- Quota: ``GET /{ig-user-id}/content_publishing_limit?fields=quota_usage,config`` answers
  ``{"data": [{"quota_usage", "config": {"quota_total", "quota_duration"}}]}``; ``quota_total``
  is read at runtime (25 in older docs, 100 in newer sources), never hard-coded
  (https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/content_publishing_limit).
- Errors: the Graph envelope (see :mod:`sharecast.platforms.facebook`) plus Instagram subcodes
  (https://developers.facebook.com/documentation/instagram-platform/instagram-graph-api/reference/error-codes),
  mapped by :func:`classify_instagram_error`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from sharecast.platforms.base import MediaItem, PublishRequest
from sharecast.platforms.errors import PermanentPlatformError, PlatformError, TransientPlatformError
from sharecast.platforms.facebook import classify_graph_error
from sharecast.platforms.http import as_int
from sharecast.platforms.meta_container import ContainerConnector, is_video

#: Subcodes worth another attempt: 2207001 server error, 2207003 media download timed out,
#: 2207032 container creation failed.
TRANSIENT_SUBCODES = frozenset({2207001, 2207003, 2207032})
#: "Media not ready" on ``media_publish`` (publishing too early; UNVERIFIED): poll again.
NOT_READY_SUBCODE = 2207027
#: Subcodes after which the container is dead but a new one may work: 2207020 expired,
#: 2207053 unknown upload error.
NEW_CONTAINER_SUBCODES = frozenset({2207020, 2207053})
#: Wait announced when the publishing quota is used up, seconds (the window is a rolling 24 h,
#: and the API does not say when the oldest post leaves it).
QUOTA_WAIT_S = 3600.0
#: "The maximum number of posts allowed in 24 hours was reached" on ``media_publish``.
QUOTA_SUBCODE = 2207042
_SUBCODE = re.compile(r"\b(22\d{5})\b")

FEED, REELS, STORIES, CAROUSEL = "FEED", "REELS", "STORIES", "CAROUSEL"


def classify_instagram_error(
    status: int, body: Any, headers: Mapping[str, str] | None = None
) -> PlatformError:
    """A Graph error answer of the Instagram API as a classified :class:`PlatformError`.

    Instagram subcodes first: 2207042 (publishing quota reached) → transient ``QUOTA_EXCEEDED``
    waiting :data:`QUOTA_WAIT_S`; 2207027 → transient ``MEDIA_NOT_READY`` (the connector polls
    again instead of failing the attempt); :data:`TRANSIENT_SUBCODES` → transient
    ``MEDIA_PROCESSING``;
    :data:`NEW_CONTAINER_SUBCODES` → transient ``CONTAINER_FAILED``; any other 2207xxx subcode
    (2207004 image too large, 2207057 bad thumbnail offset...) → permanent ``MEDIA_REJECTED``.
    Everything else as :func:`~sharecast.platforms.facebook.classify_graph_error` (``is_transient``,
    throttling codes 4/17/32/341/613/80002 with the ``X-Business-Use-Case-Usage`` wait, 368...).
    """
    error = body.get("error") if isinstance(body, dict) else None
    subcode = as_int(error.get("error_subcode")) if isinstance(error, dict) else None
    if subcode is not None and isinstance(error, dict) and 2207000 <= subcode < 2208000:
        message = f"{error.get('message') or 'Instagram error'} (subcode {subcode})"
        if subcode == QUOTA_SUBCODE:
            return TransientPlatformError(
                "QUOTA_EXCEEDED", message, retry_after_s=QUOTA_WAIT_S, http_status=status
            )
        if subcode == NOT_READY_SUBCODE:
            return TransientPlatformError("MEDIA_NOT_READY", message, http_status=status)
        if subcode in TRANSIENT_SUBCODES:
            return TransientPlatformError("MEDIA_PROCESSING", message, http_status=status)
        if subcode in NEW_CONTAINER_SUBCODES:
            return TransientPlatformError("CONTAINER_FAILED", message, http_status=status)
        return PermanentPlatformError("MEDIA_REJECTED", message, http_status=status)
    return classify_graph_error(status, body, headers)


def instagram_media_type(request: PublishRequest) -> str:
    """The form of the post: the target's ``media_type`` (``FEED``, ``REELS``, ``STORIES``,
    ``CAROUSEL``; case-insensitive), else inferred: several items → ``CAROUSEL``, one video →
    ``REELS``, one image → ``FEED``."""
    if request.media_type:
        return request.media_type.upper()
    if len(request.media) > 1:
        return CAROUSEL
    if request.media and is_video(request.media[0]):
        return REELS
    return FEED


class InstagramConnector(ContainerConnector):
    """Publishes to an Instagram professional account. See the module docstring for the API."""

    platform = "instagram"
    create_edge = "media"
    publish_edge = "media_publish"
    list_edge = "media"
    text_field = "caption"
    status_fields = "status_code,status"
    status_key = "status_code"
    detail_key = "status"
    classify = staticmethod(classify_instagram_error)

    def is_carousel(self, request: PublishRequest) -> bool:
        """Carousels are explicit or inferred from several items."""
        return instagram_media_type(request) == CAROUSEL

    def container_params(self, request: PublishRequest, urls: list[str]) -> dict[str, str]:
        """Container parameters per form; raises permanent ``INVALID_REQUEST`` on a form/media
        mismatch (request validation normally refuses those first)."""
        kind = instagram_media_type(request)
        if not request.media:
            raise PermanentPlatformError("INVALID_REQUEST", "Instagram posts need media")
        first = request.media[0]
        if kind == CAROUSEL:
            return {"media_type": CAROUSEL, "caption": request.text}
        if kind == REELS:
            if not is_video(first):
                raise PermanentPlatformError("INVALID_REQUEST", "a reel needs a video")
            return {"media_type": REELS, "video_url": urls[0], "caption": request.text}
        if kind == STORIES:  # stories carry no caption
            key = "video_url" if is_video(first) else "image_url"
            return {"media_type": STORIES, key: urls[0]}
        if kind == FEED:
            if is_video(first):
                raise PermanentPlatformError(
                    "INVALID_REQUEST", "feed videos are published as reels (media_type REELS)"
                )
            return {"image_url": urls[0], "caption": request.text}
        raise PermanentPlatformError("INVALID_REQUEST", f"unknown Instagram media type {kind}")

    def child_params(self, item: MediaItem, url: str) -> dict[str, str]:
        """A carousel item: ``is_carousel_item=true`` with ``image_url``, or ``VIDEO`` +
        ``video_url``."""
        if is_video(item):
            return {"is_carousel_item": "true", "media_type": "VIDEO", "video_url": url}
        return {"is_carousel_item": "true", "image_url": url}

    def retry_with_new_container(self, detail: str) -> bool:
        """``ERROR`` containers whose ``status`` names a transient or expiry subcode."""
        match = _SUBCODE.search(detail)
        if match is None:
            return False
        return int(match.group(1)) in TRANSIENT_SUBCODES | NEW_CONTAINER_SUBCODES

    def published_text(self, request: PublishRequest) -> str:
        """Stories carry no caption."""
        return "" if instagram_media_type(request) == STORIES else request.text

    def check_quota(self, request: PublishRequest, token: str) -> None:
        """Raise transient ``QUOTA_EXCEEDED`` (wait :data:`QUOTA_WAIT_S`) when ``quota_usage``
        has reached ``quota_total``; carousels count as one post."""
        url = f"{self._base}/{quote(request.account_id, safe='')}/content_publishing_limit"
        body = self._get(url, token, "quota_usage,config")
        data = body.get("data") if isinstance(body, dict) else None
        entry: dict[str, Any] = {}
        if isinstance(data, list) and data and isinstance(data[0], dict):
            entry = data[0]
        usage = as_int(entry.get("quota_usage"))
        raw_config = entry.get("config")
        config: dict[str, Any] = raw_config if isinstance(raw_config, dict) else {}
        total = as_int(config.get("quota_total"))
        if usage is not None and total is not None and usage >= total:
            raise TransientPlatformError(
                "QUOTA_EXCEEDED",
                f"Instagram publishing quota used: {usage} of {total} posts per "
                f"{as_int(config.get('quota_duration')) or 86400} s",
                retry_after_s=QUOTA_WAIT_S,
            )
