"""Request and response models of ``/connections`` (docs/api.md#accounts-realtime-and-operations).
Tokens are never part of any response model."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sharecast.domain.models import ConnectionRecord
from sharecast.timeutil import isoformat


class ConnectionOut(BaseModel):
    """One connected account: never its tokens."""

    id: str
    platform: str
    accountId: str
    accountName: str
    status: Literal["active", "needs_reauth"]
    scopes: list[str]
    expiresAt: str | None = Field(description="access token expiry, RFC 3339 UTC; null: none")
    createdAt: str | None
    updatedAt: str | None

    @classmethod
    def of(cls, record: ConnectionRecord) -> ConnectionOut:
        """The API view of a stored connection."""
        return cls(
            id=record.id,
            platform=record.platform.value,
            accountId=record.account_id,
            accountName=record.account_name,
            status="active" if record.status == "ACTIVE" else "needs_reauth",
            scopes=record.scopes,
            expiresAt=isoformat(record.expires_at),
            createdAt=isoformat(record.created_at),
            updatedAt=isoformat(record.updated_at),
        )


class ConnectionsOut(BaseModel):
    """``GET /connections`` and the callback's answer."""

    connections: list[ConnectionOut]


class AuthorizeOut(BaseModel):
    """``GET /connections/{platform}/authorize``: open ``authorizationUrl`` in the browser."""

    authorizationUrl: str
    state: str
    expiresAt: str


class CallbackQuery(BaseModel):
    """Query of ``GET /connections/{platform}/callback``: what the platform appended to the
    redirect URI. ``error`` is set instead of ``code`` when the user refused. Other parameters
    the platforms add (``scope``, ``iss``...) are ignored."""

    model_config = ConfigDict(extra="ignore")

    state: str = Field(min_length=1, max_length=200)
    code: str | None = Field(default=None, min_length=1, max_length=2048)
    error: str | None = Field(default=None, max_length=200)
    error_description: str | None = Field(default=None, max_length=2000)
