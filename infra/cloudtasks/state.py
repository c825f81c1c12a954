"""Queues, tasks, name tombstones and the ETA heap, with Cloud Tasks v2 semantics.

Every public method takes ``Store.cond`` (a ``threading.Condition``); the dispatcher
waits on the same condition, and methods that add or remove work notify it.

Semantics emulated (https://cloud.google.com/tasks/docs/reference/rpc/google.cloud.tasks.v2):

* CreateTask with an explicit name fails with ALREADY_EXISTS while a task of that name
  exists or existed recently (completed, dropped, deleted or purged): names are
  remembered for ``tombstone_s`` seconds (production: about 1 hour).
* ``schedule_time`` absent or in the past means now; more than 30 days ahead is
  INVALID_ARGUMENT. ``dispatch_deadline`` defaults to 10 minutes and must lie in
  [``min_dispatch_deadline_s`` (15 s in production), 30 min].
* DeleteTask / RunTask on a task that completed or permanently failed: NOT_FOUND.
* RunTask dispatches at once even if the queue is PAUSED or rate limited; on failure the
  task is rescheduled with the retry delay.
* UpdateQueue creates the queue if it does not exist.
"""

from __future__ import annotations

import base64
import heapq
import itertools
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from google.cloud import tasks_v2

from infra.cloudtasks import config, names
from infra.cloudtasks.delivery import AttemptInfo, Outcome, build_request
from infra.cloudtasks.errors import already_exists, invalid_argument, not_found
from infra.cloudtasks.ratelimit import TokenBucket
from infra.cloudtasks.records import (
    AttemptRecord,
    DispatchJob,
    Entry,
    QueueRecord,
    TaskRecord,
    clone,
    timestamp,
)

logger = logging.getLogger(__name__)

NS = 1_000_000_000
MAX_SCHEDULE_AHEAD_S = 30 * 24 * 3600
DEFAULT_DISPATCH_DEADLINE_S = 600.0
MAX_DISPATCH_DEADLINE_S = 1800.0
MAX_TASK_BYTES = 100 * 1024
MAX_HEADER_BYTES = 80 * 1024
MAX_URL_CHARS = 2083
MAX_TASK_PAGE = 1000
MAX_QUEUE_PAGE = 9800
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_STATE_FILTER = re.compile(r"\s*state\s*[:=]\s*([A-Za-z_]+)\s*")
_TOMBSTONE_SWEEP_S = 60.0
_T = TypeVar("_T")


class Store:
    """All emulator state. Thread-safe through ``cond``.

    ``tombstone_s``: seconds a used task name stays reserved; ``max_in_flight``: total
    attempts in flight (the dispatch pool size); ``min_dispatch_deadline_s``: lower
    bound accepted for ``Task.dispatch_deadline`` (production: 15 s).
    """

    def __init__(
        self,
        *,
        tombstone_s: float = 3600.0,
        auto_create_queues: bool = False,
        max_in_flight: int = 32,
        min_dispatch_deadline_s: float = 15.0,
    ) -> None:
        self.cond = threading.Condition()
        self._tombstone_s = tombstone_s
        self._auto_create = auto_create_queues
        self._max_in_flight = max_in_flight
        self._min_deadline_s = min_dispatch_deadline_s
        self._queues: dict[str, QueueRecord] = {}
        self._tombstones: dict[str, float] = {}  # task name -> monotonic expiry
        self._next_sweep = time.monotonic() + _TOMBSTONE_SWEEP_S
        self._heap: list[Entry] = []
        self._seq = itertools.count()
        self._stale = 0
        self._in_flight = 0

    # ----------------------------------------------------------------- queues

    def create_queue(self, parent: str, queue: tasks_v2.Queue) -> tasks_v2.Queue:
        """CreateQueue: ALREADY_EXISTS if the name is taken."""
        names.check_location(parent)
        names.check_queue(queue.name)
        if names.queue_parent(queue.name) != parent:
            raise invalid_argument(f"Queue {queue.name!r} is not in {parent!r}")
        with self.cond:
            if queue.name in self._queues:
                raise already_exists(f"Queue {queue.name!r} already exists")
            fresh = tasks_v2.Queue(name=queue.name)
            config.apply_update(fresh, queue, [])
            return clone(self._add_queue(fresh).queue)

    def get_queue(self, name: str) -> tasks_v2.Queue:
        """GetQueue."""
        with self.cond:
            return clone(self._queue(name).queue)

    def list_queues(
        self, parent: str, filter_: str, page_size: int, page_token: str
    ) -> tuple[list[tasks_v2.Queue], str]:
        """ListQueues, ordered by name; ``filter_`` supports ``state: PAUSED`` etc."""
        names.check_location(parent)
        state = _parse_state_filter(filter_)
        with self.cond:
            records = sorted(
                (q for q in self._queues.values() if names.queue_parent(q.name) == parent),
                key=lambda q: q.name,
            )
            records = [q for q in records if state is None or q.queue.state == state]
            page, token = _paginate(
                records, lambda q: q.name, page_size, page_token, MAX_QUEUE_PAGE
            )
            return [clone(q.queue) for q in page], token

    def update_queue(self, queue: tasks_v2.Queue, paths: list[str]) -> tasks_v2.Queue:
        """UpdateQueue: applies the field mask; creates the queue if it does not exist."""
        names.check_queue(queue.name)
        with self.cond:
            record = self._queues.get(queue.name)
            if record is None:
                fresh = tasks_v2.Queue(name=queue.name)
                config.apply_update(fresh, queue, paths)
                return clone(self._add_queue(fresh).queue)
            updated = clone(record.queue)
            config.apply_update(updated, queue, paths)
            record.queue = updated
            record.reconfigure_bucket()
            self._release_blocked(record, everything=True)
            logger.info("queue updated", extra={"queue": record.name, "paths": paths})
            return clone(updated)

    def delete_queue(self, name: str) -> None:
        """DeleteQueue: the queue and all its tasks go (task names are tombstoned)."""
        with self.cond:
            record = self._queue(name)
            for task in list(record.tasks.values()):
                self._remove_task(record, task)
            del self._queues[name]
            logger.info("queue deleted", extra={"queue": name})
            self.cond.notify_all()

    def purge_queue(self, name: str) -> tasks_v2.Queue:
        """PurgeQueue: deletes every task of the queue and sets ``purge_time``."""
        with self.cond:
            record = self._queue(name)
            count = len(record.tasks)
            for task in list(record.tasks.values()):
                self._remove_task(record, task)
            record.blocked.clear()
            record.queue.purge_time = timestamp(time.time_ns() // 1000 * 1000)
            logger.info("queue purged", extra={"queue": name, "tasks": count})
            self.cond.notify_all()
            return clone(record.queue)

    def set_queue_state(self, name: str, paused: bool) -> tasks_v2.Queue:
        """PauseQueue (``paused``) / ResumeQueue."""
        with self.cond:
            record = self._queue(name)
            state = tasks_v2.Queue.State.PAUSED if paused else tasks_v2.Queue.State.RUNNING
            record.queue.state = tasks_v2.Queue.State(state)
            if not paused:
                self._release_blocked(record, everything=True)
            logger.info("queue paused" if paused else "queue resumed", extra={"queue": name})
            self.cond.notify_all()
            return clone(record.queue)

    # ------------------------------------------------------------------ tasks

    def create_task(self, parent: str, task: tasks_v2.Task, view: int) -> tasks_v2.Task:
        """CreateTask: validates, dedupes by name, schedules."""
        names.check_queue(parent)
        with self.cond:
            queue = self._queues.get(parent)
            if queue is None:
                if not self._auto_create:
                    raise not_found(f"Queue {parent!r} does not exist")
                queue = self._add_queue(tasks_v2.Queue(name=parent), normalize=True)
                logger.info("queue auto-created", extra={"queue": parent})
            record = self._new_task_record(parent, task, queue)
            if task.name:
                self._check_name_free(record.name)
            queue.tasks[record.name] = record
            self._push(record, record.schedule_ns / NS)
            logger.debug(
                "task created", extra={"task": record.name, "schedule_time_ns": record.schedule_ns}
            )
            return record.to_proto(view)

    def get_task(self, name: str, view: int) -> tasks_v2.Task:
        """GetTask."""
        names.check_task(name)
        with self.cond:
            return self._task(name)[1].to_proto(view)

    def list_tasks(
        self, parent: str, view: int, page_size: int, page_token: str
    ) -> tuple[list[tasks_v2.Task], str]:
        """ListTasks, ordered by task name."""
        names.check_queue(parent)
        with self.cond:
            records = sorted(self._queue(parent).tasks.values(), key=lambda t: t.name)
            page, token = _paginate(records, lambda t: t.name, page_size, page_token, MAX_TASK_PAGE)
            return [t.to_proto(view) for t in page], token

    def delete_task(self, name: str) -> None:
        """DeleteTask: NOT_FOUND once the task completed, was dropped or deleted."""
        names.check_task(name)
        with self.cond:
            queue, task = self._task(name)
            self._remove_task(queue, task)
            logger.info("task deleted", extra={"task": name})
            self.cond.notify_all()

    def run_task(self, name: str, view: int) -> tuple[tasks_v2.Task, DispatchJob]:
        """RunTask: starts an attempt now, ignoring pause and rate limits.

        Returns the task as dispatched (before any response) and the job to execute.
        """
        names.check_task(name)
        with self.cond:
            queue, task = self._task(name)
            task.generation += 1  # drop the pending heap entry, if any
            self._stale += 1
            job = self._begin_attempt(task, queue)
            return task.to_proto(view), job

    # ------------------------------------------------------------- dispatching

    def due_jobs(self, now_s: float) -> tuple[list[DispatchJob], float | None]:
        """Start every attempt due at ``now_s`` (epoch seconds) that limits allow.

        Returns the started jobs and the seconds until the next ETA (``None``: nothing
        scheduled, or the dispatch pool is full; a completion will notify). Caller holds
        ``cond``.
        """
        jobs: list[DispatchJob] = []
        while self._heap:
            entry = self._heap[0]
            if entry[0] > now_s:
                return jobs, entry[0] - now_s
            if self._in_flight >= self._max_in_flight:
                return jobs, None
            heapq.heappop(self._heap)
            found = self._live(entry)
            if found is None:
                self._stale = max(0, self._stale - 1)
                continue
            queue, task = found
            if not queue.running_state or queue.running >= queue.max_concurrent:
                queue.blocked.append(entry)
                continue
            wait_s = queue.bucket.try_take()
            if wait_s > 0:
                heapq.heappush(
                    self._heap, (now_s + max(wait_s, 0.001), entry[1], entry[2], entry[3])
                )
                continue
            jobs.append(self._begin_attempt(task, queue))
        return jobs, None

    def finish(self, job: DispatchJob, outcome: Outcome) -> None:
        """Record an attempt's outcome: complete, reschedule with backoff, or drop.

        Caller holds ``cond``; waiters are notified.
        """
        now_ns = time.time_ns()
        self._in_flight -= 1
        job.queue.running -= 1
        attempt, task = job.attempt, job.task
        attempt.response_ns = now_ns
        attempt.rpc_code = outcome.rpc_code
        attempt.message = outcome.detail
        queue = self._queues.get(task.queue_name)
        fields = {
            "task": task.name,
            "attempt": task.dispatch_count,
            "http_status": outcome.http_status,
            "result": outcome.reason,
        }
        if queue is not None and queue.tasks.get(task.name) is task:
            self._settle(queue, task, outcome, now_ns, fields)
        else:
            logger.info("attempt finished for a task no longer present", extra=fields)
        if self._queues.get(job.queue.name) is job.queue:
            self._release_blocked(job.queue, everything=False)
        self.cond.notify_all()

    def _settle(
        self,
        queue: QueueRecord,
        task: TaskRecord,
        outcome: Outcome,
        now_ns: int,
        fields: dict[str, object],
    ) -> None:
        task.in_flight -= 1
        task.previous_response = outcome.http_status
        if outcome.http_status is not None:
            task.response_count += 1
            if outcome.http_status < 500:
                task.execution_count += 1
        if outcome.succeeded:
            self._remove_task(queue, task)
            logger.info("task completed", extra=fields)
            return
        task.last_failure = outcome.reason
        if task.in_flight > 0:
            return  # a concurrent RunTask attempt decides what happens next
        policy = config.retry_policy(queue.queue, task.retry_override)
        first_ns = task.first_dispatch_ns if task.first_dispatch_ns is not None else now_ns
        if policy.gives_up(
            task.dispatch_count, (now_ns - first_ns) / NS, (now_ns - task.create_ns) / NS
        ):
            self._remove_task(queue, task)
            logger.error("task dropped: retries exhausted", extra=fields)
            return
        delay_s = policy.delay_s(task.dispatch_count)
        task.schedule_ns = (now_ns + round(delay_s * NS)) // 1000 * 1000
        task.generation += 1
        self._push(task, task.schedule_ns / NS)
        logger.warning("attempt failed; retry scheduled", extra={**fields, "delay_s": delay_s})

    # ---------------------------------------------------------------- helpers

    def _add_queue(self, queue: tasks_v2.Queue, normalize: bool = False) -> QueueRecord:
        if normalize:
            config.normalize_queue(queue)
        queue.state = tasks_v2.Queue.State(tasks_v2.Queue.State.RUNNING)
        limits = queue.rate_limits
        record = QueueRecord(
            queue, TokenBucket(limits.max_dispatches_per_second, limits.max_burst_size)
        )
        self._queues[queue.name] = record
        logger.info("queue created", extra={"queue": queue.name})
        return record

    def _queue(self, name: str) -> QueueRecord:
        names.check_queue(name)
        record = self._queues.get(name)
        if record is None:
            raise not_found(f"Queue {name!r} does not exist")
        return record

    def _task(self, name: str) -> tuple[QueueRecord, TaskRecord]:
        queue = self._queues.get(names.task_queue(name))
        task = queue.tasks.get(name) if queue is not None else None
        if queue is None or task is None:
            raise not_found(f"Task {name!r} does not exist (or already completed/deleted)")
        return queue, task

    def _live(self, entry: Entry) -> tuple[QueueRecord, TaskRecord] | None:
        queue = self._queues.get(names.task_queue(entry[2]))
        task = queue.tasks.get(entry[2]) if queue is not None else None
        if queue is None or task is None or task.generation != entry[3] or task.in_flight:
            return None
        return queue, task

    def _check_name_free(self, name: str) -> None:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._tombstones = {n: t for n, t in self._tombstones.items() if t > now}
            self._next_sweep = now + _TOMBSTONE_SWEEP_S
        queue = self._queues.get(names.task_queue(name))
        if (queue is not None and name in queue.tasks) or self._tombstones.get(name, 0) > now:
            raise already_exists(
                f"Requested entity already exists: task {name!r} exists "
                "or was completed/deleted recently"
            )

    def _new_task_record(self, parent: str, task: tasks_v2.Task, queue: QueueRecord) -> TaskRecord:
        if "app_engine_http_request" in task:
            raise invalid_argument(
                "App Engine tasks are not supported by this emulator; use http_request"
            )
        if "http_request" not in task:
            raise invalid_argument("Task.http_request is required")
        if len(tasks_v2.Task.serialize(task)) > MAX_TASK_BYTES:
            raise invalid_argument("Task size exceeds the 100KB limit")
        if task.name:
            names.check_task(task.name)
            if names.task_queue(task.name) != parent:
                raise invalid_argument(f"Task {task.name!r} does not belong to queue {parent!r}")
            name = task.name
        else:
            name = self._generated_name(parent, queue)
        http = clone(task.http_request)
        _validate_http(http, queue.queue)
        now_ns = time.time_ns()
        raw = tasks_v2.Task.pb(task)
        schedule_ns = now_ns
        if raw.HasField("schedule_time"):
            requested = raw.schedule_time.ToNanoseconds()
            if requested > now_ns + MAX_SCHEDULE_AHEAD_S * NS:
                raise invalid_argument("schedule_time must be at most 30 days in the future")
            schedule_ns = max(now_ns, requested)
        deadline_s = DEFAULT_DISPATCH_DEADLINE_S
        if raw.HasField("dispatch_deadline"):
            deadline_s = config.duration_s(raw.dispatch_deadline)
            if not self._min_deadline_s <= deadline_s <= MAX_DISPATCH_DEADLINE_S:
                raise invalid_argument(
                    f"dispatch_deadline must be in [{self._min_deadline_s:g}s, 1800s]"
                )
            deadline_s = round(deadline_s, 3)
        override = None
        if raw.HasField("retry_config"):
            override = clone(task.retry_config)
            config.validate_retry_override(override)
        return TaskRecord(
            name=name,
            queue_name=parent,
            http_request=http,
            schedule_ns=schedule_ns // 1000 * 1000,
            create_ns=now_ns,
            dispatch_deadline_s=deadline_s,
            retry_override=override,
        )

    def _generated_name(self, parent: str, queue: QueueRecord) -> str:
        while True:
            name = f"{parent}/tasks/{names.new_task_id()}"
            if name not in queue.tasks and name not in self._tombstones:
                return name

    def _push(self, task: TaskRecord, eta_s: float) -> None:
        heapq.heappush(self._heap, (eta_s, next(self._seq), task.name, task.generation))
        if self._stale > 1024 and self._stale * 2 > len(self._heap):
            self._heap = [e for e in self._heap if self._live(e) is not None]
            heapq.heapify(self._heap)
            self._stale = 0
        self.cond.notify_all()

    def _remove_task(self, queue: QueueRecord, task: TaskRecord) -> None:
        del queue.tasks[task.name]
        task.generation += 1
        self._stale += 1
        if self._tombstone_s > 0:
            self._tombstones[task.name] = time.monotonic() + self._tombstone_s

    def _begin_attempt(self, task: TaskRecord, queue: QueueRecord) -> DispatchJob:
        now_ns = time.time_ns()
        info = AttemptInfo(
            queue_id=names.last_segment(queue.name),
            task_id=names.last_segment(task.name),
            retry_count=task.dispatch_count,
            execution_count=task.execution_count,
            eta_ns=task.schedule_ns,
            previous_response=task.previous_response,
            retry_reason=task.last_failure,
            deadline_s=task.dispatch_deadline_s,
        )
        target = queue.queue.http_target if "http_target" in queue.queue else None
        request = build_request(task.http_request, target, info)
        task.dispatch_count += 1
        task.in_flight += 1
        queue.running += 1
        self._in_flight += 1
        if task.first_dispatch_ns is None:
            task.first_dispatch_ns = now_ns
        attempt = AttemptRecord(schedule_ns=task.schedule_ns, dispatch_ns=now_ns)
        task.last_attempt = attempt
        logger.debug(
            "dispatching",
            extra={"task": task.name, "attempt": task.dispatch_count, "url": request.url},
        )
        return DispatchJob(task, queue, attempt, request)

    def _release_blocked(self, queue: QueueRecord, everything: bool) -> None:
        """Move held-back entries of ``queue`` back to the heap (as many as may run)."""
        if not queue.running_state:
            return
        room = len(queue.blocked) if everything else queue.max_concurrent - queue.running
        while queue.blocked and room > 0:
            entry = queue.blocked.popleft()
            if self._live(entry) is not None:
                heapq.heappush(self._heap, entry)
                room -= 1
        self.cond.notify_all()


def _validate_http(http: tasks_v2.HttpRequest, queue: tasks_v2.Queue) -> None:
    has_uri_override = "http_target" in queue and "uri_override" in queue.http_target
    if not http.url and not has_uri_override:
        raise invalid_argument("HttpRequest.url is required")
    if http.url and not http.url.startswith(("http://", "https://")):
        raise invalid_argument("HttpRequest.url must start with 'http://' or 'https://'")
    if len(http.url) > MAX_URL_CHARS:
        raise invalid_argument("HttpRequest.url must be at most 2083 characters")
    method = "POST" if http.http_method == 0 else tasks_v2.HttpMethod(http.http_method).name
    if http.body and method not in _BODY_METHODS:
        raise invalid_argument(f"HttpRequest.body is not allowed for {method} requests")
    if sum(len(k) + len(v) for k, v in http.headers.items()) >= MAX_HEADER_BYTES:
        raise invalid_argument("HttpRequest.headers must be smaller than 80KB")


def _parse_state_filter(filter_: str) -> int | None:
    if not filter_.strip():
        return None
    match = _STATE_FILTER.fullmatch(filter_)
    if match is None or match.group(1).upper() not in tasks_v2.Queue.State.__members__:
        raise invalid_argument(f"Unsupported filter {filter_!r}; use 'state: RUNNING|PAUSED'")
    return int(tasks_v2.Queue.State.__members__[match.group(1).upper()])


def _paginate(
    items: list[_T], key: Callable[[_T], str], page_size: int, token: str, maximum: int
) -> tuple[list[_T], str]:
    if page_size < 0:
        raise invalid_argument("page_size must not be negative")
    size = min(page_size or maximum, maximum)
    start = 0
    if token:
        try:
            after = base64.urlsafe_b64decode(token.encode()).decode()
        except (ValueError, UnicodeDecodeError) as exc:
            raise invalid_argument("Invalid page_token") from exc
        start = next((i for i, item in enumerate(items) if key(item) > after), len(items))
    page = items[start : start + size]
    more = start + size < len(items)
    next_token = base64.urlsafe_b64encode(key(page[-1]).encode()).decode() if more else ""
    return page, next_token
