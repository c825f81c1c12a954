"""Paginated lists: a user's posts, dead letters (finally failed targets) and the attempt log.

Pages are newest first. A cursor is opaque to clients: the URL-safe base64 of the path of the
last document of the previous page; the next page starts after that document in the query's
order (Firestore ``start_after`` on its snapshot). Every query is declared in
:mod:`sharecast.store.queries`.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from google.cloud import firestore

from sharecast.domain.models import AttemptRecord, PostRecord, TargetRecord
from sharecast.domain.statuses import PostStatus, TargetStatus
from sharecast.errors import BadRequest
from sharecast.store import queries
from sharecast.store.posts import ATTEMPTS, POSTS, TARGETS, target_ref

T = TypeVar("T")

#: Bounds used when ``from``/``to`` are not given (Firestore timestamps end in year 9999).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, tzinfo=UTC)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results and the cursor of the next page (``None`` on the last page)."""

    items: list[T]
    next_cursor: str | None


def encode_cursor(path: str) -> str:
    """The opaque cursor of the document at ``path``."""
    return base64.urlsafe_b64encode(path.encode()).decode().rstrip("=")


def _cursor_snapshot(
    db: firestore.Client, cursor: str | None, *, collection: str
) -> firestore.DocumentSnapshot | None:
    """The snapshot a cursor points at. Raises :class:`BadRequest` (400) for a cursor that is
    malformed, of another list, or whose document no longer exists."""
    if not cursor:
        return None
    try:
        path = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadRequest("invalid cursor") from None
    parts = path.split("/")
    if len(parts) % 2 or len(parts) < 2 or parts[-2] != collection or not all(parts):
        raise BadRequest("invalid cursor")
    snap = db.document(path).get()
    if not snap.exists:
        raise BadRequest("invalid cursor: the page it continues is gone; start again")
    return snap


#: The snapshot a cursor points at (public for the other paginated stores).
cursor_snapshot = _cursor_snapshot


def _page(
    db: firestore.Client,
    spec: queries.QuerySpec,
    *,
    equal: dict[str, Any],
    ranges: list[tuple[str, str, Any]],
    limit: int,
    cursor: str | None,
) -> tuple[list[firestore.DocumentSnapshot], str | None]:
    after = _cursor_snapshot(db, cursor, collection=spec.collection_group)
    query = queries.build(db, spec, equal=equal, ranges=ranges, limit=limit + 1, start_after=after)
    snaps = list(query.stream())
    more = len(snaps) > limit
    snaps = snaps[:limit]
    return snaps, encode_cursor(snaps[-1].reference.path) if more and snaps else None


def list_posts(
    db: firestore.Client,
    *,
    user_id: str,
    status: PostStatus | None,
    created_from: datetime | None,
    created_to: datetime | None,
    limit: int,
    cursor: str | None,
) -> Page[tuple[PostRecord, list[TargetRecord]]]:
    """``user_id``'s posts created in ``[created_from, created_to)`` (UTC), newest first, with
    their targets (one batched read per page). Raises :class:`BadRequest` for a bad cursor."""
    spec = queries.USER_POSTS if status is None else queries.USER_POSTS_BY_STATUS
    equal: dict[str, Any] = {"user_id": user_id}
    if status is not None:
        equal["status"] = status.value
    ranges = [
        ("created_at", ">=", created_from or EARLIEST),
        ("created_at", "<", created_to or LATEST),
    ]
    snaps, next_cursor = _page(db, spec, equal=equal, ranges=ranges, limit=limit, cursor=cursor)
    posts = [PostRecord.from_doc(s.id, s.to_dict() or {}) for s in snaps]
    refs = [target_ref(db, p.id, t) for p in posts for t in p.target_ids]
    by_path = {
        s.reference.path: TargetRecord.from_doc(s.id, s.to_dict() or {})
        for s in (db.get_all(refs) if refs else [])
        if s.exists
    }
    items = []
    for post in posts:
        paths = [f"{POSTS}/{post.id}/{TARGETS}/{t}" for t in post.target_ids]
        items.append((post, [by_path[p] for p in paths if p in by_path]))
    return Page(items=items, next_cursor=next_cursor)


def list_dead_letters(
    db: firestore.Client, *, limit: int, cursor: str | None
) -> Page[TargetRecord]:
    """Targets of every user finally ``FAILED``, most recently failed first."""
    snaps, next_cursor = _page(
        db,
        queries.DEAD_LETTERS,
        equal={"status": TargetStatus.FAILED.value},
        ranges=[],
        limit=limit,
        cursor=cursor,
    )
    return Page(
        items=[TargetRecord.from_doc(s.id, s.to_dict() or {}) for s in snaps],
        next_cursor=next_cursor,
    )


def list_attempts(
    db: firestore.Client,
    *,
    post_id: str | None,
    target_id: str | None,
    outcome: str | None,
    limit: int,
    cursor: str | None,
) -> Page[AttemptRecord]:
    """The attempt log, newest first, filtered by post, target (with its post) and outcome.
    Raises :class:`BadRequest` for a target filter without a post or a bad cursor."""
    if target_id is not None and post_id is None:
        raise BadRequest("targetId needs postId (target ids are unique within a post)")
    equal = {
        name: value
        for name, value in (("post_id", post_id), ("target_id", target_id), ("outcome", outcome))
        if value is not None
    }
    spec = queries.ATTEMPT_QUERIES[frozenset(equal)]
    snaps, next_cursor = _page(db, spec, equal=equal, ranges=[], limit=limit, cursor=cursor)
    assert spec.collection_group == ATTEMPTS
    return Page(
        items=[AttemptRecord.from_doc(s.id, s.to_dict() or {}) for s in snaps],
        next_cursor=next_cursor,
    )
