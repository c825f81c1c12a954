"""Sharing a video (docs/api.md#video-shares): track a share, post it through the publisher, retry,
report.

``track_only`` records a success at once and hands back the network's share-intent URL.
``server_post`` records ``pending`` and creates an internal post (one target, the composed
message) through :func:`sharecast.posts.create.create_post`, so it is published by the same
queue, publisher, retries and exactly-once machinery as every post; each recorded attempt is
applied back to the record by an outcome consumer (:mod:`sharecast.shares.outcome`). Each
platform of a request is independent: one that cannot be posted to gets an error result, never
a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sharecast.app import AppContext
from sharecast.config import Settings
from sharecast.domain.shares import (
    VIDEO_ID,
    ShareMode,
    ShareRecord,
    ShareStatus,
    fail_round,
    link_post,
    new_record,
    share_record_id,
    start_round,
    track,
)
from sharecast.domain.statuses import Platform, normalise_platform
from sharecast.errors import BadRequest, Conflict, FieldProblem, NotFound, ValidationFailed
from sharecast.logs import fields
from sharecast.posts.create import create_post
from sharecast.posts.plan import PostInput, TargetInput
from sharecast.shares.compose import compose_message, hashtags
from sharecast.shares.intents import intent_url, watch_url
from sharecast.shares.youtube import fetch_video_info
from sharecast.store import shares as shares_store
from sharecast.store.shares import Decision, ShareChange

log = logging.getLogger(__name__)

#: A ``pending`` server post with no queued post after this long was interrupted between
#: recording and queueing (a crash): a new request may start it again without ``force``.
STUCK_AFTER_S = 300


@dataclass(frozen=True)
class ShareError:
    """Why one platform of a request could not be shared: a stable ``code`` and a sentence."""

    code: str
    message: str


@dataclass(frozen=True)
class ShareResult:
    """The outcome for one platform: the record's ``status`` (``None`` when no record was
    touched because of ``error``), ``already_shared`` when an earlier success was left alone,
    and the share-intent URL where the platform has one."""

    platform: Platform
    status: ShareStatus | None
    already_shared: bool
    record_id: str | None
    attempt_count: int = 0
    intent_url: str | None = None
    error: ShareError | None = None


def allowed_platforms(settings: Settings) -> list[Platform]:
    """The share allowlist (``SHARE_PLATFORMS``), canonical and deduplicated, in order.
    Unknown names in the setting are ignored with a warning."""
    out: list[Platform] = []
    for name in settings.share_platforms:
        platform = normalise_platform(name)
        if platform is None:
            log.warning("unknown platform in SHARE_PLATFORMS", extra=fields(name=name))
        elif platform not in out:
            out.append(platform)
    return out


def resolve_platforms(names: Sequence[str] | None, settings: Settings) -> list[Platform]:
    """Canonical platforms of a request (case and aliases such as ``twitter`` normalised,
    duplicates merged); ``None`` means every allowlisted platform.

    Raises :class:`BadRequest` (400) listing every name that is unknown or not allowlisted,
    one ``errors[]`` entry each, plus ``unknown: [names]``.
    """
    allowed = allowed_platforms(settings)
    if names is None:
        return allowed
    out: list[Platform] = []
    problems: list[FieldProblem] = []
    for index, name in enumerate(names):
        platform = normalise_platform(name)
        if platform is None or platform not in allowed:
            problems.append(
                FieldProblem(
                    f"platforms[{index}]",
                    "UNKNOWN_PLATFORM",
                    f"{name!r} is not a platform videos can be shared to; allowed: "
                    + ", ".join(p.value for p in allowed),
                    index,
                )
            )
        elif platform not in out:
            out.append(platform)
    if problems:
        unknown = [names[p.target] for p in problems if p.target is not None]
        raise BadRequest(
            f"unknown platforms: {', '.join(unknown)}",
            errors=problems,
            extra={"unknown": unknown},
        )
    return out


def check_video_id(video_id: str) -> None:
    """Raises :class:`BadRequest` unless ``video_id`` is 1-64 of ``[A-Za-z0-9_-]``."""
    if not VIDEO_ID.match(video_id):
        raise BadRequest("videoId must be 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'")


def server_platforms(ctx: AppContext) -> set[Platform]:
    """Platforms this deployment can post to: a connector exists and publishing is enabled."""
    enabled = {normalise_platform(p) for p in ctx.settings.publish_platforms}
    return {p for p in ctx.connectors if p in enabled}


def _change(ctx: AppContext, record_id: str, decide: Decision, actor: str) -> ShareChange:
    change = shares_store.change_share(
        ctx.db, record_id=record_id, decide=decide, actor=actor, outbox=ctx.outbox
    )
    ctx.outbox.flush(change.events)
    return change


def _stuck(record: ShareRecord, now: datetime) -> bool:
    return (
        record.status is ShareStatus.PENDING
        and record.post_id is None
        and now - record.updated_at > timedelta(seconds=STUCK_AFTER_S)
    )


def share_video(
    ctx: AppContext,
    *,
    user_id: str,
    video_id: str,
    platforms: Sequence[Platform],
    mode: ShareMode,
    force: bool,
    message: str | None,
    tags: Sequence[str],
    now: datetime,
) -> list[ShareResult]:
    """Share ``video_id`` to each of ``platforms`` (already resolved) for ``user_id``.

    Idempotent per (video, platform, user): an existing success is reported
    ``already_shared`` and left alone unless ``force``; a server post still in flight is
    reported ``pending`` and not started twice. Returns one result per platform, in order.
    """
    url = watch_url(video_id)
    if mode is ShareMode.TRACK_ONLY:
        return _each(
            platforms,
            lambda p: _track(
                ctx,
                user_id=user_id,
                video_id=video_id,
                platform=p,
                force=force,
                url=url,
                message=message,
                now=now,
            ),
        )
    postable = server_platforms(ctx)
    video = None
    if any(p in postable for p in platforms):
        video = fetch_video_info(ctx.http, ctx.settings, video_id)
    tag_list = hashtags(tags, video.tags if video else ())

    def one(platform: Platform) -> ShareResult:
        if platform not in postable:
            return ShareResult(
                platform=platform,
                status=None,
                already_shared=False,
                record_id=None,
                intent_url=intent_url(platform, url=url, text=message),
                error=ShareError(
                    "SERVER_POST_UNSUPPORTED",
                    f"{platform.value} cannot be posted to by the server on this "
                    "deployment; use track_only and its share link",
                ),
            )
        text = compose_message(platform, url=url, message=message, video=video, tags=tag_list)
        return _server_post(
            ctx,
            user_id=user_id,
            video_id=video_id,
            platform=platform,
            force=force,
            text=text,
            retry=False,
            now=now,
        )

    return _each(platforms, one)


def _each(
    platforms: Sequence[Platform], run: Callable[[Platform], ShareResult]
) -> list[ShareResult]:
    """``run`` for every platform concurrently (each touches only its own record and post;
    the Firestore and Pub/Sub clients are thread-safe); results in the platforms' order."""
    if len(platforms) <= 1:
        return [run(p) for p in platforms]
    with ThreadPoolExecutor(max_workers=min(len(platforms), 8)) as pool:
        return list(pool.map(run, platforms))


def _track(
    ctx: AppContext,
    *,
    user_id: str,
    video_id: str,
    platform: Platform,
    force: bool,
    url: str,
    message: str | None,
    now: datetime,
) -> ShareResult:
    record_id = share_record_id(video_id, platform, user_id)

    def decide(current: ShareRecord | None) -> tuple[ShareRecord | None, str, str]:
        if current is not None and not force and current.status is not ShareStatus.FAILED:
            return None, "", "already" if current.status is ShareStatus.SUCCESS else "pending"
        base = current or new_record(
            video_id=video_id,
            platform=platform,
            user_id=user_id,
            mode=ShareMode.TRACK_ONLY,
            now=now,
        )
        return track(base, now=now), "force" if current is not None else "share", "tracked"

    change = _change(ctx, record_id, decide, user_id)
    assert change.record is not None
    return ShareResult(
        platform=platform,
        status=change.record.status,
        already_shared=change.detail == "already",
        record_id=record_id,
        attempt_count=change.record.attempt_count,
        intent_url=intent_url(platform, url=url, text=message),
    )


def _server_post(
    ctx: AppContext,
    *,
    user_id: str,
    video_id: str,
    platform: Platform,
    force: bool,
    text: str | None,
    retry: bool,
    now: datetime,
) -> ShareResult:
    """Start a publishing round for one record: record ``pending``, then queue the post."""
    record_id = share_record_id(video_id, platform, user_id)
    new = new_record(
        video_id=video_id, platform=platform, user_id=user_id, mode=ShareMode.SERVER_POST, now=now
    )
    decide = _round_decision(new, force=force, text=text, retry=retry, now=now)
    change = _change(ctx, record_id, decide, user_id)
    if change.detail == "missing":
        raise NotFound(f"video {video_id} was never shared to {platform.value}")
    if change.detail == "not_failed":
        status = change.record.status.value if change.record else None
        raise Conflict(
            f"the last share to {platform.value} did not fail (status {status}); nothing to retry",
            extra={"shareStatus": status},
        )
    record = change.record
    assert record is not None
    if change.detail != "started":
        return ShareResult(
            platform=platform,
            status=record.status,
            already_shared=change.detail == "already",
            record_id=record_id,
            attempt_count=record.attempt_count,
        )
    record = _queue_round(ctx, record=record, now=now)
    error = None
    if record.status is ShareStatus.FAILED:
        error = ShareError(record.error_code or "FAILED", record.error_message or "")
    return ShareResult(
        platform=platform,
        status=record.status,
        already_shared=False,
        record_id=record_id,
        attempt_count=record.attempt_count,
        error=error,
    )


def _round_decision(
    new: ShareRecord, *, force: bool, text: str | None, retry: bool, now: datetime
) -> Decision:
    """Whether a request starts a new round on a record (``new`` when there is none yet): the
    detail is ``started``, or why not (``missing``, ``not_failed``, ``already``,
    ``in_flight``)."""

    def decide(current: ShareRecord | None) -> tuple[ShareRecord | None, str, str]:
        if retry:
            if current is None:
                return None, "", "missing"
            if current.mode is not ShareMode.SERVER_POST or current.status is not (
                ShareStatus.FAILED
            ):
                return None, "", "not_failed"
        elif current is not None and not force:
            if current.status is ShareStatus.SUCCESS:
                return None, "", "already"
            if current.status is ShareStatus.PENDING and not _stuck(current, now):
                return None, "", "in_flight"
        base = current or new
        body = text if text is not None else base.text
        action = "retry" if retry else "force" if current is not None and force else "share"
        return start_round(base, text=body or "", now=now), action, "started"

    return decide


def _queue_round(ctx: AppContext, *, record: ShareRecord, now: datetime) -> ShareRecord:
    """Create the round's internal post (queued at once) and link it; a post that cannot be
    created (no connection, text refused) fails the round with the reason."""
    round_id = record.round_id
    assert round_id is not None
    try:
        post, targets = create_post(
            ctx,
            user_id=record.user_id,
            request=PostInput(
                content=record.text or "",
                targets=[TargetInput(platform=record.platform.value)],
                media_ids=[],
                schedule_at=None,
                draft=False,
                origin={"kind": "share", "record_id": record.id, "round_id": round_id},
            ),
            now=now,
        )
    except ValidationFailed as exc:
        problem = exc.errors[0] if exc.errors else None
        code = problem.code if problem else exc.code
        message = problem.message if problem else exc.detail

        def failed(current: ShareRecord | None) -> tuple[ShareRecord | None, str, str]:
            if current is None or current.round_id != round_id:
                return None, "", "moved on"
            return fail_round(current, code=code, message=message, now=now), "queue", "failed"

        change = _change(ctx, record.id, failed, record.user_id)
        return change.record or record

    target = targets[0]

    def linked(current: ShareRecord | None) -> tuple[ShareRecord | None, str, str]:
        if current is None or current.round_id != round_id or current.post_id is not None:
            return None, "", "already linked"
        return link_post(current, post_id=post.id, target_id=target.id, now=now), "queue", "ok"

    change = _change(ctx, record.id, linked, record.user_id)
    return change.record or record


def retry_share(
    ctx: AppContext, *, user_id: str, video_id: str, platform: Platform, now: datetime
) -> ShareResult:
    """Publish a failed server post again (a new round with the stored message).

    Raises :class:`NotFound` when there is no such share, :class:`Conflict` (409) when its last
    attempt did not fail (success, pending, or a ``track_only`` share) or the platform can no
    longer be posted to.
    """
    if platform not in server_platforms(ctx):
        raise Conflict(f"{platform.value} cannot be posted to by the server on this deployment")
    return _server_post(
        ctx,
        user_id=user_id,
        video_id=video_id,
        platform=platform,
        force=False,
        text=None,
        retry=True,
        now=now,
    )


def share_status(
    ctx: AppContext, *, user_id: str, video_id: str
) -> list[tuple[Platform, ShareRecord | None]]:
    """The caller's record (or ``None``) for every allowlisted platform, in allowlist order."""
    platforms = allowed_platforms(ctx.settings)
    ids = {p: share_record_id(video_id, p, user_id) for p in platforms}
    records = shares_store.get_shares(ctx.db, list(ids.values()))
    return [(p, records.get(ids[p])) for p in platforms]
