"""Deriving a post's status from its targets (docs/semantics.md#statuses-and-rules)."""

from __future__ import annotations

from collections.abc import Iterable

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
