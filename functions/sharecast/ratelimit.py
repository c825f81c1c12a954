"""Per-user rate limits by route class, in fixed windows stored in Firestore
(docs/api.md#accounts-realtime-and-operations).

A request of ``user`` on a route of class ``c`` (``Settings.rate_limits``: ``c=limit/period_s``)
increments the counter document ``rate_limits/{user}:{c}:{window}`` (``window`` is the number of
the ``period_s`` window since the epoch) with a server-side increment and reads the new count
from the same commit's answer (the transform result): one round trip, exact under any
concurrency (increments never lose each other, and every request sees its own), and no
transaction. The document is the user's own: it takes that user's requests of that class in one
window and nothing of anyone else's, so its write rate is the caller's request rate, which this
limit caps. Counters expire by TTL (``expire_at``).

A caller found over the limit is remembered by the instance (:class:`Limiter`) as blocked until its
window ends: its further requests in that window are refused from memory, without incrementing
the counter (a flood of refused requests costs no Firestore writes). Each instance learns it
with one increment of its own, so a blocked caller costs at most one write per instance and
window.

Answers carry the IETF draft headers ``RateLimit-Limit``, ``RateLimit-Remaining`` and
``RateLimit-Reset`` (seconds until the window ends), and a 429 also ``Retry-After`` (seconds):
https://datatracker.ietf.org/doc/draft-ietf-httpapi-ratelimit-headers/ and
https://www.rfc-editor.org/rfc/rfc9110#name-retry-after. The increment's result:
https://cloud.google.com/firestore/docs/reference/rpc/google.firestore.v1#writeresult
(``transform_results``).
"""

from __future__ import annotations

import hashlib
import math
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from google.cloud import firestore

from sharecast.app import AppContext
from sharecast.errors import RateLimited

COLLECTION = "rate_limits"
#: The counter field of a window document.
COUNT = "count"


@dataclass(frozen=True)
class Window:
    """The caller's state in the current window: ``limit``, ``remaining``, ``reset_s``
    (seconds), and ``writes``: counter increments this request wrote (0 or 1)."""

    limit: int
    remaining: int
    reset_s: int
    writes: int = 1

    def headers(self) -> dict[str, str]:
        """The ``RateLimit-*`` response headers."""
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
        }


def window_doc_id(user_id: str, route_class: str, window: int) -> str:
    """Id of the counter document (user ids are hashed: any character is safe in the id)."""
    user = hashlib.sha256(user_id.encode()).hexdigest()[:32]
    return f"{user}:{route_class}:{window}"


#: Blocked callers an instance remembers at most (past windows are dropped first).
MAX_BLOCKED = 10_000


@dataclass(frozen=True)
class Counters:
    """What one :class:`Limiter` did since it was built: ``checks`` (requests counted or
    refused), ``hit_writes`` (counter increments written) and ``refused_from_memory`` (429s answered
    without touching Firestore)."""

    checks: int
    hit_writes: int
    refused_from_memory: int


class Limiter:
    """The per-instance rate limiter: :func:`check` plus the memory of blocked callers.

    ``blocked`` maps ``(user, class)`` to the number of the window in which the caller went
    over its limit; a request in that window is refused at once. Thread-safe (the API serves
    requests from a thread pool)."""

    def __init__(self, max_blocked: int = MAX_BLOCKED) -> None:
        self._blocked: dict[tuple[str, str], int] = {}
        self._max_blocked = max_blocked
        self._lock = threading.Lock()
        self._checks = self._writes = self._refused = 0

    def check(self, ctx: AppContext, *, user_id: str, route_class: str, now: datetime) -> Window:
        """Like :func:`check`, but a caller already refused in this window is refused again
        from memory (no write, no count). Raises :class:`RateLimited` and ``KeyError``."""
        limit, period = ctx.settings.rate_limit_table[route_class]
        window, reset_s = _window_of(now, period)
        key = (user_id, route_class)
        with self._lock:
            self._checks += 1
            blocked = self._blocked.get(key) == window
            if blocked:
                self._refused += 1
            else:
                self._writes += 1
        if blocked:
            raise _refusal(Window(limit, 0, reset_s, writes=0), route_class, period)
        try:
            return check(ctx, user_id=user_id, route_class=route_class, now=now)
        except RateLimited:
            self._block(key, window)
            raise

    def counters(self) -> Counters:
        """A snapshot of the counters."""
        with self._lock:
            return Counters(self._checks, self._writes, self._refused)

    def _block(self, key: tuple[str, str], window: int) -> None:
        with self._lock:
            if len(self._blocked) >= self._max_blocked:
                newest = max(self._blocked.values())
                self._blocked = {k: w for k, w in self._blocked.items() if w >= newest}
                if len(self._blocked) >= self._max_blocked:
                    self._blocked.clear()
            self._blocked[key] = window


def _window_of(now: datetime, period: int) -> tuple[int, int]:
    """``(window number, seconds until it ends)`` of ``now`` for windows of ``period`` s."""
    epoch = now.timestamp()
    window = int(epoch // period)
    return window, max(1, math.ceil((window + 1) * period - epoch))


def _refusal(state: Window, route_class: str, period: int) -> RateLimited:
    return RateLimited(
        f"more than {state.limit} requests of class {route_class!r} in {period} s",
        headers={"Retry-After": str(state.reset_s), **state.headers()},
    )


def check(
    ctx: AppContext,
    *,
    user_id: str,
    route_class: str,
    now: datetime,
) -> Window:
    """Count this request against ``route_class`` for ``user_id``; return the window state.
    One round trip: a server-side increment whose result comes back in the commit's answer,
    every time (:class:`Limiter` skips it for callers it already refused).

    Raises :class:`RateLimited` (429, with ``Retry-After`` and ``RateLimit-*`` headers) when
    the count exceeds the limit, and ``KeyError`` for a class missing from the settings (a
    declaration bug caught by the route tests).
    """
    db, settings = ctx.db, ctx.settings
    limit, period = settings.rate_limit_table[route_class]
    window, reset_s = _window_of(now, period)
    counter = db.collection(COLLECTION).document(window_doc_id(user_id, route_class, window))
    written = counter.set(
        {
            COUNT: firestore.Increment(1),
            "expire_at": now + timedelta(seconds=reset_s + settings.rate_limit_ttl_s),
        },
        merge=True,
    )
    count = int(written.transform_results[0].integer_value)
    state = Window(limit=limit, remaining=max(0, limit - count), reset_s=reset_s)
    if count > limit:
        raise _refusal(state, route_class, period)
    return state
