"""Pending OAuth authorizations ``oauth_states/{sha256(state)}``
(docs/api.md#accounts-realtime-and-operations).

A state binds one authorization to the user who started it, the platform, the redirect URI and
(PKCE) the code verifier, which is stored encrypted by the vault. It is single-use and expires
after ``oauth_state_ttl_s``; ``expire_at`` drives a Firestore TTL policy that deletes leftovers.
The document id is a hash of the state, so the stored data alone cannot complete a flow.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from google.cloud import firestore

from sharecast.domain.statuses import Platform
from sharecast.errors import Conflict, NotFound
from sharecast.store import queries
from sharecast.vault import TokenVault, VaultError

STATES = queries.OAUTH_STATES_TTL.collection_group
EXPIRE_AT = queries.OAUTH_STATES_TTL.field


def _doc_id(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


@dataclass(frozen=True)
class PendingAuthorization:
    """What a callback needs from its state: the redirect URI and the PKCE verifier."""

    redirect_uri: str
    code_verifier: str | None


def create_state(
    db: firestore.Client,
    vault: TokenVault,
    *,
    user_id: str,
    platform: Platform,
    redirect_uri: str,
    code_verifier: str | None,
    now: datetime,
    ttl_s: int,
) -> tuple[str, datetime]:
    """Store a new state; returns ``(state, expires_at)``. The state is 43 random URL-safe
    characters (256 bits)."""
    state = secrets.token_urlsafe(32)
    doc_id = _doc_id(state)
    expires = now + timedelta(seconds=ttl_s)
    doc: dict[str, Any] = {
        "user_id": user_id,
        "platform": platform.value,
        "redirect_uri": redirect_uri,
        "code_verifier_enc": vault.encrypt(code_verifier, context=doc_id)
        if code_verifier
        else None,
        "created_at": now,
        EXPIRE_AT: expires,
        "used_at": None,
    }
    db.collection(STATES).document(doc_id).create(doc)
    return state, expires


def consume_state(
    db: firestore.Client,
    vault: TokenVault,
    *,
    state: str,
    user_id: str,
    platform: Platform,
    now: datetime,
) -> PendingAuthorization:
    """Check ``state`` and mark it used, in one transaction (a replay finds it used).

    Raises :class:`NotFound` when the state is unknown, and :class:`Conflict` when it is
    expired, already used, started by another user or for another platform, or unreadable;
    another user's attempt does not use it up. Each message says which.
    """
    if not state or len(state) > 200:
        raise NotFound("unknown OAuth state")
    doc_id = _doc_id(state)
    ref = db.collection(STATES).document(doc_id)

    @firestore.transactional
    def run(tx: firestore.Transaction) -> dict[str, Any]:
        snap = ref.get(transaction=tx)
        if not snap.exists:
            raise NotFound("unknown OAuth state")
        doc = snap.to_dict() or {}
        if doc.get("user_id") != user_id or doc.get("platform") != platform.value:
            raise Conflict("this OAuth state was not issued to you for this platform")
        if doc.get("used_at") is not None:
            raise Conflict("this OAuth state was already used; start again")
        if doc[EXPIRE_AT] <= now:
            raise Conflict("this OAuth state has expired; start again")
        tx.update(ref, {"used_at": now})
        return doc

    doc = run(db.transaction())
    verifier = None
    if doc.get("code_verifier_enc"):
        try:
            verifier = vault.decrypt(doc["code_verifier_enc"], context=doc_id)
        except VaultError as exc:
            raise Conflict("this OAuth state cannot be read; start again") from exc
    return PendingAuthorization(redirect_uri=doc["redirect_uri"], code_verifier=verifier)
