"""Per-user rate limits by route class, in fixed windows stored in Firestore
(docs/api.md#accounts-realtime-and-operations).

A request of ``user`` on a route of class ``c`` (``Settings.rate_limits``: ``c=limit/period_s``)
increments the counter document ``rate_limits/{user}:{c}:{window}`` (``window`` is the number of
the ``period_s`` window since the epoch) with a server-side increment and reads the new count
from the same commit's answer (the transform result): one round trip, exact under any
concurrency (increments never lose each other, and every request sees its own), and no
transaction. The document is the user's own: it takes that user's requests of that class in one
window and nothing of anyone else's, so its write rate is the caller's request rate, which this
limit caps. Counters expire by TTL (``expire_at``). Requests over the limit count too (the
window ends anyway).

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
    """The caller's state in the current window: ``limit``, ``remaining``, ``reset_s``."""

    limit: int
    remaining: int
    reset_s: int

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


def check(
    ctx: AppContext,
    *,
    user_id: str,
    route_class: str,
    now: datetime,
) -> Window:
    """Count this request against ``route_class`` for ``user_id``; return the window state.

    Raises :class:`RateLimited` (429, with ``Retry-After`` and ``RateLimit-*`` headers) when
    the count exceeds the limit, and ``KeyError`` for a class missing from the settings (a
    declaration bug caught by the route tests).
    """
    db, settings = ctx.db, ctx.settings
    limit, period = settings.rate_limit_table[route_class]
    epoch = now.timestamp()
    window = int(epoch // period)
    ends = (window + 1) * period
    reset_s = max(1, math.ceil(ends - epoch))
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
        raise RateLimited(
            f"more than {limit} requests of class {route_class!r} in {period} s",
            headers={"Retry-After": str(reset_s), **state.headers()},
        )
    return state
