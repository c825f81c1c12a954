"""Validating a post request and building its target records (docs/api.md#posts).

Used by create and by ``PATCH /posts/{id}``, so both validate exactly alike: every target is
checked (platform, text, media, schedule, connection) and every problem is reported at once,
before anything is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from google.cloud import firestore

from sharecast.app import AppContext
from sharecast.domain.media import MediaStatus
from sharecast.domain.models import ConnectionRecord, TargetMedia, TargetRecord
from sharecast.domain.rules import reported_each, validate_target_media
from sharecast.domain.statuses import Platform
from sharecast.domain.validation import TargetSpec, validate_schedule, validate_targets
from sharecast.errors import FieldProblem, ValidationFailed
from sharecast.store import connections as connections_store
from sharecast.store import media as media_store


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
class PostInput:
    """A post request whose field types the API model already checked: the text, the targets,
    attached media ids, when to publish (UTC; ``None``: now) and whether it is a draft.
    ``origin`` names who asked when it was not the user directly (a video share)."""

    content: str
    targets: list[TargetInput]
    media_ids: list[str]
    schedule_at: datetime | None
    draft: bool
    origin: dict[str, str] | None = None
    allow_late: bool = False


def plan_targets(
    ctx: AppContext,
    *,
    user_id: str,
    post_id: str,
    request: PostInput,
    now: datetime,
    generation: int = 0,
    check_schedule: bool = True,
) -> list[TargetRecord]:
    """Validate every target of ``request`` and build its records (not stored).

    Targets are ``PENDING``, due at ``schedule_at`` (or now; never for drafts), in
    ``generation``, with the platform's ``max_attempts`` (``Settings.retry_policy``).
    ``check_schedule`` False skips the schedule rules (an edit that keeps a schedule now
    passing). Raises :class:`ValidationFailed` (422) listing every problem found.
    """
    media, problems = resolve_media(ctx.db, user_id=user_id, media_ids=request.media_ids)
    specs = _specs(request, media)
    platforms, target_problems = validate_targets(
        specs,
        enabled=ctx.settings.publish_platforms,
        hashtag_limits={Platform.INSTAGRAM: ctx.settings.instagram_hashtag_limit},
    )
    if check_schedule:
        target_problems += validate_schedule(
            request.schedule_at, now=now, max_ahead_days=ctx.settings.max_schedule_ahead_days
        )
    if not problems and len(platforms) == len(request.targets):
        target_problems += _media_problems(request, platforms, media)
    problems = target_problems + problems
    connections: list[ConnectionRecord] = []
    if not problems:
        connections, problems = _connections(ctx, user_id, request, platforms, now)
    if problems:
        raise ValidationFailed("the request has invalid targets", errors=problems)
    return [
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
            max_attempts=ctx.settings.retry_policy(platform.value).max_attempts,
            next_attempt_at=None if request.draft else request.schedule_at or now,
            generation=generation,
            origin=request.origin,
            created_at=now,
            updated_at=now,
        )
        for index, (target, platform, conn) in enumerate(
            zip(request.targets, platforms, connections, strict=True)
        )
    ]


def _specs(request: PostInput, media: list[TargetMedia]) -> list[TargetSpec]:
    return [
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


def _media_problems(
    request: PostInput, platforms: list[Platform], media: list[TargetMedia]
) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    for index, (target, platform) in enumerate(zip(request.targets, platforms, strict=True)):
        if reported_each(platform):  # checked by validate_targets from the media kinds
            continue
        problems += validate_target_media(platform, target.media_type, media, index=index)
    return problems


def _connections(
    ctx: AppContext,
    user_id: str,
    request: PostInput,
    platforms: list[Platform],
    now: datetime,
) -> tuple[list[ConnectionRecord], list[FieldProblem]]:
    """The connection of every target (looked up concurrently: one round trip of wall time),
    and a ``NOT_CONNECTED`` problem per missing one."""

    def lookup(pair: tuple[TargetInput, Platform]) -> ConnectionRecord | None:
        target, platform = pair
        conn = connections_store.find_connection(
            ctx.db, user_id=user_id, platform=platform, account_id=target.account_id
        )
        if conn is None and ctx.settings.sandbox_connections and target.account_id is None:
            conn = connections_store.ensure_sandbox_connection(
                ctx.db, vault=ctx.vault, user_id=user_id, platform=platform, now=now
            )
        return conn

    pairs = list(zip(request.targets, platforms, strict=True))
    found = list(ctx.io.map(lookup, pairs)) if len(pairs) > 1 else [lookup(p) for p in pairs]
    connections: list[ConnectionRecord] = []
    problems: list[FieldProblem] = []
    for index, conn in enumerate(found):
        platform = pairs[index][1]
        if conn is None:
            problems.append(
                FieldProblem(
                    f"platforms[{index}].accountId",
                    "NOT_CONNECTED",
                    f"no active {platform.value} connection for this account",
                    index,
                )
            )
        else:
            connections.append(conn)
    return connections, problems


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
