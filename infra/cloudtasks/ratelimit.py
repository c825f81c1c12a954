"""Per-queue token bucket for ``RateLimits.max_dispatches_per_second``.

Cloud Tasks documents its rate limiting as a token bucket holding at most
``max_burst_size`` tokens, refilled at ``max_dispatches_per_second``; each dispatch takes
one token (https://cloud.google.com/tasks/docs/reference/rpc/google.cloud.tasks.v2#ratelimits).
"""

from __future__ import annotations

import time


class TokenBucket:
    """Token bucket on the monotonic clock. Not thread-safe: callers hold the store lock."""

    def __init__(self, rate_per_s: float, capacity: int) -> None:
        self._rate = rate_per_s
        self._capacity = float(capacity)
        self._tokens = float(capacity)
        self._stamp = time.monotonic()

    def reconfigure(self, rate_per_s: float, capacity: int) -> None:
        """Change rate (tokens per second) and capacity, keeping the current fill."""
        self._refill()
        self._rate = rate_per_s
        self._capacity = float(capacity)
        self._tokens = min(self._tokens, self._capacity)

    def try_take(self) -> float:
        """Take one token. Returns 0.0 on success, else the seconds until one is available."""
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self._rate

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
