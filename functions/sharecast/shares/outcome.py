"""Reporting publisher outcomes back to the share record a post was made for.

The publisher calls :func:`sync_share_target` after it records an attempt of any target (and
when a redelivery finds the target already terminal). Posts created for a share carry
``origin = {"kind": "share", "record_id", "round_id"}``; for those the record takes the
target's status (``pending`` → ``success``/``failed``), ``attempt_count``, ``external_ref`` and
``error_message``, with an audit entry and a ``share_status`` event. Idempotent: a target
version already applied, or a round the record has moved past, changes nothing.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import google.cloud.pubsub_v1 as pubsub_v1
from google.cloud import firestore

from sharecast.config import Settings
from sharecast.domain.models import TargetRecord
from sharecast.domain.shares import SYSTEM_ACTOR, ShareRecord, apply_target, link_post
from sharecast.events import publish_events
from sharecast.logs import fields
from sharecast.store import shares as shares_store
from sharecast.store.posts import post_ref
from sharecast.timeutil import utcnow

log = logging.getLogger(__name__)

SHARE_ORIGIN = "share"


def sync_share_target(
    *,
    db: firestore.Client,
    pubsub: pubsub_v1.PublisherClient,
    settings: Settings,
    target: TargetRecord,
) -> bool:
    """Apply ``target``'s recorded state to its share record, if its post is a share.

    Returns ``False`` (after logging) when the record could not be updated, so the caller can
    ask for a redelivery; ``True`` otherwise (including posts that are not shares).
    """
    try:
        snap = post_ref(db, target.post_id).get(field_paths=["origin"])
        origin = (snap.to_dict() or {}).get("origin") if snap.exists else None
        if not isinstance(origin, dict) or origin.get("kind") != SHARE_ORIGIN:
            return True
        round_id = origin.get("round_id")
        now = utcnow()
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
            db,
            record_id=str(origin.get("record_id")),
            decide=decide,
            actor=SYSTEM_ACTOR,
            event_ttl=timedelta(days=settings.event_ttl_days),
        )
        if change.events:
            publish_events(
                publisher=pubsub, db=db, topic_path=settings.topic_path, events=change.events
            )
        return True
    except Exception:  # the redelivery applies it again (idempotent)
        log.warning(
            "share record not updated",
            exc_info=True,
            extra=fields(post_id=target.post_id, target_id=target.id),
        )
        return False
