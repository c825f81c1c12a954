"""Request bodies of the HTTP API (JSON field names as in SPEC §4, unknown fields refused)."""

from __future__ import annotations

from datetime import datetime

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

    def schedule_utc(self) -> datetime | None:
        """``scheduleAt`` converted to UTC."""
        return to_utc(self.scheduleAt) if self.scheduleAt else None


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
