"""The post lifecycle a user drives (docs/semantics.md#statuses-and-rules, docs/api.md#posts): edit,
cancel, publish now, retry a failed target, and waiting for a new post's results.

Each operation applies a pure transition (:mod:`sharecast.domain.lifecycle`) in one
transaction over the post and all its targets (:func:`sharecast.store.lifecycle.change_post`),
publishes the events after commit, then enqueues the new tasks. If Cloud Tasks is unavailable
the new state is kept with ``enqueue_pending`` set on the post and the sweeper enqueues it; the
operation still succeeds.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import google.cloud.pubsub_v1 as pubsub_v1
from google.cloud import firestore, tasks_v2

from sharecast.config import Settings
from sharecast.domain import lifecycle as transitions
from sharecast.domain.lifecycle import PostPlan, StaleState, TransitionRefused
from sharecast.domain.models import PostRecord, TargetRecord
from sharecast.domain.statuses import PostStatus, TargetStatus
from sharecast.errors import Conflict, NotFound
from sharecast.events import publish_events
from sharecast.multipost import MultipostInput, TargetInput, enqueue_targets, plan_targets
from sharecast.store import posts as posts_store
from sharecast.store.lifecycle import PostChange, PostMutation, change_post
from sharecast.vault import TokenVault

log = logging.getLogger(__name__)

#: ``?wait=N`` on create: seconds between reads of the post while waiting.
WAIT_POLL_S = 0.25
#: How often an edit re-plans after the post changed under it before giving up (409).
EDIT_ATTEMPTS = 3
#: Post statuses in which nothing happens until the user acts or the schedule comes.
AT_REST = frozenset({PostStatus.DRAFT, PostStatus.SCHEDULED, PostStatus.CANCELLED})
#: Post statuses once every target is terminal.
FINISHED = frozenset({PostStatus.PUBLISHED, PostStatus.PARTIAL, PostStatus.FAILED})


@dataclass(frozen=True)
class Services:
    """The clients and settings lifecycle operations use (built once by the entry point)."""

    db: firestore.Client
    tasks: tasks_v2.CloudTasksClient
    pubsub: pubsub_v1.PublisherClient
    vault: TokenVault
    settings: Settings

    @property
    def event_ttl(self) -> timedelta:
        """How long events are kept (the event log's TTL)."""
        return timedelta(days=self.settings.event_ttl_days)


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


def load_own_post(
    db: firestore.Client, *, post_id: str, user_id: str | None
) -> tuple[PostRecord, list[TargetRecord]]:
    """The post and its targets when it belongs to ``user_id`` (``None``: anyone's, for
    admins). Raises :class:`NotFound` otherwise, never revealing that it exists."""
    if len(post_id) > 64:
        raise NotFound("post not found")
    try:
        post, targets = posts_store.get_post(db, post_id)
    except NotFound:
        raise NotFound("post not found") from None
    if user_id is not None and post.user_id != user_id:
        raise NotFound("post not found")
    return post, targets


def _apply(
    svc: Services, *, post_id: str, mutate: PostMutation, now: datetime, enqueue: bool
) -> PostChange:
    """Run ``mutate`` in a post transaction, publish its events, enqueue when asked."""
    change = change_post(svc.db, post_id=post_id, mutate=mutate, event_ttl=svc.event_ttl)
    publish_events(
        publisher=svc.pubsub, db=svc.db, topic_path=svc.settings.topic_path, events=change.events
    )
    if not (enqueue and change.post.enqueue_pending):
        return change
    due = [
        t
        for t in change.targets
        if t.status is TargetStatus.PENDING and t.next_attempt_at is not None
    ]
    done = enqueue_targets(
        db=svc.db, tasks=svc.tasks, settings=svc.settings, post=change.post, targets=due, now=now
    )
    if done:
        post = change.post.model_copy(
            update={"enqueue_pending": False, "version": change.post.version + 1}
        )
        return replace(change, post=post, requeued=True)
    return replace(change, requeued=True)


def cancel_post(svc: Services, *, post_id: str, user_id: str, now: datetime) -> PostChange:
    """``DRAFT``/``SCHEDULED`` → ``CANCELLED``; tasks that fire later are no-ops.
    Raises :class:`NotFound` and :class:`TransitionRefused`."""
    load_own_post(svc.db, post_id=post_id, user_id=user_id)
    return _apply(
        svc,
        post_id=post_id,
        mutate=lambda post, targets: transitions.cancel(post, targets, now=now),
        now=now,
        enqueue=False,
    )


def publish_post(svc: Services, *, post_id: str, user_id: str, now: datetime) -> PostChange:
    """``DRAFT``/``SCHEDULED`` → ``PUBLISHING`` now; the scheduled tasks are superseded.
    Raises :class:`NotFound` and :class:`TransitionRefused`."""
    load_own_post(svc.db, post_id=post_id, user_id=user_id)
    return _apply(
        svc,
        post_id=post_id,
        mutate=lambda post, targets: transitions.publish_now(post, targets, now=now),
        now=now,
        enqueue=True,
    )


def retry_target(
    svc: Services, *, post_id: str, target_id: str, user_id: str | None, now: datetime
) -> PostChange:
    """A ``FAILED`` target gets a new attempt budget and is due now. ``user_id`` ``None`` lets
    an admin retry anyone's dead letter. Raises :class:`NotFound` (post or target) and
    :class:`TransitionRefused` (the target is not ``FAILED``)."""
    _, targets = load_own_post(svc.db, post_id=post_id, user_id=user_id)
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
            policy=svc.settings.retry_policy(platform.value),
            now=now,
        )

    return _apply(svc, post_id=post_id, mutate=mutate, now=now, enqueue=True)


def edit_post(
    svc: Services, *, post_id: str, user_id: str, edit: PostEdit, now: datetime
) -> PostChange:
    """Change content, targets, schedule or draft state of a ``DRAFT``/``SCHEDULED`` post.

    Targets are validated exactly as on create. A new schedule, new targets or leaving/entering
    draft supersedes the old tasks (new generation) and enqueues new ones; a content-only edit
    keeps them (the task reads the text when it fires). Raises :class:`NotFound`,
    :class:`TransitionRefused`, ``ValidationFailed`` (422) and :class:`Conflict` when the post
    kept changing under the edit.
    """
    for _ in range(EDIT_ATTEMPTS):
        post, targets = load_own_post(svc.db, post_id=post_id, user_id=user_id)
        transitions.check_changeable(post, targets, "editing")
        plan = _plan_edit(svc, post=post, targets=targets, edit=edit, now=now)

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
            return _apply(svc, post_id=post_id, mutate=mutate, now=now, enqueue=True)
        except StaleState:
            continue
    raise Conflict("the post kept changing while it was being edited; try again")


def _plan_edit(
    svc: Services,
    *,
    post: PostRecord,
    targets: list[TargetRecord],
    edit: PostEdit,
    now: datetime,
) -> PostPlan:
    was_draft = post.status is PostStatus.DRAFT
    draft = was_draft if edit.draft is None else edit.draft
    schedule_at = edit.schedule_at if edit.schedule_given else post.schedule_at
    content = post.content if edit.content is None else edit.content
    inputs = edit.targets
    if inputs is None:
        inputs = [
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
    reschedule = (
        edit.targets is not None
        or draft != was_draft
        or (edit.schedule_given and schedule_at != post.schedule_at)
    )
    # The schedule is checked when it is set (as on create) or when the post leaves draft; a
    # content-only edit of a post whose time is just now passing is still allowed.
    check_schedule = edit.schedule_given or (was_draft and not draft)
    generation = transitions.next_generation(targets) if reschedule else _generation(targets)
    planned = plan_targets(
        db=svc.db,
        vault=svc.vault,
        settings=svc.settings,
        user_id=post.user_id,
        post_id=post.id,
        request=MultipostInput(
            content=content,
            targets=inputs,
            media_ids=post.media_ids,
            schedule_at=schedule_at,
            draft=draft,
        ),
        now=now,
        generation=generation,
        check_schedule=check_schedule,
    )
    version = max((t.version for t in targets), default=0) + 1
    old = {t.id: t for t in targets}
    new_targets = []
    for target in planned:
        previous = old.get(target.id)
        keep = (
            {} if reschedule or previous is None else {"next_attempt_at": previous.next_attempt_at}
        )
        created = previous.created_at if previous is not None else now
        new_targets.append(
            target.model_copy(update={"version": version, "created_at": created, **keep})
        )
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


def _generation(targets: list[TargetRecord]) -> int:
    return max((t.generation for t in targets), default=0)


def wait_for_settled(
    db: firestore.Client, *, post_id: str, timeout_s: float, poll_s: float
) -> tuple[PostRecord, list[TargetRecord]]:
    """Re-read the post every ``poll_s`` seconds (sleeping between reads) until it is settled
    (published, partly published or failed, or at rest: draft, scheduled, cancelled) or
    ``timeout_s`` seconds have passed; returns what is known then."""
    deadline = time.monotonic() + timeout_s
    while True:
        post, targets = posts_store.get_post(db, post_id)
        # The post's own status, not its targets': it is rolled up just after they finish.
        settled = post.status in AT_REST or post.status in FINISHED
        remaining = deadline - time.monotonic()
        if settled or remaining <= 0:
            return post, targets
        time.sleep(min(poll_s, remaining))


def refused_conflict(refused: TransitionRefused, body: dict[str, object]) -> Conflict:
    """The 409 for a refused transition, with the current state as ``current`` in the body."""
    return Conflict(refused.reason, extra={"current": body})
