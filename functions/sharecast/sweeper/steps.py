"""The steps of the minutely sweep (docs/semantics.md#the-sweeper). Each handles one bounded batch
per run."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from google.api_core.exceptions import GoogleAPICallError, RetryError

from sharecast.app import AppContext
from sharecast.domain.models import PostRecord, TargetRecord
from sharecast.domain.statuses import PostStatus
from sharecast.logs import fields
from sharecast.media import cleanup as media_cleanup
from sharecast.posts.queue import enqueue_targets
from sharecast.store import posts as posts_store
from sharecast.store import sweeps
from sharecast.sweeper.report import SweepReport
from sharecast.sweeper.rules import DueAction, decide_due, missed, sweep_task_id
from sharecast.tasks import SCHEDULE_HORIZON, PublishTask, enqueue_publish

log = logging.getLogger(__name__)

#: Posts the user holds back: their targets get no task from the sweeper.
HELD = (PostStatus.DRAFT, PostStatus.CANCELLED)


class TasksUnavailable(RuntimeError):
    """Cloud Tasks refused or timed out; the step stops and the next sweep tries again."""


def enqueue_pending_posts(ctx: AppContext, now: datetime, report: SweepReport) -> None:
    """Posts saved while Cloud Tasks was unavailable: create the first task of each waiting
    target (the same names as at creation, so a task that did get created is not doubled),
    fail as ``MISSED`` those overdue beyond ``missed_after_s``, then clear the mark."""
    limit = ctx.settings.sweep_batch_limit
    posts = sweeps.enqueue_pending_posts(ctx.db, limit=limit)
    report.batch("enqueue_pending", len(posts), limit)
    for post in posts:
        report.handled_posts.add(post.id)
        if post.status in HELD:
            posts_store.mark_enqueued(ctx.db, post.id, now)
            report.add("posts_unmarked")
            continue
        _, targets = posts_store.get_post(ctx.db, post.id)
        waiting: list[TargetRecord] = []
        for target in targets:
            action = _decide(ctx, target, post, now)
            if action is DueAction.MISSED:
                _mark_missed(ctx, target, post, now, report)
            elif action is DueAction.ENQUEUE:
                waiting.append(target)
        if not waiting:
            posts_store.mark_enqueued(ctx.db, post.id, now)
            report.add("posts_unmarked")
        elif enqueue_targets(ctx, post=post, targets=waiting, now=now):
            report.add("posts_enqueued")
            report.add("tasks_created", len(waiting))
        else:
            raise TasksUnavailable(f"post {post.id}: Cloud Tasks unavailable")


#: How far behind the horizon the upcoming-targets window reaches: a target that crossed it
#: during a sweeper outage shorter than this still gets its task ahead of time (named tasks
#: make the overlap harmless); after a longer outage ``resume_due_targets`` catches it when due.
UPCOMING_LOOKBACK = timedelta(minutes=15)


def enqueue_upcoming_targets(ctx: AppContext, now: datetime, report: SweepReport) -> None:
    """Targets scheduled further ahead than Cloud Tasks allows got no task when saved
    (``tasks.SCHEDULE_HORIZON``): create it as they come within the horizon, under the name
    creation would have used, so a task that exists is not doubled."""
    limit = ctx.settings.sweep_batch_limit
    edge = now + SCHEDULE_HORIZON
    targets = sweeps.upcoming_targets(
        ctx.db, after=edge - UPCOMING_LOOKBACK, before=edge, limit=limit
    )
    report.batch("upcoming", len(targets), limit)
    for target in targets:
        try:
            created = enqueue_publish(
                ctx.tasks,
                ctx.settings,
                PublishTask.next_for(target),
                schedule_at=target.next_attempt_at,
            )
        except (GoogleAPICallError, RetryError) as exc:
            raise TasksUnavailable(f"Cloud Tasks unavailable: {type(exc).__name__}") from exc
        report.add("upcoming_enqueued" if created else "tasks_already_there")


def resume_due_targets(ctx: AppContext, now: datetime, report: SweepReport) -> None:
    """PENDING/RETRYING targets due for more than ``sweep_grace_s`` whose task went missing:
    a fresh task (named after the target's version), or ``MISSED`` beyond the window."""
    limit = ctx.settings.sweep_batch_limit
    before = now - timedelta(seconds=ctx.settings.sweep_grace_s)
    targets = sweeps.due_targets(ctx.db, before=before, limit=limit)
    report.batch("due_targets", len(targets), limit)
    posts = sweeps.get_posts(ctx.db, (t.post_id for t in targets))
    for target in targets:
        post = posts.get(target.post_id)
        if post is None or post.id in report.handled_posts:
            continue
        if post.enqueue_pending or post.status in HELD:
            continue  # the enqueue step (or the user) decides
        action = _decide(ctx, target, post, now)
        if action is DueAction.MISSED:
            _mark_missed(ctx, target, post, now, report)
        elif action is DueAction.ENQUEUE:
            attempt = target.attempts + 1
            _enqueue(ctx, target, attempt, report, counter="retries_requeued")


def resume_expired_leases(ctx: AppContext, now: datetime, report: SweepReport) -> None:
    """PUBLISHING targets whose lease expired (the publisher died mid-attempt): a fresh task
    for the same attempt. The publisher resumes it without posting twice: the attempt is
    marked uncertain and reconciled with the platform before anything is sent
    (docs/semantics.md#statuses-and-rules)."""
    limit = ctx.settings.sweep_batch_limit
    targets = sweeps.expired_leases(ctx.db, before=now, limit=limit)
    report.batch("expired_leases", len(targets), limit)
    for target in targets:
        _enqueue(ctx, target, target.attempts, report, counter="leases_resumed", step=target.step)


def resume_due_continuations(ctx: AppContext, now: datetime, report: SweepReport) -> None:
    """Multi-step targets waiting on the platform (``continue_at``, no lease) whose next step
    is due for more than ``sweep_grace_s`` and whose continuation task went missing."""
    limit = ctx.settings.sweep_batch_limit
    before = now - timedelta(seconds=ctx.settings.sweep_grace_s)
    targets = sweeps.due_continuations(ctx.db, before=before, limit=limit)
    report.batch("due_continuations", len(targets), limit)
    for target in targets:
        _enqueue(
            ctx, target, target.attempts, report, counter="continuations_requeued", step=target.step
        )


def republish_events(ctx: AppContext, now: datetime, report: SweepReport) -> None:
    """Events committed more than ``outbox_grace_s`` ago and never marked published (Pub/Sub
    failed after the commit, or the process died in between): publish them again. Duplicates
    are harmless: clients keep the newest ``version`` of each resource."""
    limit = ctx.settings.sweep_batch_limit
    before = now - timedelta(seconds=ctx.settings.outbox_grace_s)
    found, published = ctx.outbox.republish(before=before, limit=limit)
    report.batch("unpublished_events", found, limit)
    if not found:
        return
    report.add("events_republished", published)
    if published < found:
        raise RuntimeError(f"{found - published} events still not published")


def catch_up_consumers(ctx: AppContext, now: datetime, report: SweepReport) -> None:
    """Events committed more than ``outbox_grace_s`` ago that a consumer of the event log (the
    webhook fan-out) has not taken: hand them to it again (docs/webhooks.md#delivery). Counts
    ``{consumer}_pending`` and ``{consumer}_caught_up``."""
    limit = ctx.settings.sweep_batch_limit
    before = now - timedelta(seconds=ctx.settings.outbox_grace_s)
    missing = []
    for name, (found, taken) in ctx.outbox.catch_up(before=before, limit=limit).items():
        report.batch(f"{name}_pending", found, limit)
        if found:
            report.add(f"{name}_caught_up", taken)
        if taken < found:
            missing.append(f"{name}: {found - taken}")
    if missing:
        raise RuntimeError(f"events still not taken ({', '.join(missing)})")


# --- helpers ---------------------------------------------------------------------------------


def cleanup_media(ctx: AppContext, now: datetime, report: SweepReport) -> None:
    """Daily: delete media past ``expires_at`` that no pending post uses, fail stale uploads
    (see :func:`sharecast.media.cleanup.cleanup_media`)."""
    counts = media_cleanup.cleanup_media(ctx, now=now, limit=ctx.settings.sweep_batch_limit)
    report.add("media_deleted", counts.deleted)
    report.add("media_kept", counts.kept)
    report.add("uploads_failed", counts.failed)


def _decide(ctx: AppContext, target: TargetRecord, post: PostRecord, now: datetime) -> DueAction:
    return decide_due(
        target, allow_late=post.allow_late, now=now, missed_after_s=ctx.settings.missed_after_s
    )


def _enqueue(
    ctx: AppContext,
    target: TargetRecord,
    attempt: int,
    report: SweepReport,
    *,
    counter: str,
    step: int = 0,
) -> None:
    task = PublishTask(
        post_id=target.post_id,
        target_id=target.id,
        attempt=attempt,
        step=step,
        generation=target.generation,  # an older generation's task is a superseded no-op
        connection_id=target.connection_id,
    )
    try:
        created = enqueue_publish(
            ctx.tasks,
            ctx.settings,
            task,
            schedule_at=None,
            task_id=sweep_task_id(target, attempt, step),
        )
    except (GoogleAPICallError, RetryError) as exc:
        raise TasksUnavailable(f"Cloud Tasks unavailable: {type(exc).__name__}") from exc
    report.add(counter if created else "tasks_already_there")


def _mark_missed(
    ctx: AppContext, target: TargetRecord, post: PostRecord, now: datetime, report: SweepReport
) -> None:
    window = ctx.settings.missed_after_s

    def mutate(current: TargetRecord) -> tuple[TargetRecord | None, None]:
        if decide_due(current, allow_late=post.allow_late, now=now, missed_after_s=window) is not (
            DueAction.MISSED
        ):
            return None, None  # it moved on since the query
        return missed(current, missed_after_s=window, now=now), None

    change = posts_store.change_target(
        ctx.db, post_id=target.post_id, target_id=target.id, mutate=mutate, outbox=ctx.outbox
    )
    if change.changed:
        report.add("targets_missed")  # the post's rollup is in the same commit
        ctx.outbox.flush(change.events)
        ctx.notify_outcome(change.target)  # e.g. the share this post was made for
        log.warning(
            "target missed its time",
            extra=fields(post_id=target.post_id, target_id=target.id, window_s=window),
        )
