"""Platform connections ``connections/{id}``: encrypted OAuth credentials per user/account."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from google.api_core.exceptions import AlreadyExists
from google.cloud import firestore

from sharecast.domain.events import Event
from sharecast.domain.models import ConnectionRecord
from sharecast.domain.statuses import EventType, Platform
from sharecast.domain.tokens import TokenSet
from sharecast.errors import NotFound
from sharecast.outbox import Outbox
from sharecast.store import queries
from sharecast.vault import TokenVault

CONNECTIONS = queries.ACTIVE_CONNECTION.collection_group
#: Connection statuses: usable, or refused by the platform until the user authorizes again.
ACTIVE = "ACTIVE"
NEEDS_REAUTH = "NEEDS_REAUTH"


def connection_id(user_id: str, platform: Platform, account_id: str) -> str:
    """Deterministic document id of a user's connection to one platform account."""
    digest = hashlib.sha256(f"{user_id}\x00{platform.value}\x00{account_id}".encode()).hexdigest()
    return f"{platform.value}-{digest[:32]}"


def connection_ref(db: firestore.Client, conn_id: str) -> firestore.DocumentReference:
    """Reference of ``connections/{conn_id}``."""
    return db.collection(CONNECTIONS).document(conn_id)


def get_connection(db: firestore.Client, conn_id: str) -> ConnectionRecord:
    """A connection by id. Raises :class:`NotFound`."""
    snap = db.collection(CONNECTIONS).document(conn_id).get()
    if not snap.exists:
        raise NotFound(f"connection {conn_id} not found")
    return ConnectionRecord.from_doc(snap.id, snap.to_dict() or {})


def find_connection(
    db: firestore.Client, *, user_id: str, platform: Platform, account_id: str | None
) -> ConnectionRecord | None:
    """The user's active connection to ``platform`` (a given account, or the first one)."""
    if account_id is not None:
        snap = (
            db.collection(CONNECTIONS).document(connection_id(user_id, platform, account_id)).get()
        )
        if not snap.exists:
            return None
        record = ConnectionRecord.from_doc(snap.id, snap.to_dict() or {})
        return record if record.status == "ACTIVE" else None
    query = queries.build(
        db,
        queries.ACTIVE_CONNECTION,
        equal={"user_id": user_id, "platform": platform.value, "status": "ACTIVE"},
        limit=1,
    )
    for snap in query.stream():
        return ConnectionRecord.from_doc(snap.id, snap.to_dict() or {})
    return None


def sandbox_account_id(user_id: str, platform: Platform) -> str:
    """The sandbox account of a user on a platform: numeric, like real page/user ids."""
    digest = hashlib.sha256(f"{user_id}\x00{platform.value}".encode()).hexdigest()
    return str(int(digest[:15], 16))


def ensure_sandbox_connection(
    db: firestore.Client, *, vault: TokenVault, user_id: str, platform: Platform, now: datetime
) -> ConnectionRecord:
    """The user's sandbox connection to ``platform``, created on first use (local stack only).

    Stored exactly like a real connection: the sandbox access token is encrypted by the vault.
    Creation is idempotent (``create`` on a deterministic id; a concurrent creator wins).
    """
    account_id = sandbox_account_id(user_id, platform)
    conn_id = connection_id(user_id, platform, account_id)
    ref = db.collection(CONNECTIONS).document(conn_id)
    snap = ref.get()
    if snap.exists:
        return ConnectionRecord.from_doc(snap.id, snap.to_dict() or {})
    record = ConnectionRecord(
        id=conn_id,
        user_id=user_id,
        platform=platform,
        account_id=account_id,
        account_name=f"Sandbox {platform.value} account of {user_id}",
        # The sandbox reads the account from tokens shaped "sandbox:{account_id}:{random}".
        access_token_enc=vault.encrypt(
            f"sandbox:{account_id}:{secrets.token_urlsafe(24)}", context=conn_id
        ),
        sandbox=True,
        created_at=now,
        updated_at=now,
    )
    try:
        ref.create(record.to_doc())
    except AlreadyExists:  # a concurrent first use created it
        return get_connection(db, conn_id)
    return record


# --- OAuth connections: list, save after a callback, delete, refresh bookkeeping ---


def list_connections(db: firestore.Client, *, user_id: str) -> list[ConnectionRecord]:
    """Every connection of ``user_id`` (any status), ordered by platform then account name."""
    query = queries.build(db, queries.USER_CONNECTIONS, equal={"user_id": user_id}, limit=500)
    records = [ConnectionRecord.from_doc(s.id, s.to_dict() or {}) for s in query.stream()]
    return sorted(records, key=lambda r: (r.platform.value, r.account_name, r.id))


def save_connection(
    db: firestore.Client,
    vault: TokenVault,
    *,
    user_id: str,
    platform: Platform,
    account_id: str,
    account_name: str,
    tokens: TokenSet,
    now: datetime,
) -> ConnectionRecord:
    """Create or renew the user's connection to one account (one document per account).

    Access and refresh tokens are encrypted with the vault's active key, bound to the connection
    id; a renewal (the user authorized again) sets ``ACTIVE``, clears any refresh lease and
    increments ``version``. Returns the stored record.
    """
    conn_id = connection_id(user_id, platform, account_id)
    ref = db.collection(CONNECTIONS).document(conn_id)

    @firestore.transactional
    def run(tx: firestore.Transaction) -> ConnectionRecord:
        snap = ref.get(transaction=tx)
        existing = ConnectionRecord.from_doc(snap.id, snap.to_dict() or {}) if snap.exists else None
        record = ConnectionRecord(
            id=conn_id,
            user_id=user_id,
            platform=platform,
            account_id=account_id,
            account_name=account_name,
            status=ACTIVE,
            access_token_enc=vault.encrypt(tokens.access_token, context=conn_id),
            refresh_token_enc=(
                vault.encrypt(tokens.refresh_token, context=conn_id)
                if tokens.refresh_token
                else None
            ),
            expires_at=tokens.expires_at,
            scopes=list(tokens.scopes),
            refreshed_at=now,
            version=existing.version + 1 if existing else 1,
            created_at=existing.created_at if existing else now,
            updated_at=now,
        )
        tx.set(ref, record.to_doc())
        return record

    result: ConnectionRecord = run(db.transaction())
    return result


def delete_connection(db: firestore.Client, *, user_id: str, conn_id: str) -> None:
    """Delete one of ``user_id``'s connections. Raises :class:`NotFound` (404) when it does not
    exist or belongs to someone else (never revealed)."""
    if not conn_id or len(conn_id) > 128 or "/" in conn_id:
        raise NotFound("connection not found")
    ref = db.collection(CONNECTIONS).document(conn_id)

    @firestore.transactional
    def run(tx: firestore.Transaction) -> None:
        snap = ref.get(transaction=tx)
        if not snap.exists or (snap.to_dict() or {}).get("user_id") != user_id:
            raise NotFound("connection not found")
        tx.delete(ref)

    run(db.transaction())


def acquire_refresh_lease(
    db: firestore.Client, conn_id: str, *, lease_id: str, now: datetime, lease_s: float
) -> tuple[ConnectionRecord, bool]:
    """Take the refresh lease of a connection unless a live one is held by someone else.

    Returns ``(record, held)``: the record as read in the transaction (with the lease when
    ``held``). Never leases a connection that is not ``ACTIVE``. Raises :class:`NotFound`.
    """
    ref = db.collection(CONNECTIONS).document(conn_id)

    @firestore.transactional
    def run(tx: firestore.Transaction) -> tuple[ConnectionRecord, bool]:
        snap = ref.get(transaction=tx)
        if not snap.exists:
            raise NotFound(f"connection {conn_id} not found")
        record = ConnectionRecord.from_doc(snap.id, snap.to_dict() or {})
        if record.status != ACTIVE:
            return record, False
        busy = (
            record.refresh_lease_id not in (None, lease_id)
            and record.refresh_lease_until is not None
            and record.refresh_lease_until > now
        )
        if busy:
            return record, False
        until = now + timedelta(seconds=lease_s)
        tx.update(ref, {"refresh_lease_id": lease_id, "refresh_lease_until": until})
        return record.model_copy(
            update={"refresh_lease_id": lease_id, "refresh_lease_until": until}
        ), True

    result: tuple[ConnectionRecord, bool] = run(db.transaction())
    return result


def release_refresh_lease(db: firestore.Client, conn_id: str, *, lease_id: str) -> None:
    """Give the refresh lease back (only if still ours)."""
    ref = db.collection(CONNECTIONS).document(conn_id)

    @firestore.transactional
    def run(tx: firestore.Transaction) -> None:
        snap = ref.get(transaction=tx)
        if snap.exists and (snap.to_dict() or {}).get("refresh_lease_id") == lease_id:
            tx.update(ref, {"refresh_lease_id": None, "refresh_lease_until": None})

    run(db.transaction())


def store_refreshed(
    db: firestore.Client,
    vault: TokenVault,
    conn_id: str,
    *,
    lease_id: str,
    used_refresh_enc: str | None,
    tokens: TokenSet,
    now: datetime,
) -> ConnectionRecord:
    """Persist refreshed tokens (re-encrypted with the active key) and release the lease.

    Written when the lease is still ours, or when the stored refresh token is still the one we
    used (our lease expired but nobody refreshed since): a rotated refresh token (X) must never
    be lost. Otherwise the newer stored record is kept and returned.
    """
    ref = db.collection(CONNECTIONS).document(conn_id)

    @firestore.transactional
    def run(tx: firestore.Transaction) -> ConnectionRecord:
        snap = ref.get(transaction=tx)
        if not snap.exists:
            raise NotFound(f"connection {conn_id} not found")
        record = ConnectionRecord.from_doc(snap.id, snap.to_dict() or {})
        if record.refresh_lease_id != lease_id and record.refresh_token_enc != used_refresh_enc:
            return record
        refresh_enc = (
            vault.encrypt(tokens.refresh_token, context=conn_id)
            if tokens.refresh_token
            else record.refresh_token_enc
        )
        updated = record.model_copy(
            update={
                "access_token_enc": vault.encrypt(tokens.access_token, context=conn_id),
                "refresh_token_enc": refresh_enc,
                "expires_at": tokens.expires_at,
                "scopes": list(tokens.scopes) or record.scopes,
                "refresh_lease_id": None,
                "refresh_lease_until": None,
                "refreshed_at": now,
                "version": record.version + 1,
                "updated_at": now,
            }
        )
        tx.set(ref, updated.to_doc())
        return updated

    result: ConnectionRecord = run(db.transaction())
    return result


def mark_needs_reauth(
    db: firestore.Client,
    conn_id: str,
    *,
    reason: str,
    now: datetime,
    outbox: Outbox,
) -> tuple[ConnectionRecord, list[Event]]:
    """Mark a connection ``NEEDS_REAUTH`` and append a ``notification`` event for its owner to
    the event log, in one transaction. Returns the record and the events to publish (none when
    it was already marked). ``reason`` is shown to the user and must hold no token."""
    ref = db.collection(CONNECTIONS).document(conn_id)

    @firestore.transactional
    def run(tx: firestore.Transaction) -> tuple[ConnectionRecord, list[Event]]:
        snap = ref.get(transaction=tx)
        if not snap.exists:
            raise NotFound(f"connection {conn_id} not found")
        record = ConnectionRecord.from_doc(snap.id, snap.to_dict() or {})
        if record.status == NEEDS_REAUTH:
            return record, []
        updated = record.model_copy(
            update={
                "status": NEEDS_REAUTH,
                "refresh_lease_id": None,
                "refresh_lease_until": None,
                "version": record.version + 1,
                "updated_at": now,
            }
        )
        tx.set(ref, updated.to_doc())
        event = Event.new(
            user_id=record.user_id,
            type=EventType.NOTIFICATION,
            data={
                "kind": "connection_needs_reauth",
                "connection_id": record.id,
                "platform": record.platform.value,
                "account_id": record.account_id,
                "account_name": record.account_name,
                "status": "needs_reauth",
                "message": f"Reconnect your {record.platform.value} account "
                f"{record.account_name or record.account_id}: {reason}",
                "version": updated.version,
            },
        )
        outbox.add(tx, [event])
        return updated, [event]

    result: tuple[ConnectionRecord, list[Event]] = run(db.transaction())
    return result
