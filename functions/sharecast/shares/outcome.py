"""Reporting publisher outcomes back to the share record a post was made for: an outcome
consumer (:data:`sharecast.app.OutcomeConsumer`) the entry point gives the context.

Posts created for a share carry ``origin = {"kind": "share", "record_id", "round_id"}``, copied
onto their target; for those the record takes the target's status (``pending`` →
``success``/``failed``), ``attempt_count``, ``external_ref`` and ``error_message``, with an
audit entry and a ``share_status`` event. Idempotent: a target version already applied, or a
round the record has moved past, changes nothing.
"""

from __future__ import annotations

import logging

from sharecast.app import AppContext
from sharecast.domain.models import TargetRecord
from sharecast.domain.shares import SYSTEM_ACTOR, ShareRecord, apply_target, link_post
from sharecast.logs import fields
from sharecast.store import shares as shares_store

log = logging.getLogger(__name__)

SHARE_ORIGIN = "share"


def sync_share_target(ctx: AppContext, target: TargetRecord) -> bool:
    """Apply ``target``'s recorded state to its share record, if its post is a share.

    Returns ``False`` (after logging) when the record could not be updated (``Contention``, a
    Firestore error), so the caller asks for a redelivery; ``True`` otherwise (including
    targets that are not shares).
    """
    origin = target.origin
    if not origin or origin.get("kind") != SHARE_ORIGIN:
        return True
    try:
        _apply(ctx, target, origin)
    except Exception:  # the redelivery applies it again (idempotent)
        log.warning(
            "share record not updated",
            exc_info=True,
            extra=fields(post_id=target.post_id, target_id=target.id),
        )
        return False
    return True


def _apply(ctx: AppContext, target: TargetRecord, origin: dict[str, str]) -> None:
    round_id = origin.get("round_id")
    now = ctx.now()
    error = target.error

    def decide(current: ShareRecord | None) -> tuple[ShareRecord | None, str, str]:
        if current is None or current.round_id != round_id:
            return None, "", "other round"
        base = current
        if base.post_id is None:  # the outcome overtook the link written after queueing
            base = link_post(base, post_id=target.post_id, target_id=target.id, now=now)
        new = apply_target(
            base,
            post_id=target.post_id,
            target_id=target.id,
            target_version=target.version,
            target_status=target.status,
            attempts=target.attempts,
            external_id=target.external_id,
            external_url=target.external_url,
            error_code=error.code if error else None,
            error_message=error.message if error else None,
            now=now,
        )
        if new is None and base is not current:
            new = base
        return new, "attempt", "applied"

    change = shares_store.change_share(
        ctx.db,
        record_id=str(origin.get("record_id")),
        decide=decide,
        actor=SYSTEM_ACTOR,
        outbox=ctx.outbox,
    )
    ctx.outbox.flush(change.events)
