"""Timer-driven dispatch: one scheduler thread plus a bounded pool of HTTP workers.

The scheduler sleeps on ``Store.cond`` exactly until the earliest ETA in the heap
(``Condition.wait(timeout=eta - now)``) and is woken early whenever work is added,
removed or finished, so a task runs within milliseconds of its ``schedule_time``; there
is no polling interval. Due attempts go to a fixed pool of ``workers`` threads, each with
its own ``requests.Session`` (proxy environment variables are ignored: production Cloud
Tasks does not use the caller's proxy either). The pool is hand-rolled rather than a
``ThreadPoolExecutor`` so its threads are daemons: a handler hanging until its 30-minute
deadline cannot delay shutdown on SIGTERM.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

import requests

from infra.cloudtasks.delivery import Outcome, deliver
from infra.cloudtasks.records import DispatchJob
from infra.cloudtasks.state import Store

logger = logging.getLogger(__name__)


class Dispatcher:
    """Runs attempts for ``store`` with at most ``workers`` HTTP requests in flight."""

    def __init__(self, store: Store, workers: int = 32) -> None:
        self._store = store
        self._workers = workers
        self._jobs: queue.SimpleQueue[DispatchJob | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._stopping = False

    def start(self) -> None:
        """Start the scheduler thread and the worker threads."""
        self._stopping = False
        scheduler = threading.Thread(
            target=self._schedule, name="cloudtasks-scheduler", daemon=True
        )
        self._threads = [scheduler] + [
            threading.Thread(target=self._work, name=f"cloudtasks-worker-{i}", daemon=True)
            for i in range(self._workers)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop scheduling; wait up to ``timeout_s`` seconds for idle threads to exit.

        Attempts still waiting on a slow handler are abandoned (threads are daemons).
        """
        with self._store.cond:
            self._stopping = True
            self._store.cond.notify_all()
        for _ in range(self._workers):
            self._jobs.put(None)
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = []

    def submit(self, job: DispatchJob) -> None:
        """Hand an already-started attempt (e.g. from RunTask) to the workers."""
        self._jobs.put(job)

    def _schedule(self) -> None:
        cond = self._store.cond
        with cond:
            while not self._stopping:
                jobs, timeout_s = self._store.due_jobs(time.time())
                for job in jobs:
                    self._jobs.put(job)
                cond.wait(timeout_s)

    def _work(self) -> None:
        session = requests.Session()
        session.trust_env = False
        try:
            while True:
                job = self._jobs.get()
                if job is None:
                    return
                outcome = self._attempt(job, session)
                with self._store.cond:
                    self._store.finish(job, outcome)
        finally:
            session.close()

    @staticmethod
    def _attempt(job: DispatchJob, session: requests.Session) -> Outcome:
        try:
            return deliver(job.request, session)
        except Exception as exc:  # keep counters right whatever happens
            logger.exception("dispatch crashed", extra={"task": job.task.name})
            return Outcome(None, 2, f"emulator error: {exc}")
