"""The ledger: every post the sandbox accepted, in order, plus id minting.

A post is recorded the moment the sandbox accepts it, *before* the response is written, so the
``accept_then_drop`` / ``accept_then_hang`` faults leave a post the client never heard about —
exactly the "lost confirmation" case reconciliation has to handle.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

#: X's snowflake epoch (2010-11-04T01:42:54.657Z) in milliseconds.
_TWITTER_EPOCH_MS = 1288834974657


def rfc3339(value: datetime) -> str:
    """``2026-11-21T16:14:00.123Z`` (UTC, milliseconds)."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Post:
    """One accepted post. ``fault`` names the fault that swallowed its response, if any."""

    platform: str
    account_id: str
    id: str
    text: str
    link: str | None
    created_at: datetime
    token_fingerprint: str | None = None
    fault: str | None = None
    #: Attached media as the network received them (``type``, ``id``, ``size`` in bytes...).
    media: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The control-API shape of this post."""
        return {
            "platform": self.platform,
            "account_id": self.account_id,
            "id": self.id,
            "text": self.text,
            "link": self.link,
            "created_at": rfc3339(self.created_at),
            "token_fingerprint": self.token_fingerprint,
            "fault": self.fault,
            "media": self.media,
        }


class Ledger:
    """Accepted posts in acceptance order (oldest first)."""

    def __init__(self) -> None:
        self._posts: list[Post] = []

    def record(self, post: Post) -> Post:
        """Append ``post`` and return it."""
        self._posts.append(post)
        return post

    def posts(self, platform: str | None = None, account_id: str | None = None) -> list[Post]:
        """Posts, oldest first, optionally filtered by platform and account."""
        return [
            p
            for p in self._posts
            if (platform is None or p.platform == platform)
            and (account_id is None or p.account_id == account_id)
        ]

    def since(self, platform: str, account_id: str, since: datetime) -> Iterator[Post]:
        """Posts of one account created at or after ``since``, oldest first."""
        return (p for p in self.posts(platform, account_id) if p.created_at >= since)

    def clear(self) -> None:
        """Forget every post."""
        self._posts.clear()


class IdMinter:
    """Unique, time-ordered ids shaped like each platform's."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self._last_snowflake = 0
        self._last_numeric = 0

    def snowflake(self) -> str:
        """A 19-digit X-style snowflake id (milliseconds since X's epoch, shifted by 22 bits)."""
        with self._lock:
            candidate = ((int(time.time() * 1000) - _TWITTER_EPOCH_MS) << 22) | (
                next(self._seq) & 0xFFF
            )
            self._last_snowflake = max(candidate, self._last_snowflake + 1)
            return str(self._last_snowflake)

    def numeric(self) -> str:
        """A 15-16 digit numeric id like a Facebook object id."""
        with self._lock:
            candidate = int(time.time() * 1000) * 100
            self._last_numeric = max(candidate, self._last_numeric + 1)
            return str(self._last_numeric)
