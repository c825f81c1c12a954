"""Threads connector: text, image, video and carousel posts through containers.

- Create: ``POST {base}/{version}/{threads-user-id}/threads`` with ``media_type`` ``TEXT`` |
  ``IMAGE`` | ``VIDEO`` | ``CAROUSEL``, ``text``, ``image_url``/``video_url`` (Threads fetches
  them) and, for carousels, ``children`` of ``is_carousel_item=true`` containers
  (https://developers.facebook.com/documentation/threads/reference/publishing).
- Status: ``GET /{container}?fields=status,error_message``; ``status`` is ``EXPIRED``,
  ``ERROR``, ``FINISHED``, ``IN_PROGRESS`` or ``PUBLISHED``; ``error_message`` e.g.
  ``FAILED_DOWNLOADING_VIDEO``, ``INVALID_DURATION``, ``UNKNOWN``
  (https://developers.facebook.com/documentation/threads/troubleshooting.md).
- Publish: ``POST /{threads-user-id}/threads_publish?creation_id=<container>`` → ``{"id"}``.
- Errors: the Graph envelope; classified as Facebook's (:func:`classify_threads_error`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sharecast.platforms.base import MediaItem, PublishRequest
from sharecast.platforms.errors import PlatformError, TransientPlatformError
from sharecast.platforms.facebook import classify_graph_error
from sharecast.platforms.http import as_int
from sharecast.platforms.meta_container import ContainerConnector, is_video

#: ``error_message`` values of an ``ERROR`` container worth a new container: a failed download
#: (our signed URL may have been slow or expired) or an unknown failure.
RETRYABLE_CONTAINER_ERRORS = frozenset({"FAILED_DOWNLOADING_VIDEO", "UNKNOWN"})


#: Code 24 / subcode 4279009 "Media Not Found" on ``threads_publish`` right after the container
#: reported FINISHED: the container has not reached the publishing backend yet (a known race,
#: fbsamples/threads_api#70; other publishers wait and retry, trypostit/trypost#280).
MEDIA_NOT_FOUND = (24, 4279009)


def classify_threads_error(
    status: int, body: Any, headers: Mapping[str, str] | None = None
) -> PlatformError:
    """A Threads error answer: the Graph envelope, so :func:`classify_graph_error` (no
    Threads-specific code table is published; docs/networks.md#threads), except
    :data:`MEDIA_NOT_FOUND`, which is transient ``MEDIA_NOT_READY``: the container connector
    polls again instead of failing (like Instagram's 2207027)."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        pair = (as_int(error.get("code")), as_int(error.get("error_subcode")))
        if pair == MEDIA_NOT_FOUND:
            message = f"{error.get('message') or 'Media Not Found'} (code 24, subcode 4279009)"
            return TransientPlatformError("MEDIA_NOT_READY", message, http_status=status)
    return classify_graph_error(status, body, headers)


def compose_text(request: PublishRequest) -> str:
    """The text Threads receives: the link appended when the text lacks it (the first URL of
    a text post becomes its link preview)."""
    if request.link and request.link not in request.text:
        return f"{request.text}\n{request.link}" if request.text else request.link
    return request.text


class ThreadsConnector(ContainerConnector):
    """Publishes to a Threads profile. See the module docstring for the API."""

    platform = "threads"
    create_edge = "threads"
    publish_edge = "threads_publish"
    list_edge = "threads"
    text_field = "text"
    status_fields = "status,error_message"
    status_key = "status"
    detail_key = "error_message"
    classify = staticmethod(classify_threads_error)

    def container_params(self, request: PublishRequest, urls: list[str]) -> dict[str, str]:
        """``TEXT``, ``IMAGE``/``VIDEO`` with the media URL, or the ``CAROUSEL`` parent."""
        text = compose_text(request)
        if not request.media:
            return {"media_type": "TEXT", "text": text}
        if len(request.media) > 1:
            return {"media_type": "CAROUSEL", "text": text}
        if is_video(request.media[0]):
            return {"media_type": "VIDEO", "video_url": urls[0], "text": text}
        return {"media_type": "IMAGE", "image_url": urls[0], "text": text}

    def child_params(self, item: MediaItem, url: str) -> dict[str, str]:
        """A carousel item container."""
        if is_video(item):
            return {"is_carousel_item": "true", "media_type": "VIDEO", "video_url": url}
        return {"is_carousel_item": "true", "media_type": "IMAGE", "image_url": url}

    def retry_with_new_container(self, detail: str) -> bool:
        """See :data:`RETRYABLE_CONTAINER_ERRORS`."""
        return detail.strip().upper() in RETRYABLE_CONTAINER_ERRORS

    def published_text(self, request: PublishRequest) -> str:
        """What the post's ``text`` field holds."""
        return compose_text(request)
