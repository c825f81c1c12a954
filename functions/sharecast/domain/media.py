"""Media files (docs/data-model.md#media, docs/api.md#media): kinds, statuses, object paths and the
checks made before an upload URL is issued and after the object lands in Cloud Storage.

Pure logic: no I/O. Sizes are bytes; timestamps aware UTC datetimes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sharecast.domain.models import Record, TargetMedia
from sharecast.errors import FieldProblem
from sharecast.timeutil import isoformat


class MediaKind(StrEnum):
    """What a file is for: a photo, a video, or a short vertical video (reel)."""

    IMAGE = "IMAGE"
    VIDEO = "VIDEO"
    REEL = "REEL"

    @property
    def folder(self) -> str:
        """The object path segment of the kind (``images``, ``videos``, ``reels``)."""
        return {"IMAGE": "images", "VIDEO": "videos", "REEL": "reels"}[self.value]


class MediaStatus(StrEnum):
    """Lifecycle of a media record: the URL is issued (`UPLOADING`), the object was checked
    (`UPLOADED`) or refused (`FAILED`, object deleted), or it was removed (`DELETED`)."""

    UPLOADING = "UPLOADING"
    UPLOADED = "UPLOADED"
    FAILED = "FAILED"
    DELETED = "DELETED"


#: File extension of every MIME type Sharecast can store; the extension of an object always
#: comes from here, never from the user's file name. A MIME type missing here is refused even if
#: a deployment lists it in its allowlist.
EXTENSIONS: dict[str, str] = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
}

_OBJECT_PATH = re.compile(
    r"^media/(?P<folder>images|videos|reels)/(?P<user>[^/]+)/"
    r"(?P<stamp>\d{8}T\d{6}Z)-(?P<media_id>[0-9a-f]{32})\.(?P<ext>[a-z0-9]+)$"
)


def object_path(
    *, kind: MediaKind, user_id: str, media_id: str, mime_type: str, now: datetime
) -> str:
    """``media/{images|videos|reels}/{userId}/{YYYYMMDDTHHMMSSZ}-{mediaId}.{ext}``.

    ``media_id`` is 32 lowercase hex digits (a uuid4), so :func:`media_id_of_path` can find the
    record of a finalized object without a query. Raises ``KeyError`` for a MIME type without an
    extension (callers validate first)."""
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    return f"media/{kind.folder}/{user_id}/{stamp}-{media_id}.{EXTENSIONS[mime_type]}"


def media_id_of_path(path: str) -> str | None:
    """The media id inside an object path made by :func:`object_path`, or ``None`` for any other
    object (the finalize event also fires for objects Sharecast did not ask for)."""
    match = _OBJECT_PATH.match(path)
    return match.group("media_id") if match else None


@dataclass(frozen=True)
class KindPolicy:
    """What a deployment accepts for one kind: allowlisted MIME types and a size cap (bytes)."""

    mime_types: frozenset[str]
    max_bytes: int


def validate_upload(
    *, kind: str, mime_type: str, size: int, policies: Mapping[MediaKind, KindPolicy]
) -> list[FieldProblem]:
    """Problems with a requested upload: unknown kind, a MIME type outside the kind's allowlist
    (or without a known extension), a size that is not positive or above the kind's cap."""
    try:
        media_kind = MediaKind(kind)
    except ValueError:
        return [FieldProblem("kind", "UNKNOWN_KIND", "kind must be IMAGE, VIDEO or REEL")]
    policy = policies[media_kind]
    problems: list[FieldProblem] = []
    if mime_type not in policy.mime_types or mime_type not in EXTENSIONS:
        allowed = ", ".join(sorted(policy.mime_types & EXTENSIONS.keys()))
        problems.append(
            FieldProblem(
                "mimeType",
                "MIME_TYPE_NOT_ALLOWED",
                f"{mime_type!r} is not accepted for {media_kind.value}; allowed: {allowed}",
            )
        )
    if size <= 0:
        problems.append(FieldProblem("size", "SIZE_INVALID", "size must be a positive number"))
    elif size > policy.max_bytes:
        problems.append(
            FieldProblem(
                "size",
                "SIZE_TOO_LARGE",
                f"{media_kind.value} files may be at most {policy.max_bytes} bytes",
            )
        )
    return problems


def check_object(
    *, declared_type: str, declared_size: int, content_type: str | None, size: int | None
) -> str | None:
    """Why a stored object does not match its upload request, or ``None`` when it does.

    The object must have exactly the declared content type and 1..``declared_size`` bytes (the
    signed URL's ``x-goog-content-length-range``)."""
    if size is None:
        return "the object has no size"
    if (content_type or "").split(";")[0].strip().lower() != declared_type:
        return f"content type {content_type!r} differs from the declared {declared_type!r}"
    if size < 1:
        return "the object is empty"
    if size > declared_size:
        return f"the object has {size} bytes, more than the declared {declared_size}"
    return None


class MediaRecord(Record):
    """``media/{mediaId}``: one uploaded file of one user (docs/data-model.md).

    ``size``: declared bytes until the object is checked, then its real size; ``upload_expires_at``:
    when the signed PUT URL expires; ``expires_at``: when cleanup may delete the object (unless a
    pending post uses it); ``post_ids``: posts that attached it (cleanup checks them);
    ``failure``: why the object was refused; ``generation``: the object generation that was
    checked (a later confirmation refuses an object replaced since,
    https://cloud.google.com/storage/docs/generations-preconditions)."""

    id: str
    user_id: str
    file_name: str
    kind: MediaKind
    object_path: str
    mime_type: str
    size: int
    status: MediaStatus = MediaStatus.UPLOADING
    upload_expires_at: datetime
    uploaded_at: datetime | None = None
    expires_at: datetime
    post_ids: list[str] = []
    failure: str | None = None
    generation: int | None = None
    version: int = 1
    created_at: datetime
    updated_at: datetime

    def target_media(self) -> TargetMedia:
        """The copy a target keeps (publishing needs no extra read)."""
        return TargetMedia(
            media_id=self.id,
            kind=self.kind.value,
            mime_type=self.mime_type,
            size=self.size,
            object_path=self.object_path,
        )

    def to_json(self) -> dict[str, Any]:
        """The API representation (camelCase)."""
        return {
            "mediaId": self.id,
            "fileName": self.file_name,
            "kind": self.kind.value,
            "mimeType": self.mime_type,
            "size": self.size,
            "status": self.status.value,
            "objectPath": self.object_path,
            "createdAt": isoformat(self.created_at),
            "uploadedAt": isoformat(self.uploaded_at),
            "expiresAt": isoformat(self.expires_at),
            "failure": self.failure,
        }
