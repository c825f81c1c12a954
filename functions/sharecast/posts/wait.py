"""``?wait=N`` on create: answer once the new post is settled, or at the deadline."""

from __future__ import annotations

import time

from sharecast.app import AppContext
from sharecast.domain.models import PostRecord, TargetRecord
from sharecast.domain.statuses import PostStatus
from sharecast.store import posts as posts_store

#: Seconds between reads of the post while waiting.
WAIT_POLL_S = 0.25
#: Post statuses in which nothing happens until the user acts or the schedule comes.
AT_REST = frozenset({PostStatus.DRAFT, PostStatus.SCHEDULED, PostStatus.CANCELLED})
#: Post statuses once every target is terminal.
FINISHED = frozenset({PostStatus.PUBLISHED, PostStatus.PARTIAL, PostStatus.FAILED})


def wait_for_settled(
    ctx: AppContext, *, post_id: str, timeout_s: float, poll_s: float = WAIT_POLL_S
) -> tuple[PostRecord, list[TargetRecord]]:
    """Re-read the post every ``poll_s`` seconds (sleeping between reads) until it is settled
    (published, partly published or failed, or at rest: draft, scheduled, cancelled) or
    ``timeout_s`` seconds have passed; returns what is known then. The API's request thread
    waits here on the user's explicit ``?wait=`` (at most 25 s); no platform wait sleeps."""
    deadline = time.monotonic() + timeout_s
    while True:
        post, targets = posts_store.get_post(ctx.db, post_id)
        # The post's own status, not its targets': it is rolled up just after they finish.
        settled = post.status in AT_REST or post.status in FINISHED
        remaining = deadline - time.monotonic()
        if settled or remaining <= 0:
            return post, targets
        time.sleep(min(poll_s, remaining))
