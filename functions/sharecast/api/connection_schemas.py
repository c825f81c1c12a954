"""Request and response models of `/connections` (docs/api.md#accounts-realtime-and-operations).
Tokens are never part of any response model."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, Field

from sharecast.api.fields import ApiOut, QueryModel, Timestamp
from sharecast.domain.models import ConnectionRecord
from sharecast.domain.statuses import Platform

_AT = "2030-01-01T09:00:00.000Z"
_CONNECTION = {
    "id": "c0ffee00c0ffee00c0ffee00c0ffee00",
    "platform": "x",
    "accountId": "1234567890",
    "accountName": "@alice",
    "status": "active",
    "scopes": ["tweet.read", "tweet.write", "users.read", "offline.access"],
    "expiresAt": _AT,
    "createdAt": _AT,
    "updatedAt": _AT,
}


class ConnectionOut(ApiOut):
    """One connected account (never its tokens)."""

    example: ClassVar[dict[str, Any] | None] = _CONNECTION

    id: str = Field(description="The connection's id (`DELETE /connections/{conn_id}`).")
    platform: Platform = Field(description="The network.")
    accountId: str = Field(description="The network's id of the account (a target's `accountId`).")
    accountName: str = Field(description="The account's display name.")
    status: Literal["active", "needs_reauth"] = Field(
        description="`needs_reauth`: the network refused the grant; connect again."
    )
    scopes: list[str] = Field(description="The scopes the grant covers.")
    expiresAt: Timestamp | None = Field(
        description="When the access token expires (refreshed by itself); `null`: never."
    )
    createdAt: Timestamp | None = Field(description="When the account was connected.")
    updatedAt: Timestamp | None = Field(description="When the connection last changed.")

    @classmethod
    def of(cls, record: ConnectionRecord) -> ConnectionOut:
        """The API view of a stored connection."""
        return cls(
            id=record.id,
            platform=record.platform,
            accountId=record.account_id,
            accountName=record.account_name,
            status="active" if record.status == "ACTIVE" else "needs_reauth",
            scopes=record.scopes,
            expiresAt=record.expires_at,
            createdAt=record.created_at,
            updatedAt=record.updated_at,
        )


class ConnectionsOut(ApiOut):
    """Your connected accounts."""

    example: ClassVar[dict[str, Any] | None] = {"connections": [_CONNECTION]}

    connections: list[ConnectionOut] = Field(description="One entry per connected account.")


class AuthorizeOut(ApiOut):
    """Where to send the browser to connect an account."""

    example: ClassVar[dict[str, Any] | None] = {
        "authorizationUrl": "https://x.com/i/oauth2/authorize?response_type=code&state=abc",
        "state": "abc",
        "expiresAt": _AT,
    }

    authorizationUrl: str = Field(description="The network's consent page; open it.")
    state: str = Field(description="Single-use, bound to you; the callback must return it.")
    expiresAt: Timestamp = Field(description="When `state` expires (`OAUTH_STATE_TTL_S`).")


class CallbackQuery(QueryModel):
    """What the network appended to the redirect URI; other parameters it adds (`scope`,
    `iss`...) are ignored."""

    model_config = ConfigDict(extra="ignore")
    example: ClassVar[dict[str, Any] | None] = {"code": "auth-code-from-network", "state": "abc"}

    state: str = Field(
        min_length=1, max_length=200, description="The `state` of the authorize answer."
    )
    code: str | None = Field(
        default=None,
        min_length=1,
        max_length=2048,
        description="The authorization code; absent when the user refused.",
    )
    error: str | None = Field(
        default=None, max_length=200, description="The network's error code when refused."
    )
    error_description: str | None = Field(
        default=None,
        max_length=2000,
        description="The network's explanation (an OAuth 2 parameter, spelled as RFC 6749 does).",
    )
