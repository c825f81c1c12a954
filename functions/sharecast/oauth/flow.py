"""The two halves of connecting an account (docs/api.md#accounts-realtime-and-operations):
``authorize`` and ``callback``.

``authorize`` stores a single-use state bound to the user (with the PKCE verifier where the
platform uses PKCE) and returns the platform's consent URL. ``callback`` checks the state (same
user, same platform, unexpired, unused), exchanges the code, discovers the accounts the grant
covers (Facebook Pages, Instagram business accounts, the X user...) and stores one connection
per account with its tokens encrypted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sharecast.app import AppContext
from sharecast.config import Settings
from sharecast.domain.models import ConnectionRecord
from sharecast.domain.statuses import Platform
from sharecast.errors import Conflict, NotFound
from sharecast.logs import fields
from sharecast.oauth.errors import (
    GrantRejected,
    OAuthDenied,
    OAuthNotConfigured,
    OAuthStateInvalid,
    OAuthUpstreamError,
    ShareLinkOnly,
    UpstreamUnavailable,
)
from sharecast.oauth.providers import Provider, pkce_pair
from sharecast.store import connections as connections_store
from sharecast.store import oauth_states

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Authorization:
    """``authorization_url`` to open in the browser, its ``state`` and when it expires (UTC)."""

    authorization_url: str
    state: str
    expires_at: datetime


def provider_for(providers: Mapping[Platform, Provider], platform: Platform | None) -> Provider:
    """The OAuth provider of ``platform``. Raises :class:`NotFound` (unknown platform),
    :class:`ShareLinkOnly` (WhatsApp) or :class:`OAuthNotConfigured` (no client credentials)."""
    if platform is None:
        raise NotFound("unknown platform")
    if platform is Platform.WHATSAPP:
        raise ShareLinkOnly(
            "WhatsApp offers no API for posting on a user's behalf: Sharecast only builds share "
            "links (https://wa.me/?text=...), so there is no account to connect"
        )
    provider = providers.get(platform)
    if provider is None:
        raise NotFound("unknown platform")
    if not provider.configured:
        raise OAuthNotConfigured(f"{platform.value} OAuth is not configured on this deployment")
    return provider


def redirect_uri(settings: Settings, platform: Platform) -> str:
    """``{oauth_callback_base_url}/connections/{platform}/callback``. Raises
    :class:`OAuthNotConfigured` when the callback base URL is not set."""
    if not settings.oauth_callback_base_url:
        raise OAuthNotConfigured("OAUTH_CALLBACK_BASE_URL is not configured")
    return f"{settings.oauth_callback_base_url.rstrip('/')}/connections/{platform.value}/callback"


def authorize(ctx: AppContext, *, provider: Provider, user_id: str, now: datetime) -> Authorization:
    """Start connecting ``provider.platform`` for ``user_id``: a new state (and PKCE pair)."""
    settings = ctx.settings
    uri = redirect_uri(settings, provider.platform)
    verifier, challenge = pkce_pair() if provider.pkce else (None, None)
    state, expires = oauth_states.create_state(
        ctx.db,
        ctx.vault,
        user_id=user_id,
        platform=provider.platform,
        redirect_uri=uri,
        code_verifier=verifier,
        now=now,
        ttl_s=settings.oauth_state_ttl_s,
    )
    url = provider.authorization_url(state=state, redirect_uri=uri, code_challenge=challenge)
    return Authorization(url, state, expires)


def callback(
    ctx: AppContext,
    *,
    provider: Provider,
    user_id: str,
    code: str | None,
    state: str,
    error: str | None,
    now: datetime,
) -> list[ConnectionRecord]:
    """Finish connecting: check ``state``, exchange ``code``, store one connection per account.

    Raises :class:`OAuthStateInvalid` (400), :class:`OAuthDenied` (400: the user refused, or the
    platform refused the code or the PKCE verifier), :class:`NoAccounts` (400) and
    :class:`OAuthUpstreamError` (502). The state is used up even when the exchange fails.
    """
    db, vault = ctx.db, ctx.vault
    try:
        pending = oauth_states.consume_state(
            db, vault, state=state, user_id=user_id, platform=provider.platform, now=now
        )
    except (NotFound, Conflict) as exc:  # the store's answer, as the 400 of a bad state
        raise OAuthStateInvalid(exc.detail) from None
    if error or not code:
        raise OAuthDenied(f"{provider.platform.value} authorization was not granted")
    try:
        accounts = provider.exchange(
            code=code,
            redirect_uri=pending.redirect_uri,
            code_verifier=pending.code_verifier,
            now=now,
        )
    except GrantRejected as exc:
        log.info(
            "authorization code refused",
            extra=fields(platform=provider.platform.value, error=exc.error),
        )
        raise OAuthDenied(
            f"{provider.platform.value} refused the authorization code ({exc.error})"
        ) from None
    except UpstreamUnavailable as exc:
        raise OAuthUpstreamError(str(exc)) from None
    saved = [
        connections_store.save_connection(
            db,
            vault,
            user_id=user_id,
            platform=provider.platform,
            account_id=account.account_id,
            account_name=account.account_name,
            tokens=account.tokens,
            now=now,
        )
        for account in accounts
    ]
    log.info(
        "accounts connected",
        extra=fields(
            platform=provider.platform.value,
            user_id=user_id,
            connection_ids=[c.id for c in saved],
        ),
    )
    return saved
