"""Deriving a post's status from its targets (docs/semantics.md#statuses-and-rules).

The post keeps its targets' terminal statuses in ``target_outcomes``; a target change rolls the
post up from that map alone (:func:`rollup_after`), so the change and the rollup commit together
without reading the sibling targets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sharecast.domain.models import PostRecord, TargetRecord
from sharecast.domain.statuses import PostStatus, TargetStatus


def rollup_post_status(current: PostStatus, targets: Iterable[TargetStatus]) -> PostStatus:
    """The post status implied by its targets' statuses.

    ``DRAFT`` and ``CANCELLED`` are set by the user and are never changed here. While any
    target is not terminal the post is ``SCHEDULED`` (none started yet and it was scheduled) or
    ``PUBLISHING``; once all are terminal it is ``PUBLISHED`` (all succeeded), ``PARTIAL`` (some)
    or ``FAILED`` (none). Cancelled targets count as not published.
    """
    if current in (PostStatus.DRAFT, PostStatus.CANCELLED):
        return current
    statuses = list(targets)
    if not statuses:
        return current
    if not all(s.terminal for s in statuses):
        started = any(s is not TargetStatus.PENDING for s in statuses)
        if current is PostStatus.SCHEDULED and not started:
            return PostStatus.SCHEDULED
        return PostStatus.PUBLISHING
    successes = sum(1 for s in statuses if s is TargetStatus.SUCCESS)
    if successes == len(statuses):
        return PostStatus.PUBLISHED
    if successes:
        return PostStatus.PARTIAL
    return PostStatus.FAILED


def post_status_from_outcomes(
    current: PostStatus,
    target_ids: Iterable[str],
    outcomes: Mapping[str, TargetStatus],
    *,
    started: bool,
) -> PostStatus:
    """The post status implied by the terminal ``outcomes`` of its targets (target id →
    ``SUCCESS``/``FAILED``/``CANCELLED``; a target missing from it is not terminal), the same
    rules as :func:`rollup_post_status`. ``started``: a target has left ``PENDING`` (what moves a
    ``SCHEDULED`` post to ``PUBLISHING``)."""
    ids = list(target_ids)
    if current in (PostStatus.DRAFT, PostStatus.CANCELLED) or not ids:
        return current
    if all(t in outcomes for t in ids):
        successes = sum(1 for t in ids if outcomes[t] is TargetStatus.SUCCESS)
        if successes == len(ids):
            return PostStatus.PUBLISHED
        return PostStatus.PARTIAL if successes else PostStatus.FAILED
    if current is PostStatus.SCHEDULED and not started:
        return PostStatus.SCHEDULED
    return PostStatus.PUBLISHING


def rollup_after(
    post: PostRecord, *, target_id: str, status: TargetStatus, now: datetime
) -> PostRecord | None:
    """The post after its target ``target_id`` changed to ``status``: its ``target_outcomes``
    (the terminal statuses, which is all a rollup needs: no read of the sibling targets) and,
    when that changes it, its status (``version`` + 1 and ``published_at`` as the status says).
    ``None`` when the post document needs no write: a change between non-terminal statuses of
    a post that is not ``SCHEDULED`` leaves it as it is."""
    outcomes = dict(post.target_outcomes or {})
    if status.terminal:
        outcomes[target_id] = status
    else:
        outcomes.pop(target_id, None)
    started = status is not TargetStatus.PENDING
    new_status = post_status_from_outcomes(post.status, post.target_ids, outcomes, started=started)
    if new_status is post.status:
        if outcomes == post.target_outcomes:
            return None
        return post.model_copy(update={"target_outcomes": outcomes})
    published = new_status in (PostStatus.PUBLISHED, PostStatus.PARTIAL)
    return post.model_copy(
        update={
            "target_outcomes": outcomes,
            "status": new_status,
            "version": post.version + 1,
            "updated_at": now,
            "published_at": now if published else None,
        }
    )


def outcomes_of(targets: Iterable[TargetRecord]) -> dict[str, TargetStatus]:
    """The ``target_outcomes`` of a post with ``targets``: the terminal ones' statuses."""
    return {t.id: t.status for t in targets if t.status.terminal}
