"""One OAuth provider per network: its authorization URL, code exchange with account discovery,
and refresh, with the documented endpoints and shapes (URLs from :class:`Settings`, so the local
sandbox stands in for each network).

Sources (fetched November 2026):

- Meta (Facebook Pages, and Instagram through Facebook Login for Business): manual login flow
  https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow, long-lived
  token https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived
  (``grant_type=fb_exchange_token``, about 60 days), Page tokens and the linked Instagram
  business account from ``GET /me/accounts`` (https://developers.facebook.com/documentation/
  instagram-platform/instagram-api-with-facebook-login/get-started). A Page token obtained with a
  long-lived user token has no expiry and Meta has no refresh grant: when it dies, the user logs
  in again (``needs_reauth``).
- Threads: https://developers.facebook.com/documentation/threads/get-started/get-access-tokens-and-permissions
  (authorization window ``threads.com/oauth/authorize``, code exchange ``POST
  /oauth/access_token`` → ``{access_token, user_id}``), long-lived ``GET /access_token?
  grant_type=th_exchange_token`` and ``GET /refresh_access_token?grant_type=th_refresh_token``
  (https://developers.facebook.com/docs/threads/get-started/long-lived-tokens/).
- LinkedIn: https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow
  and programmatic refresh tokens (``POST /oauth/v2/accessToken``; refresh tokens do not slide),
  member id from OpenID ``GET /v2/userinfo`` (``sub``).
- X: https://docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code and
  user-access-token (PKCE S256 required; confidential clients authenticate with HTTP Basic;
  ``offline.access`` yields a refresh token; refresh tokens are single-use and rotate).
- Google/YouTube: https://developers.google.com/identity/protocols/oauth2/web-server
  (``access_type=offline`` for a refresh token, ``prompt=consent`` to get one again on re-consent,
  PKCE supported), channel from ``GET /youtube/v3/channels?part=snippet&mine=true``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import requests

from sharecast.config import Settings
from sharecast.domain.statuses import Platform
from sharecast.domain.tokens import TokenSet
from sharecast.oauth.errors import (
    GrantRejected,
    NoAccounts,
    NotRefreshable,
    OAuthNotConfigured,
    UpstreamUnavailable,
)

#: Most accounts followed through Graph paging of ``/me/accounts``.
MAX_PAGES = 5
#: The placeholder Terraform stores as the first version of each client secret
#: (terraform/secrets.tf): read as "not configured".
UNSET_SECRET = "unset"


@dataclass(frozen=True)
class Account:
    """A platform account discovered after a code exchange, with its own credentials."""

    account_id: str
    account_name: str
    tokens: TokenSet


def pkce_pair() -> tuple[str, str]:
    """A PKCE ``(code_verifier, code_challenge)`` with method S256 (RFC 7636 §4.1-4.2):
    43-character base64url verifier, challenge = base64url(SHA-256(verifier)) without padding."""
    verifier = secrets.token_urlsafe(48)[:64]
    return verifier, pkce_challenge(verifier)


def pkce_challenge(verifier: str) -> str:
    """The S256 challenge of ``verifier``."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _expiry(now: datetime, expires_in: Any) -> datetime | None:
    try:
        seconds = int(expires_in)
    except (TypeError, ValueError):
        return None
    return now + timedelta(seconds=seconds) if seconds > 0 else None


def _scopes(value: Any, sep: str = " ") -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(s for s in value.replace(",", sep).split(sep) if s)
    return ()


class Provider:
    """Base of every network's OAuth provider.

    ``pkce``: whether the authorization carries an S256 ``code_challenge``; ``scopes``: what is
    requested. Subclasses implement :meth:`exchange` (code → accounts) and :meth:`refresh`.
    HTTP failures raise :class:`UpstreamUnavailable` (network, 5xx, not JSON) or
    :class:`GrantRejected` (4xx from a token endpoint); neither message holds a token.
    """

    platform: Platform
    pkce = False
    scopes: tuple[str, ...] = ()
    scope_separator = " "

    def __init__(self, settings: Settings, session: requests.Session, name: str) -> None:
        self.settings = settings
        self.session = session
        self.timeout_s = settings.platform_http_timeout_s
        self.client_id: str | None = getattr(settings, f"{name}_client_id")
        secret = getattr(settings, f"{name}_client_secret")
        value = secret.get_secret_value() if secret else None
        self.client_secret: str | None = None if value in (None, "", UNSET_SECRET) else value
        self.authorize_url: str = getattr(settings, f"{name}_oauth_authorize_url")
        self.token_url: str = getattr(settings, f"{name}_oauth_token_url")
        self.api_base: str = getattr(settings, f"{name}_oauth_api_base_url").rstrip("/")

    @property
    def configured(self) -> bool:
        """Whether client id and secret are both set."""
        return bool(self.client_id and self.client_secret)

    def _credentials(self) -> tuple[str, str]:
        if not (self.client_id and self.client_secret):
            raise OAuthNotConfigured(f"{self.platform.value} OAuth client is not configured")
        return self.client_id, self.client_secret

    # --- authorization -------------------------------------------------------------------

    def extra_authorize_params(self) -> dict[str, str]:
        """Network-specific authorization parameters (``access_type``...)."""
        return {}

    def authorization_url(
        self, *, state: str, redirect_uri: str, code_challenge: str | None
    ) -> str:
        """The consent page URL the browser opens (RFC 6749 §4.1.1 parameters)."""
        client_id, _ = self._credentials()
        params = {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": self.scope_separator.join(self.scopes),
            "state": state,
            **self.extra_authorize_params(),
        }
        if self.pkce and code_challenge:
            params["code_challenge"] = code_challenge
            params["code_challenge_method"] = "S256"
        sep = "&" if "?" in self.authorize_url else "?"
        return f"{self.authorize_url}{sep}{urlencode(params)}"

    def exchange(
        self, *, code: str, redirect_uri: str, code_verifier: str | None, now: datetime
    ) -> list[Account]:
        """Exchange the authorization code and discover the accounts it grants."""
        raise NotImplementedError

    def _code_grant(
        self, *, code: str, redirect_uri: str, code_verifier: str | None, basic_auth: bool = False
    ) -> dict[str, Any]:
        """The token request of the authorization-code grant (RFC 6749 §4.1.3) at
        ``token_url``: client credentials in the form, or HTTP Basic when ``basic_auth``;
        ``code_verifier`` (PKCE, RFC 7636 §4.5) when given. Returns the JSON answer."""
        client_id, secret = self._credentials()
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if code_verifier:
            data["code_verifier"] = code_verifier
        if not basic_auth:
            data |= {"client_id": client_id, "client_secret": secret}
        return self._call(
            "POST",
            self.token_url,
            data=data,
            auth=(client_id, secret) if basic_auth else None,
            token_endpoint=True,
        )

    def refresh(self, tokens: TokenSet, *, now: datetime) -> TokenSet:
        """New credentials from ``tokens``. Raises :class:`NotRefreshable`,
        :class:`GrantRejected` (the user must authorize again) or :class:`UpstreamUnavailable`."""
        raise NotRefreshable(f"{self.platform.value} tokens cannot be refreshed")

    # --- HTTP ------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        bearer: str | None = None,
        auth: tuple[str, str] | None = None,
        token_endpoint: bool = False,
    ) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                auth=auth,
                timeout=self.timeout_s,
            )
        except requests.RequestException as exc:
            # requests' messages include the URL, whose query may hold a token: keep the type.
            raise UpstreamUnavailable(
                f"{self.platform.value} unreachable ({type(exc).__name__})"
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 500 or response.status_code == 429:
            raise UpstreamUnavailable(f"{self.platform.value} answered {response.status_code}")
        if response.status_code >= 400:
            error, description = _error_of(body)
            if token_endpoint or response.status_code in (400, 401):
                raise GrantRejected(error or f"http_{response.status_code}", description)
            raise UpstreamUnavailable(f"{self.platform.value} answered {response.status_code}")
        if not isinstance(body, dict):
            raise UpstreamUnavailable(f"{self.platform.value} answered a non-JSON body")
        return body


def _error_of(body: Any) -> tuple[str, str]:
    """``(error, description)`` of an OAuth (RFC 6749 §5.2), Graph or problem+json error body."""
    if not isinstance(body, dict):
        return "", ""
    error = body.get("error")
    if isinstance(error, dict):  # Graph: {"error": {"message", "type", "code"}}
        code = error.get("code")
        return f"{error.get('type', 'OAuthException')}/{code}", str(error.get("message", ""))[:200]
    if isinstance(error, str):
        return error, str(body.get("error_description", ""))[:200]
    if "title" in body:  # X problem+json
        return str(body.get("title")), str(body.get("detail", ""))[:200]
    return "", ""


def _need(body: dict[str, Any], key: str, platform: Platform) -> str:
    value = body.get(key)
    if not isinstance(value, str | int) or value == "":
        raise UpstreamUnavailable(f"{platform.value} answer lacks {key!r}")
    return str(value)


class MetaProvider(Provider):
    """Facebook Pages and Instagram (Facebook Login for Business): one Meta app.

    Exchange: code → short-lived user token → long-lived user token (``fb_exchange_token``) →
    ``GET /me/accounts`` with each Page's token and linked ``instagram_business_account``.
    Facebook connects each Page; Instagram each Instagram business account, with the token of
    its Page. Page tokens have no expiry and no refresh grant.
    """

    ACCOUNT_FIELDS = "id,name,access_token,tasks,instagram_business_account{id,username}"

    def __init__(self, settings: Settings, session: requests.Session, platform: Platform) -> None:
        super().__init__(settings, session, "facebook")
        self.platform = platform
        if platform is Platform.INSTAGRAM:
            self.scopes = (
                "instagram_basic",
                "instagram_content_publish",
                "pages_show_list",
                "pages_read_engagement",
            )
        else:
            self.scopes = (
                "pages_show_list",
                "pages_manage_posts",
                "pages_read_engagement",
                "publish_video",
            )

    scope_separator = ","

    def exchange(
        self, *, code: str, redirect_uri: str, code_verifier: str | None, now: datetime
    ) -> list[Account]:
        """See the class docstring. Raises :class:`NoAccounts` when nothing can be connected."""
        client_id, secret = self._credentials()
        short = self._call(
            "GET",
            self.token_url,
            params={
                "client_id": client_id,
                "client_secret": secret,
                "redirect_uri": redirect_uri,
                "code": code,
            },
            token_endpoint=True,
        )
        long = self._call(
            "GET",
            self.token_url,
            params={
                "grant_type": "fb_exchange_token",
                "client_id": client_id,
                "client_secret": secret,
                "fb_exchange_token": _need(short, "access_token", self.platform),
            },
            token_endpoint=True,
        )
        user_token = _need(long, "access_token", self.platform)
        pages: list[dict[str, Any]] = []
        params: dict[str, str] | None = {"fields": self.ACCOUNT_FIELDS, "limit": "100"}
        url = f"{self.api_base}/me/accounts"
        for _ in range(MAX_PAGES):
            body = self._call("GET", url, params=params, bearer=user_token)
            pages += [p for p in body.get("data", []) if isinstance(p, dict)]
            following = (body.get("paging") or {}).get("next")
            if not following:
                break
            url, params = following, None
        accounts = []
        for page in pages:
            token = page.get("access_token")
            if not isinstance(token, str) or not token:
                continue
            tokens = TokenSet(access_token=token, scopes=self.scopes)
            if self.platform is Platform.FACEBOOK:
                accounts.append(Account(str(page.get("id")), str(page.get("name", "")), tokens))
                continue
            ig = page.get("instagram_business_account")
            if isinstance(ig, dict) and ig.get("id"):
                name = str(ig.get("username") or page.get("name", ""))
                accounts.append(Account(str(ig["id"]), name, tokens))
        if not accounts:
            raise NoAccounts(
                "no Facebook Page managed by this user"
                if self.platform is Platform.FACEBOOK
                else "no Instagram business account is linked to this user's Facebook Pages"
            )
        return accounts


class ThreadsProvider(Provider):
    """Threads: code → 1 h token → 60-day token; refresh with ``th_refresh_token``."""

    platform = Platform.THREADS
    scopes = ("threads_basic", "threads_content_publish")
    scope_separator = ","

    def __init__(self, settings: Settings, session: requests.Session) -> None:
        super().__init__(settings, session, "threads")

    def exchange(
        self, *, code: str, redirect_uri: str, code_verifier: str | None, now: datetime
    ) -> list[Account]:
        """Code exchange, long-lived exchange, then ``GET /v1.0/me?fields=id,username``."""
        short = self._code_grant(code=code, redirect_uri=redirect_uri, code_verifier=None)
        _, secret = self._credentials()
        long = self._call(
            "GET",
            f"{self.api_base}/access_token",
            params={
                "grant_type": "th_exchange_token",
                "client_secret": secret,
                "access_token": _need(short, "access_token", self.platform),
            },
            token_endpoint=True,
        )
        token = _need(long, "access_token", self.platform)
        me = self._call(
            "GET", f"{self.api_base}/v1.0/me", params={"fields": "id,username"}, bearer=token
        )
        tokens = TokenSet(token, None, _expiry(now, long.get("expires_in")), self.scopes)
        return [Account(_need(me, "id", self.platform), str(me.get("username", "")), tokens)]

    def refresh(self, tokens: TokenSet, *, now: datetime) -> TokenSet:
        """``GET /refresh_access_token?grant_type=th_refresh_token&access_token=<current>``: the
        long-lived token refreshes itself (valid and at least 24 h old)."""
        body = self._call(
            "GET",
            f"{self.api_base}/refresh_access_token",
            params={"grant_type": "th_refresh_token", "access_token": tokens.access_token},
            token_endpoint=True,
        )
        return TokenSet(
            _need(body, "access_token", self.platform),
            None,
            _expiry(now, body.get("expires_in")),
            tokens.scopes,
        )


class LinkedInProvider(Provider):
    """LinkedIn: 60-day access tokens; refresh tokens (approved apps) that do not rotate."""

    platform = Platform.LINKEDIN
    scopes = ("openid", "profile", "w_member_social")

    def __init__(self, settings: Settings, session: requests.Session) -> None:
        super().__init__(settings, session, "linkedin")

    def exchange(
        self, *, code: str, redirect_uri: str, code_verifier: str | None, now: datetime
    ) -> list[Account]:
        """Code exchange, then the member from ``GET /v2/userinfo`` (``sub``, ``name``)."""
        body = self._code_grant(code=code, redirect_uri=redirect_uri, code_verifier=None)
        tokens = self._tokens(body, now, previous=None)
        me = self._call("GET", f"{self.api_base}/v2/userinfo", bearer=tokens.access_token)
        return [Account(_need(me, "sub", self.platform), str(me.get("name", "")), tokens)]

    def _tokens(self, body: dict[str, Any], now: datetime, previous: TokenSet | None) -> TokenSet:
        refresh = body.get("refresh_token") or (previous.refresh_token if previous else None)
        return TokenSet(
            _need(body, "access_token", self.platform),
            refresh,
            _expiry(now, body.get("expires_in")),
            _scopes(body.get("scope")) or (previous.scopes if previous else self.scopes),
        )

    def refresh(self, tokens: TokenSet, *, now: datetime) -> TokenSet:
        """``grant_type=refresh_token`` with client id and secret in the form."""
        if not tokens.refresh_token:
            raise NotRefreshable("LinkedIn granted no refresh token to this app")
        client_id, secret = self._credentials()
        body = self._call(
            "POST",
            self.token_url,
            data={
                "grant_type": "refresh_token",
                "refresh_token": tokens.refresh_token,
                "client_id": client_id,
                "client_secret": secret,
            },
            token_endpoint=True,
        )
        return self._tokens(body, now, previous=tokens)


class XProvider(Provider):
    """X: confidential client with PKCE S256; refresh tokens are single-use (rotation)."""

    platform = Platform.X
    pkce = True
    scopes = ("tweet.read", "tweet.write", "users.read", "media.write", "offline.access")

    def __init__(self, settings: Settings, session: requests.Session) -> None:
        super().__init__(settings, session, "x")

    def exchange(
        self, *, code: str, redirect_uri: str, code_verifier: str | None, now: datetime
    ) -> list[Account]:
        """``POST /2/oauth2/token`` (Basic auth, ``code_verifier``), then ``GET /2/users/me``."""
        body = self._code_grant(
            code=code, redirect_uri=redirect_uri, code_verifier=code_verifier, basic_auth=True
        )
        tokens = self._tokens(body, now)
        me = self._call("GET", f"{self.api_base}/2/users/me", bearer=tokens.access_token)
        data = me.get("data") if isinstance(me.get("data"), dict) else {}
        assert isinstance(data, dict)
        return [Account(_need(data, "id", self.platform), str(data.get("username", "")), tokens)]

    def _tokens(self, body: dict[str, Any], now: datetime) -> TokenSet:
        return TokenSet(
            _need(body, "access_token", self.platform),
            body.get("refresh_token") or None,
            _expiry(now, body.get("expires_in")),
            _scopes(body.get("scope")),
        )

    def refresh(self, tokens: TokenSet, *, now: datetime) -> TokenSet:
        """``grant_type=refresh_token``: answers a NEW refresh token; the old one is dead."""
        if not tokens.refresh_token:
            raise NotRefreshable("X granted no refresh token (offline.access missing)")
        body = self._call(
            "POST",
            self.token_url,
            data={"grant_type": "refresh_token", "refresh_token": tokens.refresh_token},
            auth=self._credentials(),
            token_endpoint=True,
        )
        return self._tokens(body, now)


class YouTubeProvider(Provider):
    """Google OAuth for YouTube: offline access (refresh token), PKCE S256, 1 h access tokens."""

    platform = Platform.YOUTUBE
    pkce = True
    scopes = (
        "https://www.googleapis.com/auth/youtube.upload",
        "https://www.googleapis.com/auth/youtube.readonly",
    )

    def __init__(self, settings: Settings, session: requests.Session) -> None:
        super().__init__(settings, session, "youtube")

    def extra_authorize_params(self) -> dict[str, str]:
        """``access_type=offline`` (refresh token) and ``prompt=consent`` (one again on
        re-consent), per the web-server guide."""
        return {"access_type": "offline", "prompt": "consent", "include_granted_scopes": "true"}

    def exchange(
        self, *, code: str, redirect_uri: str, code_verifier: str | None, now: datetime
    ) -> list[Account]:
        """Code exchange, then the caller's channels (``channels?part=snippet&mine=true``)."""
        body = self._code_grant(code=code, redirect_uri=redirect_uri, code_verifier=code_verifier)
        tokens = TokenSet(
            _need(body, "access_token", self.platform),
            body.get("refresh_token") or None,
            _expiry(now, body.get("expires_in")),
            _scopes(body.get("scope")),
        )
        channels = self._call(
            "GET",
            f"{self.api_base}/youtube/v3/channels",
            params={"part": "snippet", "mine": "true"},
            bearer=tokens.access_token,
        )
        accounts = [
            Account(str(item["id"]), str((item.get("snippet") or {}).get("title", "")), tokens)
            for item in channels.get("items", [])
            if isinstance(item, dict) and item.get("id")
        ]
        if not accounts:
            raise NoAccounts("this Google account has no YouTube channel")
        return accounts

    def refresh(self, tokens: TokenSet, *, now: datetime) -> TokenSet:
        """``grant_type=refresh_token``; Google keeps the refresh token (none in the answer)."""
        if not tokens.refresh_token:
            raise NotRefreshable("Google granted no refresh token (offline access missing)")
        client_id, secret = self._credentials()
        body = self._call(
            "POST",
            self.token_url,
            data={
                "grant_type": "refresh_token",
                "refresh_token": tokens.refresh_token,
                "client_id": client_id,
                "client_secret": secret,
            },
            token_endpoint=True,
        )
        return TokenSet(
            _need(body, "access_token", self.platform),
            body.get("refresh_token") or tokens.refresh_token,
            _expiry(now, body.get("expires_in")),
            _scopes(body.get("scope")) or tokens.scopes,
        )


def build_providers(settings: Settings, session: requests.Session) -> dict[Platform, Provider]:
    """Every network that connects through OAuth (all but WhatsApp)."""
    return {
        Platform.FACEBOOK: MetaProvider(settings, session, Platform.FACEBOOK),
        Platform.INSTAGRAM: MetaProvider(settings, session, Platform.INSTAGRAM),
        Platform.THREADS: ThreadsProvider(settings, session),
        Platform.LINKEDIN: LinkedInProvider(settings, session),
        Platform.X: XProvider(settings, session),
        Platform.YOUTUBE: YouTubeProvider(settings, session),
    }
