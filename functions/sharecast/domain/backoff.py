"""Retry policy: exponential backoff with jitter, overridden by a platform's wait hint."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """When to try a failed target again (docs/semantics.md#statuses-and-rules).

    Attempt 1 runs now; after failed attempt ``n`` the next runs ``base_s * 2**(n-1)`` seconds
    later (2 s, 4 s, 8 s with the defaults), each delay scaled by a random factor in
    ``[1 - jitter, 1 + jitter]`` and capped at ``max_s``. A target is attempted at most
    ``max_attempts`` times.
    """

    max_attempts: int = 4
    base_s: float = 2.0
    max_s: float = 3600.0
    jitter: float = 0.2

    def delay_after(
        self, attempt: int, *, retry_after_s: float | None = None, rng: random.Random | None = None
    ) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based).

        A platform's own wait instruction (``Retry-After``, ``x-rate-limit-reset``, Meta's
        ``estimated_time_to_regain_access``) replaces the computed backoff, uncapped.
        """
        if attempt < 1:
            raise ValueError("attempt is 1-based")
        if retry_after_s is not None and retry_after_s >= 0:
            return float(retry_after_s)
        delay = min(self.base_s * 2 ** (attempt - 1), self.max_s)
        factor = 1.0 + (rng or random).uniform(-self.jitter, self.jitter)
        return max(0.0, min(delay * factor, self.max_s))

    def can_retry(self, attempt: int) -> bool:
        """True when another attempt is allowed after attempt ``attempt`` failed."""
        return attempt < self.max_attempts
