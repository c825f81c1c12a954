"""Share records ``shares/{videoId:platform:userId}`` and the audit trail ``share_audit/{id}``.

Every change to a record is one atomic batch: the record (created with an exists=false
precondition, or updated with a ``last update time`` precondition), its audit entry and its
``share_status`` event in the owner's event log. Losing a precondition race re-reads and
re-decides, so two identical requests racing each other create one record and the loser sees
the winner's result (optimistic concurrency instead of transactions: the Firestore emulator
serialises concurrent transactions on one document very slowly, docs/local-stack.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from google.cloud import firestore

from sharecast.domain.events import Event
from sharecast.domain.shares import ShareAuditEntry, ShareRecord
from sharecast.domain.statuses import EventType
from sharecast.outbox import Outbox
from sharecast.store import queries
from sharecast.store.optimistic import until_committed

SHARES = "shares"
AUDIT = queries.SHARE_AUDIT_OF_USER.collection_group
#: ``decide(current)`` → ``(new record or None for "no change", audit action, detail)``.
#: ``current`` is ``None`` when the record does not exist. Must be pure (it may run again).
Decision = Callable[[ShareRecord | None], tuple[ShareRecord | None, str, Any]]


@dataclass
class ShareChange:
    """Result of :func:`change_share`: the record after it (``None`` if it still does not
    exist), whether it was written, the events written with it, and the decision's detail."""

    record: ShareRecord | None
    changed: bool
    detail: Any = None
    events: list[Event] = field(default_factory=list)


def share_ref(db: firestore.Client, record_id: str) -> firestore.DocumentReference:
    """Reference of ``shares/{record_id}``."""
    return db.collection(SHARES).document(record_id)


def get_shares(db: firestore.Client, record_ids: Sequence[str]) -> dict[str, ShareRecord]:
    """The existing records among ``record_ids`` (one batched read), by id."""
    snaps = db.get_all([share_ref(db, r) for r in record_ids])
    return {s.id: ShareRecord.from_doc(s.id, s.to_dict() or {}) for s in snaps if s.exists}


def change_share(
    db: firestore.Client,
    *,
    record_id: str,
    decide: Decision,
    actor: str,
    outbox: Outbox,
) -> ShareChange:
    """Apply ``decide`` to one record with its audit entry and event, atomically.

    Raises :class:`sharecast.errors.Contention` when the record kept changing under us
    (more than :data:`~sharecast.store.optimistic.ATTEMPTS` lost races).
    """
    ref = share_ref(db, record_id)

    def attempt() -> ShareChange:
        snap = ref.get()
        current = ShareRecord.from_doc(snap.id, snap.to_dict() or {}) if snap.exists else None
        new, action, detail = decide(current)
        if new is None:
            return ShareChange(record=current, changed=False, detail=detail)
        audit = ShareAuditEntry.of(new, actor=actor, action=action, at=new.updated_at)
        event = Event.new(user_id=new.user_id, type=EventType.SHARE_STATUS, data=new.snapshot())
        batch = db.batch()
        if current is None:
            batch.create(ref, new.to_doc())
        else:
            batch.update(
                ref, new.to_doc(), option=db.write_option(last_update_time=snap.update_time)
            )
        batch.create(db.collection(AUDIT).document(audit.id), audit.to_doc())
        outbox.add(batch, [event])
        batch.commit()  # created or changed meanwhile raises: decide again
        return ShareChange(record=new, changed=True, detail=detail, events=[event])

    return until_committed(attempt, what=f"share {record_id}")


def list_audit(
    db: firestore.Client, *, video_id: str, user_id: str | None, limit: int
) -> list[ShareAuditEntry]:
    """Audit entries of ``video_id``, newest first: ``user_id``'s, or everyone's if ``None``."""
    if user_id is None:
        query = queries.build(
            db, queries.SHARE_AUDIT_OF_VIDEO, equal={"video_id": video_id}, limit=limit
        )
    else:
        query = queries.build(
            db,
            queries.SHARE_AUDIT_OF_USER,
            equal={"video_id": video_id, "user_id": user_id},
            limit=limit,
        )
    return [ShareAuditEntry.from_doc(s.id, s.to_dict() or {}) for s in query.stream()]
