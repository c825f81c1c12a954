"""Operations routes (SPEC §4.4): dead letters and the attempt log.

``monitor`` and ``admin`` read; only ``admin`` retries a dead letter. Roles are checked by
:func:`sharecast.api.context.require_role`.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from sharecast import lifecycle
from sharecast.api.context import deps, query_args, require_role
from sharecast.api.posts import change_response, run_transition, services
from sharecast.api.schemas import (
    AttemptListOut,
    AttemptOut,
    AttemptQuery,
    DeadLetterListOut,
    DeadLetterOut,
    PageQuery,
    TargetErrorOut,
    TargetOut,
)
from sharecast.domain.models import AttemptRecord, TargetRecord
from sharecast.errors import NotFound
from sharecast.store.listing import list_attempts, list_dead_letters
from sharecast.timeutil import isoformat, utcnow

bp = Blueprint("admin", __name__)

#: Roles that may read operations data, and the role that may act on it.
READERS = ("monitor", "admin")
ACTORS = ("admin",)
#: Separates the post id from the target id in a ``targetPath``.
PATH_SEPARATOR = ":"


def target_path(target: TargetRecord) -> str:
    """The URL-safe name of a target in admin routes: ``{postId}:{targetId}``."""
    return f"{target.post_id}{PATH_SEPARATOR}{target.id}"


def attempt_out(record: AttemptRecord) -> AttemptOut:
    """The API form of one attempt-log row."""
    return AttemptOut(
        id=record.id,
        postId=record.post_id,
        targetId=record.target_id,
        userId=record.user_id,
        platform=record.platform.value,
        attempt=record.attempt,
        outcome=record.outcome,
        error=TargetErrorOut.model_validate(record.error.model_dump()) if record.error else None,
        externalId=record.external_id,
        startedAt=isoformat(record.started_at) or "",
        finishedAt=isoformat(record.finished_at) or "",
        durationMs=record.duration_ms,
    )


@bp.get("/admin/dead-letters")
def dead_letters() -> Response:
    """Targets that finally failed, most recent first (monitor, admin)."""
    require_role(*READERS)
    query = query_args(PageQuery)
    page = list_dead_letters(deps().clients.firestore, limit=query.limit, cursor=query.cursor)
    body = DeadLetterListOut(
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
    return jsonify(body.model_dump(mode="json"))


@bp.post("/admin/dead-letters/<path>/retry")
def retry_dead_letter(path: str) -> tuple[Response, int]:
    """Retry a dead letter of any user with a new attempt budget (admin): 202, 404 for an
    unknown target, 409 with the current state when it is not FAILED."""
    require_role(*ACTORS)
    post_id, sep, target_id = path.partition(PATH_SEPARATOR)
    if not sep or not post_id or not target_id:
        raise NotFound("target not found; targetPath is {postId}:{targetId}")
    svc = services()
    change = run_transition(
        lambda: lifecycle.retry_target(
            svc, post_id=post_id, target_id=target_id, user_id=None, now=utcnow()
        )
    )
    return change_response(change, 202)


@bp.get("/admin/attempts")
def attempts() -> Response:
    """The attempt log, newest first, by ``postId``, ``targetId``, ``outcome`` (monitor,
    admin)."""
    require_role(*READERS)
    query = query_args(AttemptQuery)
    page = list_attempts(
        deps().clients.firestore,
        post_id=query.postId,
        target_id=query.targetId,
        outcome=query.outcome.value if query.outcome else None,
        limit=query.limit,
        cursor=query.cursor,
    )
    body = AttemptListOut(items=[attempt_out(r) for r in page.items], nextCursor=page.next_cursor)
    return jsonify(body.model_dump(mode="json"))
