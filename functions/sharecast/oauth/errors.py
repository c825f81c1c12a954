"""Errors of the OAuth flows and of token refresh. Messages never contain tokens or secrets."""

from __future__ import annotations

from sharecast.errors import BadRequest, InternalError, NotConfigured, UpstreamFailed


class OAuthStateInvalid(BadRequest):
    """The ``state`` of a callback is unknown, expired, already used, or not the caller's."""

    code = "OAUTH_STATE_INVALID"
    title = "Invalid OAuth state"


class OAuthDenied(BadRequest):
    """The user refused consent, or the platform refused the authorization code."""

    code = "OAUTH_DENIED"
    title = "Authorization refused"


class NoAccounts(BadRequest):
    """The authorization worked but the platform account has nothing Sharecast can post as
    (no Facebook Page, no Instagram business account linked to a Page, no YouTube channel)."""

    code = "NO_ACCOUNTS"
    title = "No account to connect"


class ShareLinkOnly(BadRequest):
    """WhatsApp: there is no API for posting on a user's behalf, so nothing to connect."""

    code = "SHARE_LINK_ONLY"
    title = "No connection for this platform"


class OAuthNotConfigured(NotConfigured):
    """This deployment has no client id/secret (or no callback URL) for the platform."""

    code = "OAUTH_NOT_CONFIGURED"
    title = "Platform not configured"


class OAuthUpstreamError(UpstreamFailed):
    """The platform's token or identity endpoint failed (network, 5xx, malformed answer)."""

    code = "OAUTH_UPSTREAM_ERROR"
    title = "Platform unavailable"


class GrantRejected(InternalError):
    """The token endpoint refused a grant (``invalid_grant``, a revoked or reused refresh token,
    an expired Meta token): the user must authorize again. ``error`` is the platform's error
    code (``invalid_grant``, ``invalid_request``, ``OAuthException/190``...)."""

    code = "GRANT_REJECTED"

    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description

    def __str__(self) -> str:
        return self.detail


class NotRefreshable(InternalError):
    """The connection has no way to refresh (Meta Page tokens, no refresh token granted)."""

    code = "NOT_REFRESHABLE"

    def __str__(self) -> str:
        return self.detail


class UpstreamUnavailable(InternalError):
    """The token endpoint could not be reached or answered 5xx/garbage: try again later."""

    code = "UPSTREAM_UNAVAILABLE"

    def __str__(self) -> str:
        return self.detail
