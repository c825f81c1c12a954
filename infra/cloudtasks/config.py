"""Queue configuration: defaults, validation, field masks and the effective retry policy.

Reference: ``Queue``, ``RateLimits`` and ``RetryConfig`` in
https://cloud.google.com/tasks/docs/reference/rpc/google.cloud.tasks.v2#queue and
``UpdateQueue`` (field-mask semantics) in the same reference.

Proto3 cannot tell "0" from "unset" for integer fields, so (as production does for
fields left unspecified) a zero ``max_attempts``, ``max_doublings``,
``max_dispatches_per_second`` or ``max_concurrent_dispatches`` is replaced by the
default when a whole ``retry_config``/``rate_limits`` message is written. A zero
``max_doublings`` sent through the leaf path ``retry_config.max_doublings`` of an
``UpdateQueue`` mask is kept as 0 (pure linear backoff).
"""

from __future__ import annotations

import math
from typing import Any

from google.cloud import tasks_v2

from infra.cloudtasks import backoff
from infra.cloudtasks.errors import invalid_argument

DEFAULT_MAX_DISPATCHES_PER_SECOND = 500.0
MAX_DISPATCHES_PER_SECOND = 500.0
DEFAULT_MAX_CONCURRENT_DISPATCHES = 1000
MAX_CONCURRENT_DISPATCHES = 5000

MUTABLE_QUEUE_FIELDS = (
    "app_engine_routing_override",
    "http_target",
    "rate_limits",
    "retry_config",
    "stackdriver_logging_config",
)
OUTPUT_ONLY_PATHS = frozenset({"name", "state", "purge_time", "rate_limits.max_burst_size"})


def duration_s(pb_duration: Any) -> float:
    """Seconds held by a raw ``google.protobuf.Duration``."""
    return float(pb_duration.seconds) + float(pb_duration.nanos) / 1e9


def set_duration_s(pb_duration: Any, seconds: float) -> None:
    """Write ``seconds`` into a raw ``google.protobuf.Duration`` (nanosecond precision)."""
    pb_duration.FromNanoseconds(round(seconds * 1e9))


def normalize_queue(queue: tasks_v2.Queue, explicit_leaves: frozenset[str] = frozenset()) -> None:
    """Fill defaults into ``queue``'s retry config and rate limits, then validate them.

    ``explicit_leaves`` are ``UpdateQueue`` mask paths written one by one; see the module
    docstring for how they change defaulting. Raises INVALID_ARGUMENT on bad values.
    """
    raw = tasks_v2.Queue.pb(queue)
    rc = raw.retry_config
    if rc.max_attempts == 0:
        rc.max_attempts = backoff.DEFAULT_MAX_ATTEMPTS
    if rc.max_doublings == 0 and "retry_config.max_doublings" not in explicit_leaves:
        rc.max_doublings = backoff.DEFAULT_MAX_DOUBLINGS
    for field, default in (
        ("min_backoff", backoff.DEFAULT_MIN_BACKOFF_S),
        ("max_backoff", backoff.DEFAULT_MAX_BACKOFF_S),
        ("max_retry_duration", backoff.DEFAULT_MAX_RETRY_DURATION_S),
    ):
        if not rc.HasField(field):
            set_duration_s(getattr(rc, field), default)
    _validate_retry(rc)

    rl = raw.rate_limits
    if rl.max_dispatches_per_second == 0:
        rl.max_dispatches_per_second = DEFAULT_MAX_DISPATCHES_PER_SECOND
    if rl.max_concurrent_dispatches == 0:
        rl.max_concurrent_dispatches = DEFAULT_MAX_CONCURRENT_DISPATCHES
    if not 0 < rl.max_dispatches_per_second <= MAX_DISPATCHES_PER_SECOND:
        raise invalid_argument("rate_limits.max_dispatches_per_second must be in (0, 500]")
    if not 0 < rl.max_concurrent_dispatches <= MAX_CONCURRENT_DISPATCHES:
        raise invalid_argument("rate_limits.max_concurrent_dispatches must be in [1, 5000]")
    # Output only. Documented as "generally at least equal to max_dispatches_per_second".
    rl.max_burst_size = max(1, math.ceil(rl.max_dispatches_per_second))


def _validate_retry(rc: Any) -> None:
    if rc.max_attempts < backoff.UNLIMITED_ATTEMPTS:
        raise invalid_argument("retry_config.max_attempts must be >= -1")
    if rc.max_doublings < 0:
        raise invalid_argument("retry_config.max_doublings must be >= 0")
    for field in ("min_backoff", "max_backoff", "max_retry_duration"):
        if duration_s(getattr(rc, field)) < 0:
            raise invalid_argument(f"retry_config.{field} must not be negative")
    if duration_s(rc.min_backoff) > duration_s(rc.max_backoff):
        raise invalid_argument("retry_config.min_backoff must not exceed max_backoff")


def validate_retry_override(retry: tasks_v2.RetryConfig) -> None:
    """Validate a task-level ``retry_config`` (unset fields fall back to the queue's)."""
    rc = tasks_v2.RetryConfig.pb(retry)
    if rc.max_attempts < backoff.UNLIMITED_ATTEMPTS or rc.max_doublings < 0:
        raise invalid_argument("retry_config.max_attempts must be >= -1, max_doublings >= 0")
    for field in ("min_backoff", "max_backoff", "max_retry_duration"):
        if duration_s(getattr(rc, field)) < 0:
            raise invalid_argument(f"retry_config.{field} must not be negative")


def apply_update(current: tasks_v2.Queue, update: tasks_v2.Queue, paths: list[str]) -> None:
    """Copy the fields named by an ``UpdateQueue`` mask from ``update`` into ``current``.

    An empty mask replaces every mutable field. Output-only or unknown paths raise
    INVALID_ARGUMENT. Defaults and validation are applied afterwards.
    """
    dst = tasks_v2.Queue.pb(current)
    src = tasks_v2.Queue.pb(update)
    for path in paths or list(MUTABLE_QUEUE_FIELDS):
        if path in OUTPUT_ONLY_PATHS:
            raise invalid_argument(f"update_mask path {path!r} is output only")
        head, _, leaf = path.partition(".")
        if head not in MUTABLE_QUEUE_FIELDS:
            raise invalid_argument(f"update_mask path {path!r} is not a mutable Queue field")
        if not leaf:
            _copy_field(src, dst, head)
            continue
        sub_src, sub_dst = getattr(src, head), getattr(dst, head)
        if "." in leaf or leaf not in sub_dst.DESCRIPTOR.fields_by_name:
            raise invalid_argument(f"update_mask path {path!r} is not a Queue field")
        _copy_field(sub_src, sub_dst, leaf)
    normalize_queue(current, frozenset(p for p in paths if "." in p))


def _copy_field(src: Any, dst: Any, field: str) -> None:
    descriptor = dst.DESCRIPTOR.fields_by_name[field]
    if descriptor.message_type is None:
        setattr(dst, field, getattr(src, field))
    elif src.HasField(field):
        getattr(dst, field).CopyFrom(getattr(src, field))
    else:
        dst.ClearField(field)


def retry_policy(
    queue: tasks_v2.Queue, task_override: tasks_v2.RetryConfig | None
) -> backoff.RetryPolicy:
    """Effective retry policy of a task: the task-level ``retry_config`` (fields it sets)
    over the queue's normalized ``retry_config``. Durations in seconds."""
    q = tasks_v2.Queue.pb(queue).retry_config
    t = tasks_v2.RetryConfig.pb(task_override) if task_override is not None else None

    def dur(field: str) -> float:
        if t is not None and t.HasField(field):
            return duration_s(getattr(t, field))
        return duration_s(getattr(q, field))

    return backoff.RetryPolicy(
        max_attempts=t.max_attempts if t is not None and t.max_attempts else q.max_attempts,
        max_retry_duration_s=dur("max_retry_duration"),
        min_backoff_s=dur("min_backoff"),
        max_backoff_s=dur("max_backoff"),
        max_doublings=t.max_doublings if t is not None and t.max_doublings else q.max_doublings,
    )
