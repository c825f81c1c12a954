"""The connector interface every network implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class PublishRequest:
    """What to publish on one account.

    ``account_id``: the platform's id of the page/user posting; ``text``: final text after
    per-target overrides; ``link``: optional URL to attach where the platform supports it;
    ``target_key``: Sharecast's ``{post_id}/{target_id}``, for logs and reconciliation only.
    """

    account_id: str
    text: str
    target_key: str
    link: str | None = None
    media_urls: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class PublishResult:
    """The platform's id and public URL of what was published."""

    external_id: str
    external_url: str | None = None


class Connector(Protocol):
    """Publishes to one network. Implementations raise only :mod:`sharecast.platforms.errors`.

    Every connector reads its base URL from settings, so the local sandbox can stand in for the
    network with the same request and response shapes.
    """

    platform: str

    def publish(self, request: PublishRequest, *, access_token: str) -> PublishResult:
        """Create the post. Raises ``PlatformError`` subclasses, classified (SPEC §3)."""
        ...

    def find_existing(
        self, request: PublishRequest, *, access_token: str, since: datetime
    ) -> PublishResult | None:
        """Look for a post of ``request.text`` on the account created at or after ``since``.

        Used after an attempt whose outcome is unknown (a crash or a lost response) so a retry
        does not post twice. Returns the existing post or ``None`` when there is none; raises
        ``NotImplementedError`` when the platform offers no way to tell (the target then fails
        as ``UNCERTAIN``), or ``PlatformError`` when the lookup itself failed.
        """
        ...
