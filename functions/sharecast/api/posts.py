"""Routes of posts (SPEC §4.2): create (``?wait=N``), read, list, edit, cancel, publish now
and retry a failed target. Someone else's post is always 404; a transition the post's state
does not allow is 409 with the current state in ``current``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify

from sharecast import lifecycle
from sharecast.api.context import deps, json_body, principal, query_args
from sharecast.api.schemas import (
    CreateQuery,
    MultipostIn,
    MultipostOut,
    PostListOut,
    PostListQuery,
    PostOut,
    PostPatchIn,
    TargetIn,
)
from sharecast.domain.lifecycle import TransitionRefused
from sharecast.domain.models import PostRecord, TargetRecord
from sharecast.domain.statuses import PostStatus
from sharecast.errors import Conflict
from sharecast.multipost import MultipostInput, TargetInput, create_multipost
from sharecast.store.lifecycle import PostChange
from sharecast.store.listing import list_posts
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
        "targets": [t.snapshot() for t in targets],
    }


def services() -> lifecycle.Services:
    """The lifecycle services on this app's clients."""
    d = deps()
    return lifecycle.Services(
        db=d.clients.firestore,
        tasks=d.clients.tasks,
        pubsub=d.clients.publisher,
        vault=d.vault,
        settings=d.settings,
    )


def target_inputs(platforms: list[TargetIn]) -> list[TargetInput]:
    """The domain inputs of the ``platforms`` of a request body."""
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


def post_out(post: PostRecord, targets: list[TargetRecord]) -> dict[str, Any]:
    """``post_json`` checked against :class:`PostOut` (JSON-ready)."""
    return PostOut.model_validate(post_json(post, targets)).model_dump(mode="json")


def run_transition(operation: Callable[[], PostChange]) -> PostChange:
    """Run a lifecycle operation; a refused transition becomes 409 with the current state."""
    try:
        return operation()
    except TransitionRefused as refused:
        raise Conflict(
            refused.reason, extra={"current": post_out(refused.post, refused.targets)}
        ) from None


def change_response(change: PostChange, status: int) -> tuple[Response, int]:
    """The post after a lifecycle operation, with ``status``."""
    return jsonify(post_out(change.post, change.targets)), status


@bp.post("/posts/multipost")
def multipost() -> tuple[Response, int]:
    """Create a post for several platforms, now, at ``scheduleAt``, or as a draft.

    ``?wait=N`` (0-25 s) waits for every target to finish before answering and returns what
    is known at the deadline (nothing is waited for on drafts and scheduled posts).
    """
    user = principal()
    query = query_args(CreateQuery)
    body = json_body(MultipostIn)
    d = deps()
    post, targets = create_multipost(
        db=d.clients.firestore,
        tasks=d.clients.tasks,
        pubsub=d.clients.publisher,
        vault=d.vault,
        settings=d.settings,
        user_id=user.user_id,
        request=MultipostInput(
            content=body.content,
            targets=target_inputs(body.platforms),
            media_ids=[m.mediaId for m in body.media],
            schedule_at=body.schedule_utc(),
            draft=body.draft,
            allow_late=body.allowLate,
        ),
        now=utcnow(),
    )
    created = post
    if query.wait and post.status is PostStatus.PUBLISHING:
        post, targets = lifecycle.wait_for_settled(
            d.clients.firestore,
            post_id=post.id,
            timeout_s=query.wait,
            poll_s=lifecycle.WAIT_POLL_S,
        )
    payload = {
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
        "enqueuePending": created.enqueue_pending and post.enqueue_pending,
    }
    status = 201 if post.status is PostStatus.DRAFT else 202
    response = jsonify(MultipostOut.model_validate(payload).model_dump(mode="json"))
    response.headers["Location"] = f"/posts/{post.id}"
    return response, status


@bp.get("/posts")
def list_own_posts() -> Response:
    """The caller's posts, newest first: ``?status=&from=&to=&cursor=&limit=``."""
    user = principal()
    query = query_args(PostListQuery)
    page = list_posts(
        deps().clients.firestore,
        user_id=user.user_id,
        status=query.status,
        created_from=to_utc(query.from_) if query.from_ else None,
        created_to=to_utc(query.to) if query.to else None,
        limit=query.limit,
        cursor=query.cursor,
    )
    body = PostListOut(
        items=[PostOut.model_validate(post_json(p, t)) for p, t in page.items],
        nextCursor=page.next_cursor,
    )
    return jsonify(body.model_dump(mode="json"))


@bp.patch("/posts/<post_id>")
def edit(post_id: str) -> tuple[Response, int]:
    """Edit a DRAFT or SCHEDULED post: content, targets (replaced), schedule, draft.

    200 when nothing was queued (a draft, a content-only edit); 202 when new tasks were queued
    (or, with Cloud Tasks down, marked ``enqueuePending`` for the sweeper).
    """
    user = principal()
    body = json_body(PostPatchIn)
    edit = lifecycle.PostEdit(
        content=body.content,
        targets=target_inputs(body.platforms) if body.platforms is not None else None,
        schedule_at=body.schedule_utc(),
        schedule_given="scheduleAt" in body.model_fields_set,
        draft=body.draft,
    )
    svc = services()
    change = run_transition(
        lambda: lifecycle.edit_post(
            svc, post_id=post_id, user_id=user.user_id, edit=edit, now=utcnow()
        )
    )
    return change_response(change, 202 if change.requeued else 200)


@bp.post("/posts/<post_id>/cancel")
def cancel(post_id: str) -> tuple[Response, int]:
    """Cancel a DRAFT or SCHEDULED post (its targets become CANCELLED)."""
    user = principal()
    svc = services()
    change = run_transition(
        lambda: lifecycle.cancel_post(svc, post_id=post_id, user_id=user.user_id, now=utcnow())
    )
    return change_response(change, 200)


@bp.post("/posts/<post_id>/publish")
def publish(post_id: str) -> tuple[Response, int]:
    """Publish a DRAFT or SCHEDULED post now (202); the scheduled tasks become no-ops."""
    user = principal()
    svc = services()
    change = run_transition(
        lambda: lifecycle.publish_post(svc, post_id=post_id, user_id=user.user_id, now=utcnow())
    )
    return change_response(change, 202)


@bp.post("/posts/<post_id>/targets/<target_id>/retry")
def retry(post_id: str, target_id: str) -> tuple[Response, int]:
    """Retry a FAILED target with a new attempt budget (202); 409 for any other status."""
    user = principal()
    svc = services()
    change = run_transition(
        lambda: lifecycle.retry_target(
            svc, post_id=post_id, target_id=target_id, user_id=user.user_id, now=utcnow()
        )
    )
    return change_response(change, 202)


@bp.get("/posts/<post_id>")
def get_post(post_id: str) -> Response:
    """One of the caller's posts with its targets; 404 for anyone else's."""
    user = principal()
    post, targets = lifecycle.load_own_post(
        deps().clients.firestore, post_id=post_id, user_id=user.user_id
    )
    return jsonify(post_out(post, targets))
