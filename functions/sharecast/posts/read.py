"""Reading the caller's own post (docs/api.md#posts: someone else's post is answered like a missing
one, 404, never revealing that it exists)."""

from __future__ import annotations

from sharecast.app import AppContext
from sharecast.domain.models import PostRecord, TargetRecord
from sharecast.errors import NotFound
from sharecast.store import posts as posts_store

#: Post ids are uuid4 hex (32); anything much longer cannot exist.
MAX_POST_ID = 64


def load_own_post(
    ctx: AppContext, *, post_id: str, user_id: str | None
) -> tuple[PostRecord, list[TargetRecord]]:
    """The post and its targets when it belongs to ``user_id`` (``None``: anyone's, for
    admins). Raises :class:`NotFound` otherwise."""
    if len(post_id) > MAX_POST_ID:
        raise NotFound("post not found")
    try:
        post, targets = posts_store.get_post(ctx.db, post_id)
    except NotFound:
        raise NotFound("post not found") from None
    if user_id is not None and post.user_id != user_id:
        raise NotFound("post not found")
    return post, targets
