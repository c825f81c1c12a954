"""The reads of the sweeper (docs/semantics.md#the-sweeper): posts never enqueued, due targets,
expired leases.

Each is one indexed query declared in :mod:`sharecast.store.queries`, with a limit; the
sweeper handles one batch per run and the next run picks up the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from google.cloud import firestore

from sharecast.domain.models import PostRecord, TargetRecord
from sharecast.domain.statuses import TargetStatus
from sharecast.store import queries
from sharecast.store.posts import post_ref

#: Target statuses that wait for a task (``next_attempt_at`` is when it should run).
WAITING = (TargetStatus.PENDING, TargetStatus.RETRYING)


def enqueue_pending_posts(db: firestore.Client, *, limit: int) -> list[PostRecord]:
    """Posts still marked ``enqueue_pending`` (Cloud Tasks failed at creation), oldest first."""
    query = queries.build(
        db, queries.POSTS_ENQUEUE_PENDING, equal={"enqueue_pending": True}, limit=limit
    )
    return [PostRecord.from_doc(s.id, s.to_dict() or {}) for s in query.stream()]


def due_targets(db: firestore.Client, *, before: datetime, limit: int) -> list[TargetRecord]:
    """PENDING/RETRYING targets of any post whose ``next_attempt_at`` is before ``before``
    (UTC), most overdue first. Drafts (``next_attempt_at`` unset) never match."""
    query = queries.build(
        db,
        queries.TARGETS_DUE,
        equal={"status": [s.value for s in WAITING]},
        ranges=[("next_attempt_at", "<", before)],
        limit=limit,
    )
    return [TargetRecord.from_doc(s.id, s.to_dict() or {}) for s in query.stream()]


def upcoming_targets(
    db: firestore.Client, *, after: datetime, before: datetime, limit: int
) -> list[TargetRecord]:
    """PENDING targets of any post due in ``[after, before)`` (UTC), soonest first: the ones
    coming within Cloud Tasks' scheduling horizon (same index as :func:`due_targets`)."""
    query = queries.build(
        db,
        queries.TARGETS_DUE,
        equal={"status": [TargetStatus.PENDING.value]},
        ranges=[("next_attempt_at", ">=", after), ("next_attempt_at", "<", before)],
        limit=limit,
    )
    return [TargetRecord.from_doc(s.id, s.to_dict() or {}) for s in query.stream()]


def expired_leases(db: firestore.Client, *, before: datetime, limit: int) -> list[TargetRecord]:
    """PUBLISHING targets of any post whose lease ended before ``before`` (UTC), oldest first."""
    query = queries.build(
        db,
        queries.TARGETS_LEASE_EXPIRED,
        equal={"status": TargetStatus.PUBLISHING.value},
        ranges=[("lease_until", "<", before)],
        limit=limit,
    )
    return [TargetRecord.from_doc(s.id, s.to_dict() or {}) for s in query.stream()]


def due_continuations(db: firestore.Client, *, before: datetime, limit: int) -> list[TargetRecord]:
    """PUBLISHING targets waiting between two steps of a multi-step platform (no lease) whose
    next step was due before ``before`` (UTC), oldest first."""
    query = queries.build(
        db,
        queries.TARGETS_CONTINUATION_DUE,
        equal={"status": TargetStatus.PUBLISHING.value},
        ranges=[("continue_at", "<", before)],
        limit=limit,
    )
    return [TargetRecord.from_doc(s.id, s.to_dict() or {}) for s in query.stream()]


def get_posts(db: firestore.Client, post_ids: Iterable[str]) -> dict[str, PostRecord]:
    """The posts that exist among ``post_ids``, by id (one batched read)."""
    refs = [post_ref(db, post_id) for post_id in sorted(set(post_ids))]
    if not refs:
        return {}
    return {
        s.id: PostRecord.from_doc(s.id, s.to_dict() or {}) for s in db.get_all(refs) if s.exists
    }
