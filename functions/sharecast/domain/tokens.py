"""OAuth credentials of one platform account, as the OAuth flows and the store exchange them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class TokenSet:
    """Credentials of one account. ``expires_at`` is UTC (``None``: no known expiry)."""

    access_token: str
    refresh_token: str | None = None
    expires_at: datetime | None = None
    scopes: tuple[str, ...] = ()

    def __repr__(self) -> str:  # never print a token, even in a traceback or a debugger
        return f"TokenSet(expires_at={self.expires_at!r}, scopes={self.scopes!r})"
