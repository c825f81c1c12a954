"""Routes of posts: ``POST /posts/multipost`` and ``GET /posts/{id}`` (SPEC §4.2)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from sharecast.api.context import deps, ensure_owner
from sharecast.api.routes import AUTHORS, route
from sharecast.api.schemas import MultipostIn, MultipostOut, PostOut
from sharecast.auth import Principal
from sharecast.domain.models import PostRecord, TargetRecord
from sharecast.domain.statuses import PostStatus
from sharecast.errors import NotFound
from sharecast.multipost import MultipostInput, TargetInput, create_multipost
from sharecast.store import posts as posts_store
from sharecast.timeutil import isoformat, utcnow

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
        "version": post.version,
        "targets": [t.snapshot() for t in targets],
    }


@route(
    bp,
    "POST",
    "/posts/multipost",
    summary="Create a post for several platforms: now, at scheduleAt, or as a draft",
    roles=AUTHORS,
    rate="write",
    idempotent=True,
    body=MultipostIn,
    responses={202: MultipostOut, 201: MultipostOut},
)
def multipost(user: Principal, body: MultipostIn) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Every target is validated before anything is stored (422 with one entry per problem);
    201 for a draft, 202 when queued or scheduled. With ``Idempotency-Key`` a retry gets the
    first answer back instead of a second post."""
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
            targets=[
                TargetInput(
                    platform=t.platform,
                    account_id=t.accountId,
                    media_type=t.mediaType,
                    content=t.content,
                    title=t.title,
                    description=t.description,
                )
                for t in body.platforms
            ],
            media_ids=[m.mediaId for m in body.media],
            schedule_at=body.schedule_utc(),
            draft=body.draft,
        ),
        now=utcnow(),
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
                "error": None,
            }
            for t in targets
        ],
        "scheduledAt": isoformat(post.schedule_at),
        "createdAt": isoformat(post.created_at),
        "enqueuePending": post.enqueue_pending,
    }
    status = 201 if post.status is PostStatus.DRAFT else 202
    return payload, status, {"Location": f"/posts/{post.id}"}


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
    if len(post_id) > 64:
        raise NotFound("post not found")
    try:
        post, targets = posts_store.get_post(deps().clients.firestore, post_id)
    except NotFound:
        raise NotFound("post not found") from None
    ensure_owner(post.user_id, user, "post")
    return post_json(post, targets)
