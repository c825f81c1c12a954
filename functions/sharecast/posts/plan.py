"""Validating a post request and building its target records (docs/api.md#posts).

Used by create and by ``PATCH /posts/{id}``, so both validate exactly alike: every target is
checked (platform, text, media, schedule, connection) and every problem is reported at once,
before anything is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from google.cloud import firestore

from sharecast.app import AppContext
from sharecast.domain.media import MediaStatus
from sharecast.domain.models import ConnectionRecord, TargetMedia, TargetRecord
from sharecast.domain.rules import reported_each, validate_target_media
from sharecast.domain.statuses import Platform, normalise_platform
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


@dataclass(frozen=True)
class CheckedPost:
    """What :func:`check_post` found: per target (in request order) the canonical platform
    and its connection (``None`` where unknown or unusable), the text specs, the caller's
    media, and every problem."""

    platforms: list[Platform | None]
    connections: list[ConnectionRecord | None]
    specs: list[TargetSpec]
    media: list[TargetMedia]
    problems: list[FieldProblem]


def check_post(
    ctx: AppContext,
    *,
    user_id: str,
    request: PostInput,
    now: datetime,
    check_schedule: bool = True,
) -> CheckedPost:
    """Check every rule of ``request`` at once (nothing is stored, except the local stack's
    sandbox connections): media, each target's network rules, the schedule, a connection per
    target and, once accounts are resolved, no account twice. ``check_schedule`` False skips
    the schedule rules (an edit that keeps a schedule now passing)."""
    media, problems = resolve_media(ctx.db, user_id=user_id, media_ids=request.media_ids)
    specs = _specs(request, media)
    _, target_problems = validate_targets(
        specs,
        enabled=ctx.settings.publish_platforms,
        hashtag_limits={Platform.INSTAGRAM: ctx.settings.instagram_hashtag_limit},
    )
    platforms = [_usable(t.platform, ctx.settings.publish_platforms) for t in request.targets]
    if check_schedule:
        target_problems += validate_schedule(
            request.schedule_at, now=now, max_ahead_days=ctx.settings.max_schedule_ahead_days
        )
    if not problems:
        target_problems += _media_problems(request, platforms, media)
    connections, missing = _connections(ctx, user_id, request, platforms, now)
    problems = target_problems + problems + missing
    problems += _duplicate_accounts(request, platforms, connections, reported=problems)
    return CheckedPost(platforms, connections, specs, media, problems)


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
    """Validate every target of ``request`` (:func:`check_post`) and build its records (not
    stored).

    Targets are ``PENDING``, due at ``schedule_at`` (or now; never for drafts), in
    ``generation``, with the platform's ``max_attempts`` (``Settings.retry_policy``).
    Raises :class:`ValidationFailed` (422) listing every problem found.
    """
    checked = check_post(
        ctx, user_id=user_id, request=request, now=now, check_schedule=check_schedule
    )
    if checked.problems:
        raise ValidationFailed("the request has invalid targets", errors=checked.problems)
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
            text=checked.specs[index].text,
            media=list(checked.media),
            max_attempts=ctx.settings.retry_policy(platform.value).max_attempts,
            next_attempt_at=None if request.draft else request.schedule_at or now,
            generation=generation,
            origin=request.origin,
            created_at=now,
            updated_at=now,
        )
        for index, (target, platform, conn) in enumerate(
            zip(request.targets, checked.platforms, checked.connections, strict=True)
        )
        if platform is not None and conn is not None
    ]


def _usable(name: str, enabled: Sequence[str]) -> Platform | None:
    """The platform of ``name`` when this deployment publishes to it, else ``None``."""
    platform = normalise_platform(name)
    if platform is None or platform is Platform.WHATSAPP or platform.value not in enabled:
        return None
    return platform


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
            text_field=None if t.content is not None else "content",
        )
        for t in request.targets
    ]


def _media_problems(
    request: PostInput, platforms: list[Platform | None], media: list[TargetMedia]
) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    for index, (target, platform) in enumerate(zip(request.targets, platforms, strict=True)):
        if platform is None or reported_each(platform):  # validate_targets checked these
            continue
        problems += validate_target_media(platform, target.media_type, media, index=index)
    return problems


def _connections(
    ctx: AppContext,
    user_id: str,
    request: PostInput,
    platforms: list[Platform | None],
    now: datetime,
) -> tuple[list[ConnectionRecord | None], list[FieldProblem]]:
    """The connection of every usable target (looked up concurrently: one round trip of wall
    time), and a ``NOT_CONNECTED`` problem per missing one."""

    def lookup(pair: tuple[TargetInput, Platform | None]) -> ConnectionRecord | None:
        target, platform = pair
        if platform is None:
            return None
        conn = connections_store.find_connection(
            ctx.db, user_id=user_id, platform=platform, account_id=target.account_id
        )
        if conn is None and ctx.settings.sandbox_connections and target.account_id is None:
            conn = connections_store.ensure_sandbox_connection(
                ctx.db, vault=ctx.vault, user_id=user_id, platform=platform, now=now
            )
        return conn

    pairs = list(zip(request.targets, platforms, strict=True))
    usable = sum(1 for _, platform in pairs if platform is not None)
    found = list(ctx.io.map(lookup, pairs)) if usable > 1 else [lookup(p) for p in pairs]
    problems: list[FieldProblem] = []
    for index, conn in enumerate(found):
        platform = pairs[index][1]
        if conn is None and platform is not None:
            problems.append(
                FieldProblem(
                    f"platforms[{index}].accountId",
                    "NOT_CONNECTED",
                    f"no active {platform.value} connection for this account",
                    index,
                )
            )
    return found, problems


def _duplicate_accounts(
    request: PostInput,
    platforms: list[Platform | None],
    connections: list[ConnectionRecord | None],
    *,
    reported: list[FieldProblem],
) -> list[FieldProblem]:
    """``DUPLICATE_TARGET`` for a target whose resolved account another target already
    publishes to (a target without ``accountId`` and one naming the default account), naming
    both; pairs the request spelled alike are already reported by ``validate_targets``."""
    already = {p.target for p in reported if p.code == "DUPLICATE_TARGET"}
    first_of: dict[tuple[Platform, str], int] = {}
    problems: list[FieldProblem] = []
    for index, (platform, conn) in enumerate(zip(platforms, connections, strict=True)):
        if platform is None or conn is None:
            continue
        first = first_of.setdefault((platform, conn.account_id), index)
        if first != index and index not in already:
            message = (
                f"platforms[{first}] and platforms[{index}] both publish to the "
                f"{platform.value} account {conn.account_id!r}"
            )
            problems.append(FieldProblem(f"platforms[{index}]", "DUPLICATE_TARGET", message, index))
    return problems


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
