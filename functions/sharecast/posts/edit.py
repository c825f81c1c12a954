"""The post lifecycle a user drives (docs/semantics.md#statuses-and-rules, docs/api.md#posts): edit,
cancel, publish now, retry a failed target.

Each operation applies a pure transition (:mod:`sharecast.domain.user_transitions`) in one
atomic change of the post and its targets (:func:`sharecast.store.post_changes.change_post`),
publishes the events after commit, then enqueues the new tasks. If Cloud Tasks is unavailable
the new state is kept with ``enqueue_pending`` set on the post and the sweeper enqueues it; the
operation still succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sharecast.app import AppContext
from sharecast.domain import user_transitions as transitions
from sharecast.domain.models import PostRecord, TargetRecord
from sharecast.domain.statuses import PostStatus, TargetStatus
from sharecast.domain.user_transitions import PostPlan, StaleState
from sharecast.errors import Contention, NotFound
from sharecast.posts.plan import PostInput, TargetInput, plan_targets
from sharecast.posts.queue import enqueue_targets
from sharecast.posts.read import load_own_post
from sharecast.store.post_changes import PostChange, PostMutation, change_post

#: How often an edit re-plans after the post changed under it before giving up (409).
EDIT_ATTEMPTS = 3


@dataclass(frozen=True)
class PostEdit:
    """A ``PATCH /posts/{id}``: ``None`` fields are left as they are.

    ``schedule_given`` tells an explicit ``scheduleAt: null`` (publish when leaving draft, or
    now) from an absent one. ``draft`` moves a post to or from ``DRAFT``.
    """

    content: str | None = None
    targets: list[TargetInput] | None = None
    schedule_at: datetime | None = None
    schedule_given: bool = False
    draft: bool | None = None


def _apply(
    ctx: AppContext, *, post_id: str, mutate: PostMutation, now: datetime, enqueue: bool
) -> PostChange:
    """Apply ``mutate`` to the post atomically, publish its events, enqueue when asked."""
    change = change_post(ctx.db, post_id=post_id, mutate=mutate, outbox=ctx.outbox)
    ctx.outbox.flush(change.events)
    if not (enqueue and change.post.enqueue_pending):
        return change
    due = [
        t
        for t in change.targets
        if t.status is TargetStatus.PENDING and t.next_attempt_at is not None
    ]
    if enqueue_targets(ctx, post=change.post, targets=due, now=now):
        post = change.post.model_copy(update={"enqueue_pending": False})
        return replace(change, post=post, requeued=True)
    return replace(change, requeued=True)


def cancel_post(ctx: AppContext, *, post_id: str, user_id: str, now: datetime) -> PostChange:
    """``DRAFT``/``SCHEDULED`` → ``CANCELLED``; tasks that fire later are no-ops.
    Raises :class:`NotFound` and ``TransitionRefused``."""
    load_own_post(ctx, post_id=post_id, user_id=user_id)
    return _apply(
        ctx,
        post_id=post_id,
        mutate=lambda post, targets: transitions.cancel(post, targets, now=now),
        now=now,
        enqueue=False,
    )


def publish_post(ctx: AppContext, *, post_id: str, user_id: str, now: datetime) -> PostChange:
    """``DRAFT``/``SCHEDULED`` → ``PUBLISHING`` now; the scheduled tasks are superseded.
    Raises :class:`NotFound` and ``TransitionRefused``."""
    load_own_post(ctx, post_id=post_id, user_id=user_id)
    return _apply(
        ctx,
        post_id=post_id,
        mutate=lambda post, targets: transitions.publish_now(post, targets, now=now),
        now=now,
        enqueue=True,
    )


def retry_target(
    ctx: AppContext, *, post_id: str, target_id: str, user_id: str | None, now: datetime
) -> PostChange:
    """A ``FAILED`` target gets a new attempt budget and is due now. ``user_id`` ``None`` lets
    an admin retry anyone's dead letter. Raises :class:`NotFound` (post or target) and
    ``TransitionRefused`` (the target is not ``FAILED``)."""
    _, targets = load_own_post(ctx, post_id=post_id, user_id=user_id)
    if target_id not in {t.id for t in targets}:
        raise NotFound("target not found")

    def mutate(post: PostRecord, current: list[TargetRecord]) -> PostPlan:
        if target_id not in {t.id for t in current}:
            raise NotFound("target not found")
        platform = next(t.platform for t in current if t.id == target_id)
        return transitions.retry_target(
            post,
            current,
            target_id=target_id,
            policy=ctx.settings.retry_policy(platform.value),
            now=now,
        )

    return _apply(ctx, post_id=post_id, mutate=mutate, now=now, enqueue=True)


def edit_post(
    ctx: AppContext, *, post_id: str, user_id: str, edit: PostEdit, now: datetime
) -> PostChange:
    """Change content, targets, schedule or draft state of a ``DRAFT``/``SCHEDULED`` post.

    Targets are validated exactly as on create. A new schedule, new targets or leaving/entering
    draft supersedes the old tasks (new generation) and enqueues new ones; a content-only edit
    keeps them (the task reads the text when it fires). Raises :class:`NotFound`,
    ``TransitionRefused``, ``ValidationFailed`` (422) and :class:`Contention` (409 with
    ``Retry-After``) when the post kept changing under the edit.
    """
    for _ in range(EDIT_ATTEMPTS):
        post, targets = load_own_post(ctx, post_id=post_id, user_id=user_id)
        transitions.check_changeable(post, targets, "editing")
        plan = _plan_edit(ctx, post=post, targets=targets, edit=edit, now=now)

        def mutate(
            current: PostRecord,
            current_targets: list[TargetRecord],
            plan: PostPlan = plan,
            expected: int = post.version,
        ) -> PostPlan:
            transitions.check_changeable(current, current_targets, "editing")
            if current.version != expected:
                raise StaleState(post_id)
            return plan

        try:
            return _apply(ctx, post_id=post_id, mutate=mutate, now=now, enqueue=True)
        except StaleState:
            continue
    raise Contention("the post kept changing while it was being edited; try again")


def _plan_edit(
    ctx: AppContext,
    *,
    post: PostRecord,
    targets: list[TargetRecord],
    edit: PostEdit,
    now: datetime,
) -> PostPlan:
    """The post and targets after ``edit``, validated like a create."""
    was_draft = post.status is PostStatus.DRAFT
    draft = was_draft if edit.draft is None else edit.draft
    schedule_at = edit.schedule_at if edit.schedule_given else post.schedule_at
    content = post.content if edit.content is None else edit.content
    reschedule = (
        edit.targets is not None
        or draft != was_draft
        or (edit.schedule_given and schedule_at != post.schedule_at)
    )
    # The schedule is checked when it is set (as on create) or when the post leaves draft; a
    # content-only edit of a post whose time is just now passing is still allowed.
    planned = plan_targets(
        ctx,
        user_id=post.user_id,
        post_id=post.id,
        request=PostInput(
            content=content,
            targets=edit.targets if edit.targets is not None else current_inputs(targets),
            media_ids=post.media_ids,
            schedule_at=schedule_at,
            draft=draft,
            origin=post.origin,
        ),
        now=now,
        generation=transitions.next_generation(targets) if reschedule else _generation(targets),
        check_schedule=edit.schedule_given or (was_draft and not draft),
    )
    new_targets = _carry_over(targets, planned, reschedule=reschedule, now=now)
    kept_ids = {t.id for t in new_targets}
    status = (
        PostStatus.DRAFT
        if draft
        else PostStatus.SCHEDULED
        if schedule_at is not None
        else PostStatus.PUBLISHING
    )
    new_post = transitions.bump_post(
        post,
        now,
        content=content,
        schedule_at=schedule_at,
        status=status,
        target_ids=[t.id for t in new_targets],
        enqueue_pending=reschedule and not draft,
    )
    return PostPlan(
        post=new_post,
        targets=new_targets,
        removed=[t for t in targets if t.id not in kept_ids],
    )


def current_inputs(targets: list[TargetRecord]) -> list[TargetInput]:
    """The inputs that re-create ``targets`` as they are."""
    return [
        TargetInput(
            platform=t.platform.value,
            account_id=t.account_id,
            media_type=t.media_type,
            content=t.content,
            title=t.title,
            description=t.description,
        )
        for t in targets
    ]


def _carry_over(
    old_targets: list[TargetRecord],
    planned: list[TargetRecord],
    *,
    reschedule: bool,
    now: datetime,
) -> list[TargetRecord]:
    """``planned``, each keeping its creation time and, unless rescheduled, its due time. A kept
    target's version goes up by one (its event carries it: no gap); a new target starts above
    every version the post's targets had, so it outranks the ``CANCELLED`` snapshot of a
    removed target that had the same id."""
    fresh = max((t.version for t in old_targets), default=0) + 1
    old = {t.id: t for t in old_targets}
    out = []
    for target in planned:
        previous = old.get(target.id)
        keep = (
            {} if reschedule or previous is None else {"next_attempt_at": previous.next_attempt_at}
        )
        created = previous.created_at if previous is not None else now
        version = previous.version + 1 if previous is not None else fresh
        out.append(target.model_copy(update={"version": version, "created_at": created, **keep}))
    return out


def _generation(targets: list[TargetRecord]) -> int:
    return max((t.generation for t in targets), default=0)
