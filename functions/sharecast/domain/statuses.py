"""Platforms and the statuses of posts, targets and events (docs/data-model.md,
docs/semantics.md#statuses-and-rules)."""

from __future__ import annotations

from enum import StrEnum


class Platform(StrEnum):
    """Networks Sharecast knows. WhatsApp is share-link only (no server posting)."""

    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"
    THREADS = "threads"
    LINKEDIN = "linkedin"
    X = "x"
    YOUTUBE = "youtube"
    WHATSAPP = "whatsapp"


#: Accepted spellings of platform names, mapped to the canonical name.
PLATFORM_ALIASES: dict[str, Platform] = {
    "twitter": Platform.X,
    "fb": Platform.FACEBOOK,
    "ig": Platform.INSTAGRAM,
    "yt": Platform.YOUTUBE,
}


def normalise_platform(name: str) -> Platform | None:
    """The canonical platform for a user-supplied name (case-insensitive, aliases), or None."""
    key = name.strip().lower()
    if key in PLATFORM_ALIASES:
        return PLATFORM_ALIASES[key]
    try:
        return Platform(key)
    except ValueError:
        return None


class PostStatus(StrEnum):
    """Lifecycle of a post (docs/semantics.md#statuses-and-rules)."""

    DRAFT = "DRAFT"
    SCHEDULED = "SCHEDULED"
    PUBLISHING = "PUBLISHING"
    PUBLISHED = "PUBLISHED"
    PARTIAL = "PARTIAL"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class TargetStatus(StrEnum):
    """Lifecycle of one platform/account target of a post (docs/data-model.md)."""

    PENDING = "PENDING"
    PUBLISHING = "PUBLISHING"
    RETRYING = "RETRYING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def terminal(self) -> bool:
        """True once no further attempt will be made."""
        return self in (TargetStatus.SUCCESS, TargetStatus.FAILED, TargetStatus.CANCELLED)


class EventType(StrEnum):
    """SSE event names (docs/semantics.md#events-and-replay)."""

    POST_STATUS = "post_status"
    TARGET_STATUS = "target_status"
    SHARE_STATUS = "share_status"
    NOTIFICATION = "notification"
    SNAPSHOT = "snapshot"
