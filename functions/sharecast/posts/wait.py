"""``?wait=N`` on create: answer once the new post is settled, or at the deadline, without
holding a thread while waiting.

The create handler does not wait itself: it hands a :class:`WaitRequest` to the API's front
(``sharecast.api.front``), which answers at once or, when a waiting slot is free
(:class:`WaitSlots`, ``WAIT_MAX_PER_USER`` per user and instance), awaits
:func:`wait_for_settled` on the event loop and answers with the settled post. Each poll reads
the post in a worker thread for the few milliseconds of the read; between polls the wait is a
timer, not a thread (issue 14: ten ``?wait=25`` requests used to hold ten of the instance's
threads and slowed everyone else's requests to seconds).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio

from sharecast.app import AppContext
from sharecast.domain.models import PostRecord, TargetRecord
from sharecast.domain.statuses import PostStatus
from sharecast.store import posts as posts_store

#: Seconds before the first re-read; each later pause doubles, up to :data:`WAIT_MAX_POLL_S`.
WAIT_POLL_S = 0.25
WAIT_MAX_POLL_S = 2.0
#: Post statuses in which nothing happens until the user acts or the schedule comes.
AT_REST = frozenset({PostStatus.DRAFT, PostStatus.SCHEDULED, PostStatus.CANCELLED})
#: Post statuses once every target is terminal.
FINISHED = frozenset({PostStatus.PUBLISHED, PostStatus.PARTIAL, PostStatus.FAILED})

Settled = tuple[PostRecord, list[TargetRecord]]


def is_settled(post: PostRecord) -> bool:
    """True when nothing more happens to ``post`` without the user (the post's own status: it
    is rolled up just after its targets finish)."""
    return post.status in AT_REST or post.status in FINISHED


@dataclass(frozen=True)
class WaitRequest:
    """What the create handler asks the front to wait for: ``post_id`` of ``user_id`` for at
    most ``timeout_s`` seconds; ``render(post, targets)`` is the answer's new body (bytes)."""

    post_id: str
    user_id: str
    timeout_s: float
    render: Callable[[PostRecord, list[TargetRecord]], bytes]


class WaitSlots:
    """Waits in progress per user on this instance, at most ``per_user`` each. Used from the
    event loop only (no lock)."""

    def __init__(self, per_user: int) -> None:
        self.per_user = per_user
        self._held: dict[str, int] = {}

    def take(self, user_id: str) -> bool:
        """Take a slot for ``user_id``; ``False`` when the user already holds ``per_user``."""
        held = self._held.get(user_id, 0)
        if held >= self.per_user:
            return False
        self._held[user_id] = held + 1
        return True

    def give_back(self, user_id: str) -> None:
        """Return a slot taken with :meth:`take`."""
        held = self._held.get(user_id, 0) - 1
        if held > 0:
            self._held[user_id] = held
        else:
            self._held.pop(user_id, None)

    def held(self, user_id: str) -> int:
        """Slots ``user_id`` holds now."""
        return self._held.get(user_id, 0)


async def wait_for_settled(
    ctx: AppContext,
    *,
    post_id: str,
    timeout_s: float,
    limiter: anyio.CapacityLimiter,
    gone: Callable[[], Awaitable[bool]] | None = None,
    poll_s: float = WAIT_POLL_S,
) -> Settled:
    """Re-read the post (in a thread of ``limiter``) until it is settled (:func:`is_settled`),
    ``timeout_s`` seconds have passed, or ``gone()`` says the client left; returns the post and
    targets as last read. Pauses between reads start at ``poll_s`` seconds and double up to
    :data:`WAIT_MAX_POLL_S`. Raises ``NotFound`` if the post disappeared and Firestore errors
    as the store does."""
    read = functools.partial(posts_store.get_post, ctx.db, post_id)
    deadline = anyio.current_time() + timeout_s
    pause = poll_s
    while True:
        post, targets = await anyio.to_thread.run_sync(read, limiter=limiter)
        remaining = deadline - anyio.current_time()
        if is_settled(post) or remaining <= 0 or (gone is not None and await gone()):
            return post, targets
        await anyio.sleep(min(pause, remaining))
        pause = min(pause * 2, WAIT_MAX_POLL_S)
