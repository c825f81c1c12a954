"""``Idempotency-Key`` for unsafe requests (docs/api.md#posts;
draft-ietf-httpapi-idempotency-key-header).

A request carrying the header claims the key for its user and route in one Firestore document
``idempotency_keys/{sha256(user, route, key)}`` (created with ``create()``, which fails when it
exists, so two racing requests cannot both own it). The document holds a fingerprint of the
request (path and canonical JSON body), the state (``in_flight`` then ``done``) and, once done,
the response's status, body and kept headers. Then:

- same key, same request, done → the original response is replayed (``Idempotent-Replayed``);
- same key, another request → 422 (the key was reused for something else);
- same key while the first is still in flight → 409 with ``Retry-After``; a claim whose lease
  (``IDEMPOTENCY_LEASE_S``) ran out is taken over (its request died);
- a request that raised releases its claim, so a retry runs again;
- documents expire by TTL at ``expire_at`` (``IDEMPOTENCY_TTL_S``, default one day); an
  expired document is treated as absent even before Firestore deletes it.

See https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from google.api_core.exceptions import AlreadyExists, FailedPrecondition, NotFound
from google.cloud import firestore

from sharecast.app import AppContext
from sharecast.errors import BadRequest, Conflict, FieldProblem, ValidationFailed

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
#: Response headers stored with the response and replayed.
KEPT_HEADERS = ("Location",)
COLLECTION = "idempotency_keys"
#: How often :func:`begin` re-reads after losing a race on the key document.
_ATTEMPTS = 5


@dataclass(frozen=True)
class Claim:
    """This request owns the key: finish with :func:`complete` or :func:`release`."""

    ref: firestore.DocumentReference
    update_time: Any


@dataclass(frozen=True)
class Replay:
    """The stored response of the first request with this key."""

    status: int
    body: str
    headers: dict[str, str]


def _check_key(key: str) -> None:
    if not 1 <= len(key) <= 255 or not all(0x21 <= ord(c) <= 0x7E for c in key):
        raise BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters")


def fingerprint(path: str, body: bytes) -> str:
    """sha256 of the request path and its body (canonical JSON when it parses)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError, RecursionError):
        canonical = body
    return hashlib.sha256(path.encode() + b"\n" + canonical).hexdigest()


def begin(
    ctx: AppContext,
    *,
    user_id: str,
    scope: str,
    key: str,
    path: str,
    body: bytes,
    now: datetime,
) -> Claim | Replay:
    """Claim ``key`` of ``user_id`` on ``scope`` (``"POST /posts/multipost"``) or get the replay.

    Raises :class:`BadRequest` (400) for a malformed key, :class:`ValidationFailed` (422) when
    the key was used for a different request, :class:`Conflict` (409) while the first request
    with the key is still running.
    """
    _check_key(key)
    db, settings = ctx.db, ctx.settings
    doc_id = hashlib.sha256(f"{user_id}\n{scope}\n{key}".encode()).hexdigest()
    ref = db.collection(COLLECTION).document(doc_id)
    mine = fingerprint(path, body)
    fresh = {
        "user_id": user_id,
        "scope": scope,
        "fingerprint": mine,
        "state": "in_flight",
        "created_at": now,
        "lease_until": now + timedelta(seconds=settings.idempotency_lease_s),
        "expire_at": now + timedelta(seconds=settings.idempotency_ttl_s),
    }
    for _ in range(_ATTEMPTS):
        try:
            return Claim(ref=ref, update_time=ref.create(fresh).update_time)
        except AlreadyExists:
            pass
        snap = ref.get()
        if not snap.exists:
            continue
        replay = _existing(snap.to_dict() or {}, fingerprint=mine, now=now)
        if replay is not None:
            return replay
        # Expired, or the first request died holding the key: take it over, unless someone
        # else changed the document since we read it.
        try:
            result = ref.update(fresh, option=db.write_option(last_update_time=snap.update_time))
        except FailedPrecondition:
            continue
        return Claim(ref=ref, update_time=result.update_time)
    raise Conflict("this Idempotency-Key is contended; retry", headers={"Retry-After": "1"})


def _existing(doc: dict[str, Any], *, fingerprint: str, now: datetime) -> Replay | None:
    """What an existing key document means for a new request: the stored answer to replay,
    ``None`` when the key may be taken over (expired, or its request died), or an error:
    :class:`ValidationFailed` (another request used the key), :class:`Conflict` (in flight)."""
    if doc["expire_at"] <= now:
        return None
    if doc["fingerprint"] != fingerprint:
        raise ValidationFailed(
            "this Idempotency-Key was used for a different request",
            errors=[
                FieldProblem(HEADER, "IDEMPOTENCY_KEY_REUSED", "use a new key for a new request")
            ],
        )
    if doc["state"] == "done":
        return Replay(status=int(doc["status"]), body=doc["body"], headers=dict(doc["headers"]))
    if doc["lease_until"] > now:
        wait = max(1, math.ceil((doc["lease_until"] - now).total_seconds()))
        raise Conflict(
            "a request with this Idempotency-Key is still in progress",
            headers={"Retry-After": str(wait)},
        )
    return None


def complete(
    ctx: AppContext, claim: Claim, *, status: int, body: str, headers: dict[str, str]
) -> None:
    """Store the response of the request that owns ``claim`` (no-op if it lost the claim)."""
    with contextlib.suppress(FailedPrecondition, NotFound):
        claim.ref.update(
            {"state": "done", "status": status, "body": body, "headers": headers},
            option=ctx.db.write_option(last_update_time=claim.update_time),
        )


def release(ctx: AppContext, claim: Claim) -> None:
    """Give the key back after the request failed, so a retry runs it again."""
    with contextlib.suppress(FailedPrecondition, NotFound):
        claim.ref.delete(option=ctx.db.write_option(last_update_time=claim.update_time))
