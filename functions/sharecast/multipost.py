"""Creating a post for several networks at once (docs/api.md#posts): validate, store, enqueue."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import google.cloud.pubsub_v1 as pubsub_v1
from google.api_core.exceptions import GoogleAPICallError, RetryError
from google.cloud import firestore, tasks_v2

from sharecast.config import Settings
from sharecast.domain.events import Event
from sharecast.domain.media import MediaStatus
from sharecast.domain.media_rules import validate_target_media
from sharecast.domain.models import ConnectionRecord, PostRecord, TargetMedia, TargetRecord
from sharecast.domain.statuses import EventType, Platform, PostStatus
from sharecast.domain.validation import (
    TargetSpec,
    has_network_rules,
    validate_schedule,
    validate_targets,
)
from sharecast.errors import FieldProblem, ValidationFailed
from sharecast.events import publish_events
from sharecast.logs import fields
from sharecast.store import connections as connections_store
from sharecast.store import media as media_store
from sharecast.store import posts as posts_store
from sharecast.tasks import PublishTask, enqueue_publish, within_horizon
from sharecast.vault import TokenVault

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TargetInput:
    """One requested target: platform name as given, optional account and overrides."""

    platform: str
    account_id: str | None = None
    media_type: str | None = None
    content: str | None = None
    title: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class MultipostInput:
    """A validated-shape multipost request (field types already checked by the API model)."""

    content: str
    targets: list[TargetInput]
    media_ids: list[str]
    schedule_at: datetime | None
    draft: bool
    origin: dict[str, str] | None = None
    allow_late: bool = False


def create_multipost(
    *,
    db: firestore.Client,
    tasks: tasks_v2.CloudTasksClient,
    pubsub: pubsub_v1.PublisherClient,
    vault: TokenVault,
    settings: Settings,
    user_id: str,
    request: MultipostInput,
    now: datetime,
) -> tuple[PostRecord, list[TargetRecord]]:
    """Validate every target, store the post atomically, then enqueue one task per target.

    Raises :class:`ValidationFailed` (422) listing every problem before anything is stored.
    If Cloud Tasks is unavailable the post is still stored with ``enqueue_pending`` set, and the
    sweeper enqueues it later (docs/semantics.md#the-sweeper); the post is never lost.
    """
    post_id = uuid.uuid4().hex
    targets = plan_targets(
        db=db,
        vault=vault,
        settings=settings,
        user_id=user_id,
        post_id=post_id,
        request=request,
        now=now,
    )
    status = (
        PostStatus.DRAFT
        if request.draft
        else PostStatus.SCHEDULED
        if request.schedule_at
        else PostStatus.PUBLISHING
    )
    post = PostRecord(
        id=post_id,
        user_id=user_id,
        content=request.content,
        media_ids=request.media_ids,
        schedule_at=request.schedule_at,
        status=status,
        target_ids=[t.id for t in targets],
        enqueue_pending=not request.draft,
        origin=request.origin,
        allow_late=request.allow_late,
        created_at=now,
        updated_at=now,
    )
    if request.media_ids:
        media_store.attach_to_post(db, request.media_ids, post_id)
    events = [Event.new(user_id=user_id, type=EventType.POST_STATUS, data=post.snapshot())]
    events += [
        Event.new(user_id=user_id, type=EventType.TARGET_STATUS, data=t.snapshot()) for t in targets
    ]
    posts_store.create_post(
        db,
        post=post,
        targets=targets,
        events=events,
        event_ttl=timedelta(days=settings.event_ttl_days),
    )
    publish_events(publisher=pubsub, db=db, topic_path=settings.topic_path, events=events)
    if not request.draft and enqueue_targets(
        db=db, tasks=tasks, settings=settings, post=post, targets=targets, now=now
    ):
        post = post.model_copy(update={"enqueue_pending": False})
    return post, targets


def plan_targets(
    *,
    db: firestore.Client,
    vault: TokenVault,
    settings: Settings,
    user_id: str,
    post_id: str,
    request: MultipostInput,
    now: datetime,
    generation: int = 0,
    check_schedule: bool = True,
) -> list[TargetRecord]:
    """Validate every target of ``request`` and build its records (not stored).

    Used by create and by ``PATCH /posts/{id}`` so both validate exactly alike. Targets are
    ``PENDING``, due at ``schedule_at`` (or now; never for drafts), in ``generation``, with the
    platform's ``max_attempts`` (``Settings.retry_policy``). ``check_schedule`` False skips the
    schedule rules (an edit that keeps a schedule now passing). Raises
    :class:`ValidationFailed` (422) listing every problem found.
    """
    media, media_problems = resolve_media(db, user_id=user_id, media_ids=request.media_ids)
    specs = [
        TargetSpec(
            t.platform,
            t.account_id,
            t.content if t.content is not None else request.content,
            media_type=t.media_type,
            title=t.title,
            description=t.description,
            media_kinds=tuple(m.kind for m in media),
        )
        for t in request.targets
    ]
    platforms, problems = validate_targets(
        specs,
        enabled=settings.publish_platforms,
        hashtag_limits={Platform.INSTAGRAM: settings.instagram_hashtag_limit},
    )
    if check_schedule:
        problems += validate_schedule(
            request.schedule_at, now=now, max_ahead_days=settings.max_schedule_ahead_days
        )
    problems += media_problems
    if not media_problems and len(platforms) == len(request.targets):
        for index, (target, platform) in enumerate(zip(request.targets, platforms, strict=True)):
            if has_network_rules(platform):  # Instagram, Threads, LinkedIn, YouTube
                continue
            problems += validate_target_media(platform, target.media_type, media, index=index)
    connections = []
    if not problems:
        for index, (target, platform) in enumerate(zip(request.targets, platforms, strict=True)):
            conn = _resolve_connection(db, vault, settings, user_id, platform, target, now)
            if conn is None:
                problems.append(
                    FieldProblem(
                        f"platforms[{index}].accountId",
                        "NOT_CONNECTED",
                        f"no active {platform.value} connection for this account",
                        index,
                    )
                )
            connections.append(conn)
    if problems:
        raise ValidationFailed("the request has invalid targets", errors=problems)
    targets: list[TargetRecord] = []
    for index, (target, platform, conn) in enumerate(
        zip(request.targets, platforms, connections, strict=True)
    ):
        assert conn is not None
        targets.append(
            TargetRecord(
                id=f"{platform.value}-{index}",
                post_id=post_id,
                user_id=user_id,
                platform=platform,
                account_id=conn.account_id,
                connection_id=conn.id,
                media_type=target.media_type,
                content=target.content,
                title=target.title,
                description=target.description,
                text=specs[index].text,
                media=list(media),
                max_attempts=settings.retry_policy(platform.value).max_attempts,
                next_attempt_at=None if request.draft else request.schedule_at or now,
                generation=generation,
                created_at=now,
                updated_at=now,
            )
        )
    return targets


def enqueue_targets(
    *,
    db: firestore.Client,
    tasks: tasks_v2.CloudTasksClient,
    settings: Settings,
    post: PostRecord,
    targets: list[TargetRecord],
    now: datetime,
) -> bool:
    """Create the next task of every target (in its generation); clear ``enqueue_pending``
    when all exist. A target due beyond Cloud Tasks' horizon (``tasks.SCHEDULE_HORIZON``)
    gets its task later, from the sweeper, when it comes within it.

    Idempotent (named tasks). Returns ``False`` and leaves the post marked when Cloud Tasks
    fails, so the sweeper retries.
    """
    try:
        for target in targets:
            if not within_horizon(target.next_attempt_at, now=now):
                continue
            enqueue_publish(
                tasks,
                settings,
                PublishTask.next_for(target),
                schedule_at=target.next_attempt_at,
            )
    except (GoogleAPICallError, RetryError):
        log.warning(
            "enqueue failed; post left for the sweeper",
            exc_info=True,
            extra=fields(post_id=post.id),
        )
        return False
    posts_store.mark_enqueued(db, post.id, now)
    return True


def resolve_media(
    db: firestore.Client, *, user_id: str, media_ids: list[str]
) -> tuple[list[TargetMedia], list[FieldProblem]]:
    """The caller's ``UPLOADED`` media in request order, copied for the targets, and a problem
    per unusable id: unknown, someone else's or deleted (``MEDIA_NOT_FOUND``, the same answer
    for all three so nothing leaks), not confirmed (``MEDIA_NOT_READY``), or repeated."""
    if not media_ids:
        return [], []
    records = media_store.get_many(db, media_ids)
    media: list[TargetMedia] = []
    problems: list[FieldProblem] = []
    seen: set[str] = set()
    for index, media_id in enumerate(media_ids):
        where = f"media[{index}].mediaId"
        record = records.get(media_id)
        if media_id in seen:
            problems.append(FieldProblem(where, "DUPLICATE_MEDIA", "the same media twice"))
        elif record is None or record.user_id != user_id or record.status is MediaStatus.DELETED:
            problems.append(FieldProblem(where, "MEDIA_NOT_FOUND", "media not found"))
        elif record.status is not MediaStatus.UPLOADED:
            problems.append(
                FieldProblem(
                    where,
                    "MEDIA_NOT_READY",
                    f"media is {record.status.value}; upload it and confirm it first",
                )
            )
        else:
            media.append(record.target_media())
        seen.add(media_id)
    return media, problems


def _resolve_connection(
    db: firestore.Client,
    vault: TokenVault,
    settings: Settings,
    user_id: str,
    platform: Platform,
    target: TargetInput,
    now: datetime,
) -> ConnectionRecord | None:
    conn = connections_store.find_connection(
        db, user_id=user_id, platform=platform, account_id=target.account_id
    )
    if conn is None and settings.sandbox_connections and target.account_id is None:
        conn = connections_store.ensure_sandbox_connection(
            db, vault=vault, user_id=user_id, platform=platform, now=now
        )
    return conn
