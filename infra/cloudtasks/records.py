"""In-memory records of queues, tasks and attempts, and their API (proto) views.

Timestamps are integer nanoseconds since the Unix epoch (UTC); durations are seconds.
Task field semantics: https://cloud.google.com/tasks/docs/reference/rpc/google.cloud.tasks.v2#task
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TypeVar

import proto
from google.cloud import tasks_v2
from google.protobuf import duration_pb2, timestamp_pb2
from google.rpc import status_pb2

from infra.cloudtasks.delivery import OutboundRequest
from infra.cloudtasks.ratelimit import TokenBucket

# Heap entry: (eta in epoch seconds, sequence number, task name, task generation).
Entry = tuple[float, int, str, int]

M = TypeVar("M", bound=proto.Message)


def clone(message: M) -> M:
    """Deep copy of a proto-plus message."""
    cls = type(message)
    return cls.deserialize(cls.serialize(message))


def timestamp(ns: int) -> timestamp_pb2.Timestamp:
    """Raw ``Timestamp`` for epoch nanoseconds."""
    ts = timestamp_pb2.Timestamp()
    ts.FromNanoseconds(ns)
    return ts


@dataclass(eq=False)
class AttemptRecord:
    """One dispatch of a task. ``rpc_code``/``message`` are valid once ``response_ns`` is set."""

    schedule_ns: int
    dispatch_ns: int
    response_ns: int | None = None
    rpc_code: int = 0
    message: str = ""

    def to_proto(self) -> tasks_v2.Attempt:
        """The ``Attempt`` message (status only when the attempt has finished)."""
        attempt = tasks_v2.Attempt(
            schedule_time=timestamp(self.schedule_ns),
            dispatch_time=timestamp(self.dispatch_ns),
        )
        if self.response_ns is not None:
            attempt.response_time = timestamp(self.response_ns)
            attempt.response_status = status_pb2.Status(code=self.rpc_code, message=self.message)
        return attempt


@dataclass(eq=False)
class TaskRecord:
    """A task waiting for (or in) dispatch. ``generation`` invalidates stale heap entries."""

    name: str
    queue_name: str
    http_request: tasks_v2.HttpRequest
    schedule_ns: int
    create_ns: int
    dispatch_deadline_s: float
    retry_override: tasks_v2.RetryConfig | None
    dispatch_count: int = 0
    response_count: int = 0
    execution_count: int = 0
    first_dispatch_ns: int | None = None
    last_attempt: AttemptRecord | None = None
    previous_response: int | None = None
    last_failure: str | None = None
    generation: int = 0
    in_flight: int = 0

    def to_proto(self, view: int) -> tasks_v2.Task:
        """The ``Task`` message in ``view`` (BASIC, the default, omits the request body)."""
        full = view == tasks_v2.Task.View.FULL
        http = clone(self.http_request)
        if not full:
            http.body = b""
        deadline = duration_pb2.Duration()
        deadline.FromMilliseconds(round(self.dispatch_deadline_s * 1000))
        task = tasks_v2.Task(
            name=self.name,
            http_request=http,
            schedule_time=timestamp(self.schedule_ns),
            # "create_time will be truncated to the nearest second".
            create_time=timestamp(self.create_ns // 1_000_000_000 * 1_000_000_000),
            dispatch_deadline=deadline,
            dispatch_count=self.dispatch_count,
            response_count=self.response_count,
            view=tasks_v2.Task.View.FULL if full else tasks_v2.Task.View.BASIC,
        )
        if self.first_dispatch_ns is not None:
            # "Only dispatch_time will be set" for first_attempt.
            task.first_attempt = tasks_v2.Attempt(dispatch_time=timestamp(self.first_dispatch_ns))
        if self.last_attempt is not None:
            task.last_attempt = self.last_attempt.to_proto()
        if self.retry_override is not None:
            task.retry_config = clone(self.retry_override)
        return task


@dataclass(eq=False)
class QueueRecord:
    """A queue: its normalized ``Queue`` message plus dispatch bookkeeping.

    ``running`` counts attempts in flight; ``blocked`` holds due entries held back by the
    PAUSED state or by ``max_concurrent_dispatches``, in due order.
    """

    queue: tasks_v2.Queue
    bucket: TokenBucket
    tasks: dict[str, TaskRecord] = field(default_factory=dict)
    running: int = 0
    blocked: deque[Entry] = field(default_factory=deque)

    @property
    def name(self) -> str:
        """Full queue name."""
        return str(self.queue.name)

    @property
    def running_state(self) -> bool:
        """Whether tasks may be dispatched (state RUNNING)."""
        return bool(self.queue.state == tasks_v2.Queue.State.RUNNING)

    @property
    def max_concurrent(self) -> int:
        """``rate_limits.max_concurrent_dispatches``."""
        return int(self.queue.rate_limits.max_concurrent_dispatches)

    def reconfigure_bucket(self) -> None:
        """Apply the queue's current rate limits to its token bucket."""
        limits = self.queue.rate_limits
        self.bucket.reconfigure(limits.max_dispatches_per_second, limits.max_burst_size)


@dataclass(eq=False)
class DispatchJob:
    """An attempt handed to a dispatch worker."""

    task: TaskRecord
    queue: QueueRecord
    attempt: AttemptRecord
    request: OutboundRequest
