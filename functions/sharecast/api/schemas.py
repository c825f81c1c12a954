"""Request bodies of the HTTP API (JSON field names as in SPEC §4, unknown fields refused)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from sharecast.timeutil import to_utc

_TEXT_MAX = 100_000


class ApiModel(BaseModel):
    """Strict request model: unknown fields are errors, strings are not coerced from numbers."""

    model_config = ConfigDict(extra="forbid", strict=False, str_strip_whitespace=False)


class MediaRef(ApiModel):
    """A reference to uploaded media."""

    mediaId: str = Field(min_length=1, max_length=64)


class TargetIn(ApiModel):
    """One target of a multipost: a platform, optionally an account and per-target overrides."""

    platform: str = Field(min_length=1, max_length=32)
    accountId: str | None = Field(default=None, min_length=1, max_length=128)
    mediaType: str | None = Field(default=None, max_length=32)
    content: str | None = Field(default=None, max_length=_TEXT_MAX)
    title: str | None = Field(default=None, max_length=1000)
    description: str | None = Field(default=None, max_length=_TEXT_MAX)


class MultipostIn(ApiModel):
    """``POST /posts/multipost`` body. ``scheduleAt`` needs a timezone offset (RFC 3339)."""

    content: str = Field(max_length=_TEXT_MAX)
    media: list[MediaRef] = Field(default_factory=list, max_length=20)
    platforms: list[TargetIn] = Field(min_length=1, max_length=20)
    scheduleAt: AwareDatetime | None = None
    draft: bool = False
    allowLate: bool = False

    def schedule_utc(self) -> datetime | None:
        """``scheduleAt`` converted to UTC."""
        return to_utc(self.scheduleAt) if self.scheduleAt else None


# --- Video shares (SPEC §4.1): requests and responses ------------------------------------------


class ShareIn(ApiModel):
    """``POST /videos/{videoId}/share`` body. ``platforms`` omitted: every allowlisted one.
    ``hashtags`` (without or with ``#``) replace the video's own tags in server posts."""

    platforms: list[Annotated[str, Field(min_length=1, max_length=32)]] | None = Field(
        default=None, min_length=1, max_length=20
    )
    mode: Literal["track_only", "server_post"] = "track_only"
    force: bool = False
    message: str | None = Field(default=None, max_length=2000)
    hashtags: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=10
    )


class ShareErrorOut(ApiModel):
    """Why one platform of a share request was not shared."""

    code: str
    message: str


class ShareResultOut(ApiModel):
    """One platform's outcome. ``status`` is null when ``error`` says nothing was recorded."""

    platform: str
    status: Literal["pending", "success", "failed"] | None
    alreadyShared: bool
    record_id: str | None
    attempt_count: int = 0
    intent_url: str | None = None
    error: ShareErrorOut | None = None


class ShareOut(ApiModel):
    """``POST /videos/{videoId}/share`` (200) and ``.../share/{platform}/retry`` (202)."""

    video_id: str
    results: list[ShareResultOut]


class ShareStatusEntryOut(ApiModel):
    """The caller's share of a video to one allowlisted platform (``shared``: it succeeded)."""

    platform: str
    shared: bool
    status: Literal["pending", "success", "failed"] | None
    mode: Literal["track_only", "server_post"] | None = None
    lastSharedAt: str | None = None
    attempt_count: int = 0
    external_ref: str | None = None
    error_message: str | None = None


class ShareStatusOut(ApiModel):
    """``GET /videos/{videoId}/share-status``."""

    video_id: str
    platforms: list[ShareStatusEntryOut]


class ShareAuditQuery(ApiModel):
    """Query string of ``GET /videos/{videoId}/share-audit``."""

    limit: int = Field(default=100, ge=1, le=500)


class ShareAuditEntryOut(ApiModel):
    """One audit entry: who (``actor``; ``system`` for the publisher) did what to whose share."""

    id: str
    record_id: str
    video_id: str
    platform: str
    user_id: str
    actor: str
    action: str
    mode: Literal["track_only", "server_post"]
    outcome: Literal["pending", "success", "failed"]
    attempt_count: int
    error_message: str | None = None
    external_ref: str | None = None
    created_at: str


class ShareAuditOut(ApiModel):
    """``GET /videos/{videoId}/share-audit``: newest first."""

    video_id: str
    entries: list[ShareAuditEntryOut]


# --- media (SPEC §4.3) ----------------------------------------------------------------------


class UploadUrlIn(ApiModel):
    """``POST /media/upload-url`` body: the file's name (kept for display only; the object's
    extension comes from ``mimeType``), MIME type, size in bytes and kind."""

    fileName: str = Field(min_length=1, max_length=255)
    mimeType: str = Field(min_length=3, max_length=100)
    size: int
    kind: str = Field(min_length=1, max_length=16)


class UploadUrlOut(BaseModel):
    """Where and how to upload: ``PUT`` the bytes to ``uploadUrl`` with exactly ``headers``
    before ``expiresAt``, then ``POST /media/confirm``."""

    mediaId: str
    uploadUrl: str
    method: str
    headers: dict[str, str]
    objectPath: str
    expiresAt: str


class MediaConfirmIn(ApiModel):
    """``POST /media/confirm`` body."""

    mediaId: str = Field(min_length=1, max_length=64)


class MediaOut(BaseModel):
    """A media record. ``url`` (``GET /media/{id}`` of an ``UPLOADED`` file only) is a signed
    read URL valid until ``urlExpiresAt``."""

    mediaId: str
    fileName: str
    kind: str
    mimeType: str
    size: int
    status: str
    objectPath: str
    createdAt: str | None
    uploadedAt: str | None
    expiresAt: str | None
    failure: str | None = None
    url: str | None = None
    urlExpiresAt: str | None = None
