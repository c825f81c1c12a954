"""A usable access token for the publisher: proactive refresh before expiry, one forced refresh
after an auth error, serialized per connection (docs/api.md#accounts-realtime-and-operations).

Serialization: a refresher first takes the connection's refresh lease in a Firestore
transaction (``refresh_lease_id``/``refresh_lease_until`` on ``connections/{id}``). Only the
holder calls the token endpoint; everyone else polls the document until the lease is released
and then uses the token the holder stored, so a single-use refresh token (X rotates them:
https://docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code) is sent once, even
by two publishers at the same moment. The new tokens are written before the lease is released.

A refresh the platform refuses (``invalid_grant``, a reused or revoked refresh token, a Meta
connection with no refresh grant) marks the connection ``NEEDS_REAUTH``, appends a
``notification`` event for its owner in the same transaction, and fails the target with
``NEEDS_REAUTH``. Network errors and 5xx of the token endpoint are transient.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from google.cloud import firestore

from sharecast.app import AppContext
from sharecast.domain.models import ConnectionRecord
from sharecast.domain.statuses import Platform
from sharecast.domain.tokens import TokenSet
from sharecast.errors import NotFound, SharecastError
from sharecast.logs import fields
from sharecast.oauth.errors import GrantRejected, NotRefreshable, UpstreamUnavailable
from sharecast.oauth.providers import Provider, build_providers
from sharecast.platforms.errors import (
    PermanentPlatformError,
    PlatformError,
    TransientPlatformError,
)
from sharecast.store import connections as store
from sharecast.timeutil import utcnow
from sharecast.vault import TokenVault, VaultError

log = logging.getLogger(__name__)

#: How often a waiting publisher re-reads a connection whose refresh lease is held, seconds.
POLL_S = 0.1


class NeedsReauth(PermanentPlatformError):
    """The connection cannot be used until its owner authorizes again (code ``NEEDS_REAUTH``)."""

    def __init__(self, message: str) -> None:
        super().__init__("NEEDS_REAUTH", message)


@dataclass
class Credentials:
    """Hands out access tokens of connections, refreshing them when needed.

    ``ctx`` gives Firestore, the vault, the outbox (the ``notification`` of ``needs_reauth``)
    and the settings ``OAUTH_REFRESH_SKEW_S`` (refresh this many seconds before
    ``expires_at``) and ``OAUTH_REFRESH_LEASE_S`` (how long a refresher may hold the lease: a
    crashed holder blocks others at most that long); ``providers`` the OAuth clients.
    """

    ctx: AppContext
    providers: Mapping[Platform, Provider]

    @classmethod
    def of(cls, ctx: AppContext) -> Credentials:
        """Credentials with every network's OAuth provider on the context's HTTP session."""
        return cls(ctx=ctx, providers=build_providers(ctx.settings, ctx.http))

    @property
    def db(self) -> firestore.Client:
        """Firestore (connections)."""
        return self.ctx.db

    @property
    def vault(self) -> TokenVault:
        """The token vault."""
        return self.ctx.vault

    @property
    def skew_s(self) -> float:
        """Refresh a token this many seconds before it expires."""
        return self.ctx.settings.oauth_refresh_skew_s

    @property
    def lease_s(self) -> float:
        """How long one refresher holds a connection, seconds."""
        return self.ctx.settings.oauth_refresh_lease_s

    def access_token(self, conn: ConnectionRecord) -> str:
        """The access token of ``conn``, refreshed first when it expires within ``skew_s``.

        Raises :class:`NeedsReauth` (permanent) or ``TransientPlatformError``
        (``TOKEN_REFRESH_FAILED``, ``TOKEN_REFRESH_BUSY``) and ``PermanentPlatformError``
        ``CONNECTION_INVALID`` when the stored token cannot be decrypted.
        """
        if conn.status != store.ACTIVE:
            raise NeedsReauth("the connection needs to be authorized again")
        if self._fresh(conn):
            return self._decrypt(conn, conn.access_token_enc)
        return self._refresh(conn.id, stale_token=None)

    def force_refresh(self, conn: ConnectionRecord, *, stale_token: str) -> str:
        """A new access token after the platform rejected ``stale_token`` (one forced refresh).

        If another publisher already replaced ``stale_token``, its token is returned without
        refreshing again. Raises like :meth:`access_token`.
        """
        return self._refresh(conn.id, stale_token=stale_token)

    # --- internals -----------------------------------------------------------------------

    def _fresh(self, conn: ConnectionRecord) -> bool:
        if conn.expires_at is None:
            return True
        return conn.expires_at - timedelta(seconds=self.skew_s) > utcnow()

    def _decrypt(self, conn: ConnectionRecord, sealed: str) -> str:
        try:
            return self.vault.decrypt(sealed, context=conn.id)
        except VaultError as exc:
            raise PermanentPlatformError("CONNECTION_INVALID", str(exc)) from None

    def _refresh(self, conn_id: str, *, stale_token: str | None) -> str:
        lease_id = uuid.uuid4().hex
        deadline = time.monotonic() + self.lease_s + 5
        first_seen: str | None = None
        first_seen_plain: str | None = None
        while True:
            try:
                record, held = store.acquire_refresh_lease(
                    self.db, conn_id, lease_id=lease_id, now=utcnow(), lease_s=self.lease_s
                )
            except NotFound as exc:
                raise PermanentPlatformError("CONNECTION_INVALID", str(exc)) from None
            if record.status != store.ACTIVE:
                raise NeedsReauth("the connection needs to be authorized again")
            current = self._decrypt(record, record.access_token_enc)
            if first_seen is None:
                first_seen, first_seen_plain = record.access_token_enc, current
            if stale_token is not None:
                done = current != stale_token
            else:  # fresh, or just renewed by another refresher and not yet expired
                renewed = record.access_token_enc != first_seen and (
                    record.expires_at is None or record.expires_at > utcnow()
                )
                done = renewed or self._fresh(record)
            if done:  # someone refreshed meanwhile (or nothing to do)
                if held:
                    store.release_refresh_lease(self.db, conn_id, lease_id=lease_id)
                return current
            if held:
                break
            if current == first_seen_plain:
                log.info("waiting for another refresher", extra=fields(connection_id=conn_id))
                first_seen_plain = None
            if time.monotonic() > deadline:
                raise TransientPlatformError(
                    "TOKEN_REFRESH_BUSY", "another refresh of this connection did not finish"
                )
            time.sleep(POLL_S)
        return self._refresh_held(record, lease_id, current)

    def _refresh_held(self, record: ConnectionRecord, lease_id: str, current: str) -> str:
        now = utcnow()
        log.info(
            "refreshing connection token",
            extra=fields(connection_id=record.id, platform=record.platform.value),
        )
        try:
            tokens = self._call_provider(record, current)
        except (GrantRejected, NotRefreshable) as exc:
            reason = (
                "the platform refused to renew access"
                if isinstance(exc, GrantRejected)
                else "access expired and this platform cannot renew it"
            )
            log.warning(
                "connection needs re-authorization",
                extra=fields(
                    connection_id=record.id,
                    platform=record.platform.value,
                    error=exc.error if isinstance(exc, GrantRejected) else "not_refreshable",
                ),
            )
            _, events = store.mark_needs_reauth(
                self.db, record.id, reason=reason, now=now, outbox=self.ctx.outbox
            )
            self.ctx.outbox.flush(events)
            raise NeedsReauth(reason) from None
        except UpstreamUnavailable as exc:
            store.release_refresh_lease(self.db, record.id, lease_id=lease_id)
            raise TransientPlatformError("TOKEN_REFRESH_FAILED", str(exc)) from None
        except SharecastError as exc:  # the OAuth client is not configured
            store.release_refresh_lease(self.db, record.id, lease_id=lease_id)
            raise PermanentPlatformError(exc.code, exc.detail) from None
        except PlatformError:
            store.release_refresh_lease(self.db, record.id, lease_id=lease_id)
            raise
        stored = store.store_refreshed(
            self.db,
            self.vault,
            record.id,
            lease_id=lease_id,
            used_refresh_enc=record.refresh_token_enc,
            tokens=tokens,
            now=utcnow(),
        )
        log.info(
            "connection token refreshed",
            extra=fields(
                connection_id=record.id, platform=record.platform.value, version=stored.version
            ),
        )
        return self._decrypt(stored, stored.access_token_enc)

    def _call_provider(self, record: ConnectionRecord, current: str) -> TokenSet:
        if record.sandbox and record.refresh_token_enc is None:
            # Local auto-created sandbox connection: "refresh" by minting a new sandbox token.
            return TokenSet(f"sandbox:{record.account_id}:{secrets.token_urlsafe(24)}")
        provider = self.providers.get(record.platform)
        if provider is None:
            raise NotRefreshable(f"{record.platform.value} has no OAuth provider")
        refresh = (
            self._decrypt(record, record.refresh_token_enc) if record.refresh_token_enc else None
        )
        tokens = TokenSet(current, refresh, record.expires_at, tuple(record.scopes))
        return provider.refresh(tokens, now=utcnow())
