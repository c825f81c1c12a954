"""Operations routes (docs/api.md#accounts-realtime-and-operations): dead letters and the attempt
log.

`monitor` and `admin` read; only `admin` retries a dead letter. Roles are declared with
:func:`sharecast.api.routes.route` (`MONITORS`, `ADMINS`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from sharecast.api.context import context
from sharecast.api.posts import change_response, run_transition
from sharecast.api.routes import ADMINS, MONITORS, route
from sharecast.api.schemas import (
    AttemptListOut,
    AttemptOut,
    AttemptQuery,
    DeadLetterListOut,
    DeadLetterOut,
    PageQuery,
    PostOut,
    TargetErrorOut,
    TargetOut,
)
from sharecast.domain.models import AttemptRecord, TargetRecord
from sharecast.errors import NotFound
from sharecast.posts.edit import retry_target
from sharecast.store.listing import list_attempts, list_dead_letters
from sharecast.timeutil import utcnow

bp = Blueprint("admin", __name__)

#: Separates the post id from the target id in a `targetPath`.
PATH_SEPARATOR = ":"


def target_path(target: TargetRecord) -> str:
    """The URL-safe name of a target in admin routes: `{postId}:{targetId}`."""
    return f"{target.post_id}{PATH_SEPARATOR}{target.id}"


def attempt_out(record: AttemptRecord) -> AttemptOut:
    """The API form of one attempt-log row."""
    return AttemptOut(
        id=record.id,
        postId=record.post_id,
        targetId=record.target_id,
        userId=record.user_id,
        platform=record.platform,
        attempt=record.attempt,
        outcome=record.outcome,
        error=TargetErrorOut.model_validate(record.error.model_dump()) if record.error else None,
        externalId=record.external_id,
        startedAt=record.started_at,
        finishedAt=record.finished_at,
        durationMs=record.duration_ms,
    )


@route(
    bp,
    "GET",
    "/admin/dead-letters",
    summary="Targets that finally failed, most recent first",
    roles=MONITORS,
    rate="read",
    query=PageQuery,
    responses={200: DeadLetterListOut},
)
def dead_letters(query: PageQuery) -> DeadLetterListOut:
    """Every user's FAILED targets (monitor, admin); `nextCursor` is null on the last page."""
    page = list_dead_letters(context().db, limit=query.limit, cursor=query.cursor)
    return DeadLetterListOut(
        items=[
            DeadLetterOut(
                targetPath=target_path(t),
                userId=t.user_id,
                target=TargetOut.model_validate(t.snapshot()),
            )
            for t in page.items
        ],
        nextCursor=page.next_cursor,
    )


@route(
    bp,
    "POST",
    "/admin/dead-letters/{target_path}/retry",
    summary="Retry a dead letter of any user with a new attempt budget",
    roles=ADMINS,
    rate="write",
    errors={409},
    responses={202: PostOut},
)
def retry_dead_letter(target_path: str) -> tuple[dict[str, Any], int]:
    """`target_path` is `{postId}:{targetId}` (admin): 202, 404 for an unknown target,
    409 with the current state when it is not FAILED."""
    post_id, sep, target_id = target_path.partition(PATH_SEPARATOR)
    if not sep or not post_id or not target_id:
        raise NotFound("target not found; targetPath is {postId}:{targetId}")
    ctx = context()
    change = run_transition(
        lambda: retry_target(ctx, post_id=post_id, target_id=target_id, user_id=None, now=utcnow())
    )
    return change_response(change, 202)


@route(
    bp,
    "GET",
    "/admin/attempts",
    summary="The attempt log, newest first",
    roles=MONITORS,
    rate="read",
    query=AttemptQuery,
    responses={200: AttemptListOut},
)
def attempts(query: AttemptQuery) -> AttemptListOut:
    """By `postId`, `targetId` (with its post), `outcome` (monitor, admin)."""
    page = list_attempts(
        context().db,
        post_id=query.postId,
        target_id=query.targetId,
        outcome=query.outcome.value if query.outcome else None,
        limit=query.limit,
        cursor=query.cursor,
    )
    return AttemptListOut(items=[attempt_out(r) for r in page.items], nextCursor=page.next_cursor)
