"""Per-user limits of one relay instance (issue 14 item 4). No I/O.

- **Opening rate**: a token bucket per user, ``relay_stream_opens_per_min`` streams per minute
  with bursts of as many; over it, ``GET /events`` answers 429 problem+json with
  ``Retry-After`` before any stream or Firestore read starts.
- **Concurrent streams**: at most ``relay_max_streams_per_user`` per user; opening one more
  closes that user's *oldest* stream (``superseded``, with a ``retry:`` hint) instead of
  refusing the new one. A browser whose connection died without a FIN still holds a stream
  until the next heartbeat fails; refusing its reconnect with 429 would end EventSource for
  good (any non-200 is fatal to it), while closing the stale stream costs nothing.

Both are per instance: Cloud Run spreads a user's streams over instances, so one user holds at
most ``relay_max_streams_per_user`` streams per instance, opened no faster than the rate allows
on each. See README "Relay limits".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class OpenRateLimiter:
    """Token buckets per user: ``per_min`` opens a minute, bursts of ``per_min``.

    ``clock`` is ``time.monotonic`` unless given (tests). At most ``max_users`` buckets are
    kept; beyond that, full (idle) buckets are forgotten, which changes nothing for them.
    """

    def __init__(
        self, per_min: int, *, max_users: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if per_min < 1:
            raise ValueError("per_min must be at least 1")
        self.capacity = float(per_min)
        self.rate = per_min / 60.0  # tokens per second
        self.max_users = max_users
        self.refused = 0
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, user_id: str) -> float:
        """Take one opening for ``user_id``: 0.0 if allowed, else the seconds until one is."""
        now = self._clock()
        bucket = self._buckets.get(user_id)
        if bucket is None:
            if len(self._buckets) >= self.max_users:
                self._forget_idle(now)
            bucket = self._buckets[user_id] = _Bucket(self.capacity, now)
        else:
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        self.refused += 1
        return (1.0 - bucket.tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        full_after = self.capacity / self.rate
        idle = [u for u, b in self._buckets.items() if now - b.at >= full_after]
        for user_id in idle:
            del self._buckets[user_id]
