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
    allowLate: bool = False

    def schedule_utc(self) -> datetime | None:
        """``scheduleAt`` converted to UTC."""
        return to_utc(self.scheduleAt) if self.scheduleAt else None
