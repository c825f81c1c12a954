"""Typed per-network state of the sandbox's multi-step flows (held by
:class:`~infra.sandbox.state.SandboxState`): Meta containers, LinkedIn uploads, YouTube upload
sessions. Plain data, no routes: the network modules read and change them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass
class Container:
    """One container: who made it, what it holds, and where it is in its life."""

    id: str
    platform: str
    account_id: str
    media_type: str
    text: str
    is_carousel_item: bool
    children: list[str]
    media_bytes: int
    status: str
    detail: str
    polls_left: int
    created_at: datetime
    published_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The control-API shape."""
        return {
            "id": self.id,
            "platform": self.platform,
            "account_id": self.account_id,
            "media_type": self.media_type,
            "children": self.children,
            "media_bytes": self.media_bytes,
            "status": self.status,
            "published_id": self.published_id,
        }


@dataclass
class ContainerStore:
    """Containers of one sandbox, by id."""

    containers: dict[str, Container] = field(default_factory=dict)


@dataclass
class LinkedInVideo:
    """A LinkedIn video being uploaded or uploaded: its parts, their ETags, processing polls."""

    urn: str
    owner: str
    size: int
    parts: list[tuple[int, int]]
    token: str
    etags: dict[int, str] = field(default_factory=dict)
    received: int = 0
    finalized: bool = False
    polls_left: int = 0


@dataclass
class LinkedInUploads:
    """Images (URN → bytes received, or ``None`` before the ``PUT``) and videos by URN."""

    images: dict[str, int | None] = field(default_factory=dict)
    videos: dict[str, LinkedInVideo] = field(default_factory=dict)


@dataclass
class YouTubeSession:
    """One YouTube resumable upload session."""

    id: str
    channel: str
    token: str
    total: int
    snippet: dict[str, Any]
    status: dict[str, Any]
    received: int = 0
    video_id: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: SHA-256 of the committed bytes, in order (the assembled file, without keeping it).
    digest: Any = field(default_factory=hashlib.sha256)

    def to_json(self) -> dict[str, Any]:
        """The control-API shape: ``sha256`` is the hex digest of the bytes committed so far,
        to compare with the source's once ``received == total``."""
        return {
            "id": self.id,
            "channel": self.channel,
            "total": self.total,
            "received": self.received,
            "video_id": self.video_id,
            "sha256": self.digest.hexdigest(),
        }


@dataclass
class YouTubeSessions:
    """YouTube upload sessions by id."""

    sessions: dict[str, YouTubeSession] = field(default_factory=dict)
