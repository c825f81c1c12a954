"""Platform connections ``connections/{id}``: encrypted OAuth credentials per user/account."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from google.api_core.exceptions import AlreadyExists
from google.cloud import firestore

from sharecast.domain.models import ConnectionRecord
from sharecast.domain.statuses import Platform
from sharecast.errors import NotFound
from sharecast.store import queries
from sharecast.vault import TokenVault

CONNECTIONS = queries.ACTIVE_CONNECTION.collection_group


def connection_id(user_id: str, platform: Platform, account_id: str) -> str:
    """Deterministic document id of a user's connection to one platform account."""
    digest = hashlib.sha256(f"{user_id}\x00{platform.value}\x00{account_id}".encode()).hexdigest()
    return f"{platform.value}-{digest[:32]}"


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
