"""Everything a running sandbox remembers: ledger, fault rules, trigger counters, settings."""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from infra.sandbox.faults import FaultBook, InBandTriggers
from infra.sandbox.ledger import IdMinter, Ledger
from infra.sandbox.media_state import MediaState
from infra.sandbox.oauth import OAuthBook
from infra.sandbox.stores import ContainerStore, LinkedInUploads, YouTubeSessions
from infra.sandbox.webhooks import WebhookReceivers


class SandboxSettings(BaseModel):
    """Global switches, changed with ``PATCH /_sandbox/settings`` or ``POST /_sandbox/reset``.

    ``duplicate_detection``: refuse a post whose text equals one the same account posted within
    ``duplicate_window_s`` seconds (default 24 h), like the real platforms.
    """

    model_config = ConfigDict(extra="forbid")

    duplicate_detection: bool = True
    duplicate_window_s: int = Field(default=86_400, ge=0)
    # Multi-step networks (infra/sandbox/meta_containers.py, linkedin.py, youtube.py):
    # status polls a video container / LinkedIn video answers "processing" before it is ready,
    # Instagram's publishing quota per 24 h, LinkedIn's oldest active version and video part size.
    processing_polls: int = Field(default=1, ge=0, le=100)
    instagram_quota_total: int = Field(default=100, ge=0)
    linkedin_min_version: str = "202411"
    linkedin_part_bytes: int = Field(default=4_194_304, ge=1)
    #: YouTube: a chunk ``PUT`` keeps at most this many bytes (0: every chunk whole).
    youtube_commit_bytes: int = Field(default=0, ge=0)


class SandboxState:
    """The mutable state of one sandbox app (one per :func:`infra.sandbox.app.create_app`).

    Handlers run on one event loop and never ``await`` between checking and recording a post, so
    no lock is needed.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.ledger = Ledger()
        self.ids = IdMinter()
        self.faults = FaultBook(seed)
        self.triggers = InBandTriggers()
        self.settings = SandboxSettings()
        self.usage = UsageWindows()
        #: Multi-step state of the networks (typed stores, :mod:`infra.sandbox.stores`).
        self.containers = ContainerStore()
        self.linkedin = LinkedInUploads()
        self.youtube = YouTubeSessions()
        self.media = MediaState()
        self.oauth = OAuthBook()
        self.webhooks = WebhookReceivers(seed)

    def reset(self, seed: int | None = None, **settings: Any) -> None:
        """Clear ledger, rules and counters; settings back to defaults, then ``settings``."""
        self.ledger.clear()
        self.faults.clear()
        self.faults.reseed(seed)
        self.triggers.clear()
        self.usage.clear()
        self.containers = ContainerStore()
        self.linkedin = LinkedInUploads()
        self.youtube = YouTubeSessions()
        self.media.clear()
        self.oauth.clear()
        self.webhooks.clear(seed)
        self.settings = SandboxSettings.model_validate(settings)

    def update_settings(self, changes: dict[str, Any]) -> SandboxSettings:
        """Apply a partial settings change (validated) and return the new settings."""
        self.settings = SandboxSettings.model_validate({**self.settings.model_dump(), **changes})
        return self.settings


class UsageWindows:
    """Call counters in fixed windows, for the usage headers the networks send on responses."""

    def __init__(self) -> None:
        self._windows: dict[tuple[str, ...], tuple[int, int]] = {}

    def hit(self, key: tuple[str, ...], window_s: int) -> tuple[int, int]:
        """Count one call under ``key``; returns ``(calls in this window, window end epoch s)``."""
        now = int(time.time())
        start = now - now % window_s
        window_start, count = self._windows.get(key, (start, 0))
        if window_start != start:
            count = 0
        count += 1
        self._windows[key] = (start, count)
        return count, start + window_s

    def clear(self) -> None:
        """Forget every counter."""
        self._windows.clear()
