"""Creating a post for several networks at once (SPEC §4.2): validate, store, enqueue."""

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
from sharecast.domain.validation import TargetSpec, validate_schedule, validate_targets
from sharecast.errors import FieldProblem, ValidationFailed
from sharecast.events import publish_events
from sharecast.logs import fields
from sharecast.store import connections as connections_store
from sharecast.store import media as media_store
from sharecast.store import posts as posts_store
from sharecast.tasks import PublishTask, enqueue_publish
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
    sweeper enqueues it later (SPEC §6); the post is never lost.
    """
    specs = [
        TargetSpec(
            t.platform, t.account_id, t.content if t.content is not None else request.content
        )
        for t in request.targets
    ]
    platforms, problems = validate_targets(specs, enabled=settings.publish_platforms)
    problems += validate_schedule(
        request.schedule_at, now=now, max_ahead_days=settings.max_schedule_ahead_days
    )
    media, media_problems = resolve_media(db, user_id=user_id, media_ids=request.media_ids)
    problems += media_problems
    if not media_problems and len(platforms) == len(request.targets):
        for index, (target, platform) in enumerate(zip(request.targets, platforms, strict=True)):
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

    post_id = uuid.uuid4().hex
    status = (
        PostStatus.DRAFT
        if request.draft
        else PostStatus.SCHEDULED
        if request.schedule_at
        else PostStatus.PUBLISHING
    )
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
                max_attempts=settings.max_attempts,
                next_attempt_at=None if request.draft else request.schedule_at or now,
                created_at=now,
                updated_at=now,
            )
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
        created_at=now,
        updated_at=now,
    )
    if media:
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


def enqueue_targets(
    *,
    db: firestore.Client,
    tasks: tasks_v2.CloudTasksClient,
    settings: Settings,
    post: PostRecord,
    targets: list[TargetRecord],
    now: datetime,
) -> bool:
    """Create the first task of every target; clear ``enqueue_pending`` when all exist.

    Idempotent (named tasks). Returns ``False`` and leaves the post marked when Cloud Tasks
    fails, so the sweeper retries.
    """
    try:
        for target in targets:
            enqueue_publish(
                tasks,
                settings,
                PublishTask(post_id=post.id, target_id=target.id, attempt=target.attempts + 1),
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
