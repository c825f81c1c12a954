"""Routes of video shares (docs/api.md#video-shares).

- `POST /videos/{videoId}/share` → 200 :class:`ShareOut`
- `GET /videos/{videoId}/share-status` → 200 :class:`ShareStatusOut`
- `POST /videos/{videoId}/share/{platform}/retry` → 202 :class:`ShareOut`, 409 otherwise
- `GET /videos/{videoId}/share-audit?limit=` → 200 :class:`ShareAuditOut` (admins: everyone's)
"""

from __future__ import annotations

from flask import Blueprint

from sharecast.api.context import context
from sharecast.api.routes import AUTHORS, route
from sharecast.api.schemas import (
    ShareAuditEntryOut,
    ShareAuditOut,
    ShareAuditQuery,
    ShareErrorOut,
    ShareIn,
    ShareOut,
    ShareResultOut,
    ShareStatusEntryOut,
    ShareStatusOut,
)
from sharecast.auth import Principal
from sharecast.domain.shares import ShareMode
from sharecast.shares import service
from sharecast.shares.service import ShareResult
from sharecast.store import shares as shares_store
from sharecast.timeutil import utcnow

bp = Blueprint("shares", __name__)


def _result(result: ShareResult) -> ShareResultOut:
    return ShareResultOut(
        platform=result.platform.value,
        status=result.status.value if result.status else None,
        alreadyShared=result.already_shared,
        recordId=result.record_id,
        attemptCount=result.attempt_count,
        intentUrl=result.intent_url,
        error=ShareErrorOut(code=result.error.code, message=result.error.message)
        if result.error
        else None,
    )


@route(
    bp,
    "POST",
    "/videos/{video_id}/share",
    summary="Share a video: track it or post it for the caller",
    roles=AUTHORS,
    rate="write",
    idempotent=True,
    body=ShareIn,
    errors={400, 409},
    responses={200: ShareOut},
)
def share(user: Principal, video_id: str, body: ShareIn) -> ShareOut:
    """Track a share (`track_only`) or post it for the caller (`server_post`). With
    `Idempotency-Key` a retry gets the first answer back."""
    service.check_video_id(video_id)
    ctx = context()
    platforms = service.resolve_platforms(body.platforms, ctx.settings)
    results = service.share_video(
        ctx,
        user_id=user.user_id,
        video_id=video_id,
        platforms=platforms,
        mode=ShareMode(body.mode),
        force=body.force,
        message=body.message,
        tags=body.hashtags,
        now=utcnow(),
    )
    return ShareOut(videoId=video_id, results=[_result(r) for r in results])


@route(
    bp,
    "GET",
    "/videos/{video_id}/share-status",
    summary="The caller's share state of a video on every allowlisted platform",
    roles=AUTHORS,
    rate="read",
    errors={400},
    responses={200: ShareStatusOut},
)
def share_status(user: Principal, video_id: str) -> ShareStatusOut:
    """One entry per allowlisted platform (`shared`: a share succeeded)."""
    service.check_video_id(video_id)
    rows = service.share_status(context(), user_id=user.user_id, video_id=video_id)
    entries = [
        ShareStatusEntryOut(
            platform=platform.value,
            shared=record is not None and record.shared_at is not None,
            status=record.status.value if record else None,
            mode=record.mode.value if record else None,
            lastSharedAt=record.shared_at if record else None,
            attemptCount=record.attempt_count if record else 0,
            externalRef=record.external_ref if record else None,
            errorMessage=record.error_message if record else None,
        )
        for platform, record in rows
    ]
    return ShareStatusOut(videoId=video_id, platforms=entries)


@route(
    bp,
    "POST",
    "/videos/{video_id}/share/{platform}/retry",
    summary="Publish a failed server post of a video again",
    roles=AUTHORS,
    rate="write",
    errors={400, 404, 409},
    responses={202: ShareOut},
)
def retry(user: Principal, video_id: str, platform: str) -> tuple[ShareOut, int]:
    """202, or 409 when the last attempt did not fail."""
    service.check_video_id(video_id)
    ctx = context()
    [canonical] = service.resolve_platforms([platform], ctx.settings)
    result = service.retry_share(
        ctx, user_id=user.user_id, video_id=video_id, platform=canonical, now=utcnow()
    )
    return ShareOut(videoId=video_id, results=[_result(result)]), 202


@route(
    bp,
    "GET",
    "/videos/{video_id}/share-audit",
    summary="The audit trail of a video's shares, newest first",
    roles=AUTHORS,
    rate="read",
    query=ShareAuditQuery,
    errors={400},
    responses={200: ShareAuditOut},
)
def share_audit(user: Principal, video_id: str, query: ShareAuditQuery) -> ShareAuditOut:
    """The caller's entries; an admin's: everyone's."""
    service.check_video_id(video_id)
    entries = shares_store.list_audit(
        context().db,
        video_id=video_id,
        user_id=None if user.role == "admin" else user.user_id,
        limit=query.limit,
    )
    return ShareAuditOut(
        videoId=video_id,
        entries=[ShareAuditEntryOut.model_validate(e.model_dump(mode="json")) for e in entries],
    )
