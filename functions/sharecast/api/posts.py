"""Routes of posts (docs/api.md#posts): create (`?wait=N`), read, list, edit, cancel, publish now
and retry a failed target. Someone else's post is always 404; a transition the post's state
does not allow is 409 with the current state in `current`."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from flask import Blueprint

from sharecast.api.context import context
from sharecast.api.front import defer_wait
from sharecast.api.routes import AUTHORS, route
from sharecast.api.schemas import (
    CreateQuery,
    MultipostIn,
    MultipostOut,
    PostListOut,
    PostListQuery,
    PostOut,
    PostPatchFields,
    TargetIn,
    TargetOut,
)
from sharecast.auth import Principal
from sharecast.domain.models import PostRecord, TargetRecord
from sharecast.domain.statuses import PostStatus
from sharecast.domain.user_transitions import TransitionRefused
from sharecast.errors import Conflict, FieldProblem, ValidationFailed
from sharecast.posts import edit as post_edit
from sharecast.posts.create import create_post
from sharecast.posts.plan import PostInput, TargetInput, check_post
from sharecast.posts.read import load_own_post
from sharecast.posts.wait import WaitRequest
from sharecast.store.listing import list_posts
from sharecast.store.post_changes import PostChange
from sharecast.timeutil import isoformat, to_utc, utcnow

bp = Blueprint("posts", __name__)


def post_json(post: PostRecord, targets: list[TargetRecord]) -> dict[str, Any]:
    """The API representation of a post with its targets."""
    return {
        "postId": post.id,
        "status": post.status.value,
        "content": post.content,
        "scheduledAt": isoformat(post.schedule_at),
        "publishedAt": isoformat(post.published_at),
        "createdAt": isoformat(post.created_at),
        "updatedAt": isoformat(post.updated_at),
        "enqueuePending": post.enqueue_pending,
        "allowLate": post.allow_late,
        "version": post.version,
        "targets": [TargetOut.model_validate(t.snapshot()) for t in targets],
    }


def target_inputs(platforms: list[TargetIn]) -> list[TargetInput]:
    """The domain inputs of the `platforms` of a request body."""
    return [
        TargetInput(
            platform=t.platform,
            account_id=t.accountId,
            media_type=t.mediaType,
            content=t.content,
            title=t.title,
            description=t.description,
        )
        for t in platforms
    ]


#: Rule codes that depend on the attached media: not reported when a media reference itself
#: is invalid (the rules would judge the post without it).
MEDIA_RULE_CODES = frozenset(
    {
        "MEDIA_REQUIRED",
        "TOO_MANY_MEDIA",
        "MEDIA_KIND_NOT_ALLOWED",
        "VIDEO_MUST_BE_ALONE",
        "MEDIA_NOT_ACCEPTED",
        "MEDIA_NOT_SUPPORTED",
    }
)


def _partial_targets(items: Any) -> list[TargetInput]:
    """The targets of a salvaged `platforms` list (an unusable item keeps its index)."""
    return [
        TargetInput(
            platform=item.get("platform", ""),
            account_id=item.get("accountId"),
            media_type=item.get("mediaType"),
            content=item.get("content"),
            title=item.get("title"),
            description=item.get("description"),
        )
        if item is not None
        else TargetInput(platform="")
        for item in items or []
    ]


def _check_partial(
    *, user_id: str, request: PostInput, media_ok: bool, check_schedule: bool
) -> list[FieldProblem]:
    checked = check_post(
        context(), user_id=user_id, request=request, now=utcnow(), check_schedule=check_schedule
    )
    return [p for p in checked.problems if media_ok or p.code not in MEDIA_RULE_CODES]


def _create_rules(
    *, user: Principal, path: dict[str, str], data: dict[str, Any], partial: dict[str, Any]
) -> list[FieldProblem]:
    """The rule problems of what parsed of an invalid create body (`api.salvage`), so one
    422 lists them with the type problems; media rules only when every media reference parsed."""
    refs = partial.get("media", [])
    media_ok = ("media" in partial or "media" not in data) and all(
        ref is not None and "mediaId" in ref for ref in refs
    )
    request = PostInput(
        content=partial.get("content") or "",
        targets=_partial_targets(partial.get("platforms")),
        media_ids=[ref["mediaId"] for ref in refs] if media_ok else [],
        schedule_at=partial.get("scheduleAt"),
        draft=bool(partial.get("draft")),
        allow_late=bool(partial.get("allowLate")),
    )
    return _check_partial(
        user_id=user.user_id, request=request, media_ok=media_ok, check_schedule=True
    )


def _edit_rules(
    *, user: Principal, path: dict[str, str], data: dict[str, Any], partial: dict[str, Any]
) -> list[FieldProblem]:
    """An invalid edit's rule problems, checked like the edit itself: the post's media, its
    current targets unless the body replaces them. Someone else's post is 404 whatever the
    body."""
    post, targets = load_own_post(context(), post_id=path["post_id"], user_id=user.user_id)
    if "platforms" in data and "platforms" not in partial:
        return []  # the new targets themselves are invalid: nothing to check them against
    request = PostInput(
        content=partial.get("content") or post.content,
        targets=_partial_targets(partial["platforms"])
        if "platforms" in partial
        else post_edit.current_inputs(targets),
        media_ids=post.media_ids,
        schedule_at=partial.get("scheduleAt", post.schedule_at),
        draft=post.status is PostStatus.DRAFT,
    )
    return _check_partial(
        user_id=user.user_id,
        request=request,
        media_ok=True,
        check_schedule="scheduleAt" in partial,
    )


def post_out(post: PostRecord, targets: list[TargetRecord]) -> dict[str, Any]:
    """`post_json` checked against :class:`PostOut` (JSON-ready)."""
    return PostOut.model_validate(post_json(post, targets)).model_dump(mode="json")


def run_transition(operation: Callable[[], PostChange]) -> PostChange:
    """Run a lifecycle operation; a refused transition becomes 409 with the current state."""
    try:
        return operation()
    except TransitionRefused as refused:
        raise Conflict(
            refused.reason, extra={"current": post_out(refused.post, refused.targets)}
        ) from None


def change_response(change: PostChange, status: int) -> tuple[dict[str, Any], int]:
    """The post after a lifecycle operation, with `status`."""
    return post_json(change.post, change.targets), status


@route(
    bp,
    "POST",
    "/posts/multipost",
    summary="Create a post for several platforms: now, at scheduleAt, or as a draft",
    roles=AUTHORS,
    rate="write",
    idempotent=True,
    body=MultipostIn,
    query=CreateQuery,
    rules=_create_rules,
    responses={202: MultipostOut, 201: MultipostOut},
)
def multipost(
    user: Principal, body: MultipostIn, query: CreateQuery
) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Every target is validated before anything is stored (422 with one entry per problem);
    201 for a draft, 202 when queued or scheduled. With `Idempotency-Key` a retry gets the
    first answer back instead of a second post.

    `?wait=N` (0-25 s) waits for every target to finish before answering and returns what
    is known at the deadline (nothing is waited for on drafts and scheduled posts). The front
    does the waiting (`api.front`), without a thread, at most `WAIT_MAX_PER_USER` at once
    per user and instance; an `Idempotency-Key` replay is the answer at creation, at once.
    """
    ctx = context()
    post, targets = create_post(
        ctx,
        user_id=user.user_id,
        request=PostInput(
            content=body.content,
            targets=target_inputs(body.platforms),
            media_ids=[m.mediaId for m in body.media],
            schedule_at=body.scheduleAt,
            draft=body.draft,
            allow_late=body.allowLate,
        ),
        now=utcnow(),
    )
    if query.wait and post.status is PostStatus.PUBLISHING:
        render = functools.partial(created_body, enqueue_pending=post.enqueue_pending)
        defer_wait(
            WaitRequest(post_id=post.id, user_id=user.user_id, timeout_s=query.wait, render=render)
        )
    status = 201 if post.status is PostStatus.DRAFT else 202
    payload = created_payload(post, targets, enqueue_pending=post.enqueue_pending)
    return payload, status, {"Location": f"/posts/{post.id}"}


def created_payload(
    post: PostRecord, targets: list[TargetRecord], *, enqueue_pending: bool
) -> dict[str, Any]:
    """The body of a create answer (:class:`MultipostOut`) for ``post`` as it is now;
    ``enqueuePending`` is true only while it still is and was at creation."""
    return {
        "postId": post.id,
        "status": post.status.value,
        "results": [
            {
                "platform": t.platform.value,
                "targetId": t.id,
                "accountId": t.account_id,
                "status": t.status.value,
                "postId": t.external_id,
                "error": t.error.model_dump() if t.error else None,
            }
            for t in targets
        ],
        "scheduledAt": isoformat(post.schedule_at),
        "createdAt": isoformat(post.created_at),
        "enqueuePending": enqueue_pending and post.enqueue_pending,
    }


def created_body(post: PostRecord, targets: list[TargetRecord], *, enqueue_pending: bool) -> bytes:
    """:func:`created_payload` checked against :class:`MultipostOut`, as JSON bytes (the
    answer after a ``?wait``, rendered by the front)."""
    payload = created_payload(post, targets, enqueue_pending=enqueue_pending)
    checked = MultipostOut.model_validate(payload).model_dump(mode="json")
    return json.dumps(checked, separators=(",", ":")).encode()


@route(
    bp,
    "GET",
    "/posts",
    summary="The caller's posts, newest first",
    roles=AUTHORS,
    rate="read",
    query=PostListQuery,
    responses={200: PostListOut},
)
def list_own_posts(user: Principal, query: PostListQuery) -> PostListOut:
    """`?status=&from=&to=&cursor=&limit=`; `nextCursor` is null on the last page."""
    page = list_posts(
        context().db,
        user_id=user.user_id,
        status=query.status,
        created_from=to_utc(query.from_) if query.from_ else None,
        created_to=to_utc(query.to) if query.to else None,
        limit=query.limit,
        cursor=query.cursor,
    )
    return PostListOut(
        items=[PostOut.model_validate(post_json(p, t)) for p, t in page.items],
        nextCursor=page.next_cursor,
    )


@route(
    bp,
    "PATCH",
    "/posts/{post_id}",
    summary="Edit a DRAFT or SCHEDULED post",
    roles=AUTHORS,
    rate="write",
    body=PostPatchFields,
    rules=_edit_rules,
    errors={409},
    responses={200: PostOut, 202: PostOut},
)
def edit(user: Principal, post_id: str, body: PostPatchFields) -> tuple[dict[str, Any], int]:
    """Content, targets (replaced), schedule, draft. 200 when nothing was queued (a draft, a
    content-only edit); 202 when new tasks were queued (or, with Cloud Tasks down, marked
    `enqueuePending` for the sweeper); 409 with the current state otherwise. An empty body
    is 422 (after the ownership check: someone else's post is 404 whatever the body)."""
    if not body.model_fields_set:
        load_own_post(context(), post_id=post_id, user_id=user.user_id)
        message = "nothing to change: give content, platforms, scheduleAt or draft"
        raise ValidationFailed(message, errors=[FieldProblem("body", "NOTHING_TO_CHANGE", message)])
    change_edit = post_edit.PostEdit(
        content=body.content,
        targets=target_inputs(body.platforms) if body.platforms is not None else None,
        schedule_at=body.scheduleAt,
        schedule_given="scheduleAt" in body.model_fields_set,
        draft=body.draft,
    )
    ctx = context()
    change = run_transition(
        lambda: post_edit.edit_post(
            ctx, post_id=post_id, user_id=user.user_id, edit=change_edit, now=utcnow()
        )
    )
    return change_response(change, 202 if change.requeued else 200)


@route(
    bp,
    "POST",
    "/posts/{post_id}/cancel",
    summary="Cancel a DRAFT or SCHEDULED post",
    roles=AUTHORS,
    rate="write",
    errors={409},
    responses={200: PostOut},
)
def cancel(user: Principal, post_id: str) -> tuple[dict[str, Any], int]:
    """Its targets become CANCELLED; 409 with the current state for any other status."""
    ctx = context()
    change = run_transition(
        lambda: post_edit.cancel_post(ctx, post_id=post_id, user_id=user.user_id, now=utcnow())
    )
    return change_response(change, 200)


@route(
    bp,
    "POST",
    "/posts/{post_id}/publish",
    summary="Publish a DRAFT or SCHEDULED post now",
    roles=AUTHORS,
    rate="write",
    errors={409},
    responses={202: PostOut},
)
def publish(user: Principal, post_id: str) -> tuple[dict[str, Any], int]:
    """202; the scheduled tasks become no-ops. 409 with the current state otherwise."""
    ctx = context()
    change = run_transition(
        lambda: post_edit.publish_post(ctx, post_id=post_id, user_id=user.user_id, now=utcnow())
    )
    return change_response(change, 202)


@route(
    bp,
    "POST",
    "/posts/{post_id}/targets/{target_id}/retry",
    summary="Retry a FAILED target with a new attempt budget",
    roles=AUTHORS,
    rate="write",
    errors={409},
    responses={202: PostOut},
)
def retry(user: Principal, post_id: str, target_id: str) -> tuple[dict[str, Any], int]:
    """202; 409 with the current state for any status but FAILED."""
    ctx = context()
    change = run_transition(
        lambda: post_edit.retry_target(
            ctx, post_id=post_id, target_id=target_id, user_id=user.user_id, now=utcnow()
        )
    )
    return change_response(change, 202)


@route(
    bp,
    "GET",
    "/posts/{post_id}",
    summary="One of the caller's posts with its targets",
    roles=AUTHORS,
    rate="read",
    responses={200: PostOut},
)
def get_post(user: Principal, post_id: str) -> dict[str, Any]:
    """Someone else's post is answered like a missing one: 404."""
    post, targets = load_own_post(context(), post_id=post_id, user_id=user.user_id)
    return post_json(post, targets)
