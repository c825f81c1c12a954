"""Queueing the tasks of targets (docs/semantics.md#the-publisher): one named Cloud Task per target
attempt.

Used by create, by the lifecycle operations that move a schedule (:mod:`.edit`) and by the
sweeper for posts saved while Cloud Tasks was down.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from google.api_core.exceptions import GoogleAPICallError, RetryError

from sharecast.app import AppContext
from sharecast.domain.events import Event
from sharecast.domain.models import PostRecord, TargetRecord
from sharecast.logs import fields
from sharecast.store import posts as posts_store
from sharecast.tasks import PublishTask, enqueue_publish, within_horizon

log = logging.getLogger(__name__)


def enqueue_targets(
    ctx: AppContext,
    *,
    post: PostRecord,
    targets: list[TargetRecord],
    now: datetime,
    published: Sequence[Event] = (),
) -> bool:
    """Create the next task of every target (in its generation), concurrently; clear
    ``enqueue_pending`` when all exist, in one commit with the ``published_at`` marks of
    ``published`` (events of the post published after its creation commit). A target due beyond
    Cloud Tasks' horizon (``tasks.SCHEDULE_HORIZON``) gets its task later, from the sweeper,
    when it comes within it.

    Idempotent (named tasks). Returns ``False`` and leaves the post marked when Cloud Tasks
    fails, so the sweeper retries (the events are still marked).
    """
    due = [t for t in targets if within_horizon(t.next_attempt_at, now=now)]

    def create(target: TargetRecord) -> bool:
        task = PublishTask.next_for(target)
        return enqueue_publish(ctx.tasks, ctx.settings, task, schedule_at=target.next_attempt_at)

    try:
        if len(due) > 1:
            list(ctx.io.map(create, due))
        else:
            for target in due:
                create(target)
    except (GoogleAPICallError, RetryError):
        log.warning(
            "enqueue failed; post left for the sweeper",
            exc_info=True,
            extra=fields(post_id=post.id),
        )
        ctx.outbox.mark_now(published)
        return False
    posts_store.mark_enqueued(
        ctx.db, post.id, now, mark=lambda batch: ctx.outbox.mark(batch, published)
    )
    return True
