"""Retry schedule of a failed task: Cloud Tasks' documented backoff formula.

Source: ``RetryConfig`` in the Cloud Tasks v2 reference,
https://cloud.google.com/tasks/docs/reference/rpc/google.cloud.tasks.v2#retryconfig
(same text: https://cloud.google.com/tasks/docs/reference/rest/v2/RetryConfig).

The documented behaviour of ``max_doublings``: "A task's retry interval starts at
min_backoff, then doubles max_doublings times, then increases linearly, and finally
retries at intervals of max_backoff up to max_attempts times. For example, if
min_backoff is 10s, max_backoff is 300s, and max_doublings is 3 [...] the interval
will double three times, and then increase linearly by 2^3 * 10s [...] Thus, the
requests will retry at 10s, 20s, 40s, 80s, 160s, 240s, 300s, 300s, ...".

Written as a formula, the delay before retry ``k`` (``k = 1`` after the first failed
attempt, i.e. ``k`` = number of failed attempts so far) is::

    d = max_doublings
    interval(k) = min_backoff * 2 ** (k - 1)                     if k - 1 <= d
                = min_backoff * 2 ** d * (k - d)                 if k - 1 >  d
    delay(k)    = min(max_backoff, interval(k))

which reproduces the documented example exactly (10, 20, 40, 80, 160, 240, 300, 300).

Giving up: "Cloud Tasks stops retrying only when max_attempts and max_retry_duration
are both satisfied [...] If max_attempts is set to -1 and max_retry_duration is set to
0, the task is retried until the maximum task retention limit is reached"
(31 days, https://cloud.google.com/tasks/docs/quotas#limits). A zero
``max_retry_duration`` means "no time limit", which counts as satisfied once the
attempts are used up.

Defaults Cloud Tasks picks for fields left unset when a queue is created
(https://cloud.google.com/tasks/docs/configuring-queues#retry): max_attempts 100,
min_backoff 0.1 s, max_backoff 3600 s, max_doublings 16, max_retry_duration 0
(unlimited). Unlike production, sub-second backoffs are kept as given (production
truncates min/max backoff to whole seconds except its 0.1 s default) so tests can use
short schedules.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_ATTEMPTS = 100
DEFAULT_MIN_BACKOFF_S = 0.1
DEFAULT_MAX_BACKOFF_S = 3600.0
DEFAULT_MAX_DOUBLINGS = 16
DEFAULT_MAX_RETRY_DURATION_S = 0.0
MAX_TASK_RETENTION_S = 31 * 24 * 3600.0
UNLIMITED_ATTEMPTS = -1


@dataclass(frozen=True)
class RetryPolicy:
    """Effective retry settings of one task (queue ``RetryConfig`` or task override).

    All durations are in seconds.
    """

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    max_retry_duration_s: float = DEFAULT_MAX_RETRY_DURATION_S
    min_backoff_s: float = DEFAULT_MIN_BACKOFF_S
    max_backoff_s: float = DEFAULT_MAX_BACKOFF_S
    max_doublings: int = DEFAULT_MAX_DOUBLINGS

    def delay_s(self, failed_attempts: int) -> float:
        """Seconds to wait before the next attempt after ``failed_attempts`` failures.

        ``failed_attempts`` >= 1. See the module docstring for the formula and source.
        """
        k = max(1, failed_attempts)
        d = max(0, self.max_doublings)
        if k - 1 <= d:
            interval = self.min_backoff_s * float(2 ** (k - 1))
        else:
            interval = self.min_backoff_s * float(2**d) * float(k - d)
        return min(self.max_backoff_s, interval)

    def gives_up(self, attempts: int, since_first_attempt_s: float, age_s: float) -> bool:
        """Whether a task that just failed its ``attempts``-th attempt is dropped.

        ``since_first_attempt_s``: seconds since the first attempt was dispatched;
        ``age_s``: seconds since the task was created (for the 31-day retention limit).
        """
        if age_s >= MAX_TASK_RETENTION_S:
            return True
        if self.max_attempts == UNLIMITED_ATTEMPTS or attempts < self.max_attempts:
            return False
        if self.max_retry_duration_s <= 0:
            return True
        return since_first_attempt_s >= self.max_retry_duration_s
