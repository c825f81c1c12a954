"""Creating a post for several networks at once (docs/api.md#posts): validate, store, queue."""

from __future__ import annotations

import uuid
from datetime import datetime

from sharecast.app import AppContext
from sharecast.domain.events import Event
from sharecast.domain.models import PostRecord, TargetRecord
from sharecast.domain.statuses import EventType, PostStatus
from sharecast.posts.plan import PostInput, plan_targets
from sharecast.posts.queue import enqueue_targets
from sharecast.store import media as media_store
from sharecast.store import posts as posts_store


def initial_status(request: PostInput) -> PostStatus:
    """``DRAFT`` for a draft, ``SCHEDULED`` with a ``schedule_at``, else ``PUBLISHING``."""
    if request.draft:
        return PostStatus.DRAFT
    return PostStatus.SCHEDULED if request.schedule_at else PostStatus.PUBLISHING


def create_post(
    ctx: AppContext, *, user_id: str, request: PostInput, now: datetime
) -> tuple[PostRecord, list[TargetRecord]]:
    """Validate every target, store the post atomically, then enqueue one task per target.

    Raises :class:`sharecast.errors.ValidationFailed` (422) listing every problem before
    anything is stored. If Cloud Tasks is unavailable the post is still stored with
    ``enqueue_pending`` set, and the sweeper enqueues it later (docs/semantics.md#the-sweeper); the
    post is never lost. The creation events are published after the commit (the outbox) and
    marked in the commit that clears ``enqueue_pending``; the tasks are created concurrently.
    """
    post_id = uuid.uuid4().hex
    targets = plan_targets(ctx, user_id=user_id, post_id=post_id, request=request, now=now)
    post = PostRecord(
        id=post_id,
        user_id=user_id,
        content=request.content,
        media_ids=request.media_ids,
        schedule_at=request.schedule_at,
        status=initial_status(request),
        target_ids=[t.id for t in targets],
        enqueue_pending=not request.draft,
        origin=request.origin,
        allow_late=request.allow_late,
        target_outcomes={},
        created_at=now,
        updated_at=now,
    )
    if request.media_ids:
        media_store.attach_to_post(ctx.db, request.media_ids, post_id)
    events = [Event.new(user_id=user_id, type=EventType.POST_STATUS, data=post.snapshot())]
    events += [
        Event.new(user_id=user_id, type=EventType.TARGET_STATUS, data=t.snapshot()) for t in targets
    ]
    posts_store.create_post(ctx.db, post=post, targets=targets, events=events, outbox=ctx.outbox)
    published = ctx.outbox.publish(events)
    if request.draft:
        ctx.outbox.mark_now(published)
    elif enqueue_targets(ctx, post=post, targets=targets, now=now, published=published):
        post = post.model_copy(update={"enqueue_pending": False})
    return post, targets
