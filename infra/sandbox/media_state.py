"""What the sandbox remembers about media (:mod:`infra.sandbox.media`): X uploads and Facebook
photos, and how create calls of the networks resolve the media they attach."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

#: Lifetime X announces for an upload's media id, seconds.
X_EXPIRES_AFTER_S = 86_400


@dataclass
class XUpload:
    """One X media upload: who started it, what was announced, and each segment's size."""

    id: str
    user: str
    media_type: str
    total_bytes: int
    category: str
    segments: dict[int, int] = field(default_factory=dict)
    finalized: bool = False
    state: str = "pending"  # processing state once finalized: pending, in_progress, succeeded

    @property
    def received(self) -> int:
        """Bytes appended so far."""
        return sum(self.segments.values())

    def to_json(self) -> dict[str, Any]:
        """The ledger's description of an attached upload."""
        return {
            "type": "video" if "video" in self.category else "photo",
            "id": self.id,
            "media_type": self.media_type,
            "size": self.received,
            "segments": len(self.segments),
        }


@dataclass
class FbPhoto:
    """A photo the sandbox fetched for a page."""

    id: str
    page_id: str
    size: int
    content_type: str
    published: bool

    def to_json(self) -> dict[str, Any]:
        """The ledger's description of the photo."""
        return {
            "type": "photo",
            "id": self.id,
            "size": self.size,
            "content_type": self.content_type,
        }


class MediaState:
    """Uploads and photos the sandbox remembers (cleared by ``POST /_sandbox/reset``)."""

    def __init__(self) -> None:
        self.x_uploads: dict[str, XUpload] = {}
        self.fb_photos: dict[str, FbPhoto] = {}

    def clear(self) -> None:
        """Forget everything."""
        self.x_uploads.clear()
        self.fb_photos.clear()


def attached_photos(
    media: MediaState, page_id: str, params: dict[str, str]
) -> tuple[list[dict[str, Any]], str | None]:
    """The unpublished photos a feed post attaches (``attached_media[i]={"media_fbid": id}``),
    or an error message."""
    found: list[dict[str, Any]] = []
    index = 0
    while f"attached_media[{index}]" in params:
        raw = params[f"attached_media[{index}]"]
        try:
            fbid = str(json.loads(raw).get("media_fbid"))
        except (ValueError, AttributeError):
            return [], f"(#100) param attached_media[{index}] must be a JSON object"
        photo = media.fb_photos.get(fbid)
        if photo is None or photo.page_id != page_id or photo.published:
            return [], f"(#100) param attached_media[{index}] has an invalid media_fbid"
        found.append(photo.to_json())
        index += 1
    return found, None


def x_attachments(
    uploads: MediaState, user: str, media: Any
) -> tuple[list[dict[str, Any]], str | None]:
    """The uploads ``media.media_ids`` of a create call names, or an error message."""
    if media is None:
        return [], None
    ids = media.get("media_ids") if isinstance(media, dict) else None
    if not isinstance(ids, list) or not 1 <= len(ids) <= 4:
        return [], "$.media.media_ids: must hold 1 to 4 media ids"
    found = []
    for media_id in ids:
        upload = uploads.x_uploads.get(str(media_id))
        if upload is None or upload.user != user:
            return [], f"$.media.media_ids: media id {media_id} is invalid"
        if not upload.finalized or upload.state != "succeeded":
            return [], f"$.media.media_ids: media {media_id} is not ready (state {upload.state})"
        found.append(upload.to_json())
    return found, None
