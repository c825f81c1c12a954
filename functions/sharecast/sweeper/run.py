"""Running a sweep: its dependencies, its steps, and the one report it logs
(docs/semantics.md#the-sweeper)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import google.cloud.pubsub_v1 as pubsub_v1
from google.cloud import firestore, storage, tasks_v2

from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.logs import fields

log = logging.getLogger(__name__)


class SweepKind(StrEnum):
    """Which sweep a Cloud Scheduler job asks for (body ``{"sweep": ...}``)."""

    MINUTELY = "minutely"
    DAILY = "daily"


@dataclass(frozen=True)
class Sweeper:
    """Everything a sweep needs, built once per process by the entry point."""

    settings: Settings
    db: firestore.Client
    tasks: tasks_v2.CloudTasksClient
    pubsub: pubsub_v1.PublisherClient
    storage: storage.Client

    @classmethod
    def build(cls, settings: Settings, clients: Clients) -> Sweeper:
        """A sweeper on the process's lazily built Google clients."""
        return cls(
            settings=settings,
            db=clients.firestore,
            tasks=clients.tasks,
            pubsub=clients.publisher,
            storage=clients.storage,
        )


@dataclass
class SweepReport:
    """What one sweep did: ``counts`` by name, the steps whose batch was full (``truncated``:
    more remains for the next run), and the steps that failed (``errors``, step => reason)."""

    sweep: str
    counts: dict[str, int] = field(default_factory=dict)
    truncated: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    duration_ms: int = 0
    #: Posts the enqueue step handled in this run (the due-targets step leaves them alone).
    handled_posts: set[str] = field(default_factory=set)
    #: Posts with a target the sweep changed, whose status must be rolled up.
    rollup_posts: set[str] = field(default_factory=set)

    def add(self, name: str, n: int = 1) -> None:
        """Add ``n`` to the count ``name``."""
        self.counts[name] = self.counts.get(name, 0) + n

    def batch(self, step: str, found: int, limit: int) -> None:
        """Count a step's batch of ``found`` items and note when it hit ``limit``."""
        self.add(f"{step}_found", found)
        if found >= limit:
            self.truncated.append(step)

    def to_json(self) -> dict[str, Any]:
        """The HTTP answer of the sweeper."""
        return {
            "sweep": self.sweep,
            "counts": dict(sorted(self.counts.items())),
            "truncated": self.truncated,
            "errors": self.errors,
            "durationMs": self.duration_ms,
        }


#: One step of a sweep: does its batch at ``now`` (UTC) and counts into the report. A step
#: raises only for failures that should be reported; the other steps still run.
Step = Callable[[Sweeper, datetime, SweepReport], None]


def steps_of(kind: SweepKind) -> tuple[Step, ...]:
    """The steps of a sweep, in order."""
    from sharecast.sweeper import steps

    if kind is SweepKind.MINUTELY:
        return (
            steps.enqueue_pending_posts,  # first: due targets skip the posts it handled
            steps.enqueue_upcoming_targets,
            steps.resume_due_targets,
            steps.resume_expired_leases,
            steps.resume_due_continuations,
            steps.republish_events,
        )
    # Daily steps (docs/semantics.md#the-sweeper): media past expires_at, uploads stuck in
    # UPLOADING.
    return (steps.cleanup_media,)


def run_sweep(sweeper: Sweeper, *, kind: SweepKind, now: datetime) -> SweepReport:
    """Run every step of ``kind`` at ``now`` (UTC) and log one structured line with the counts.

    Idempotent: running it twice, or two instances at once, re-creates no task twice (named
    tasks) and changes no target twice (transactions re-check the state). A failing step is
    logged and reported in ``errors``; the other steps still run.
    """
    report = SweepReport(sweep=kind.value)
    started = time.monotonic()
    for step in steps_of(kind):
        try:
            step(sweeper, now, report)
        except Exception as exc:  # one broken step must not stop the others
            log.exception("sweep step failed", extra=fields(step=step.__name__))
            report.errors[step.__name__] = f"{type(exc).__name__}: {exc}"[:300]
    report.duration_ms = int((time.monotonic() - started) * 1000)
    log.info(
        "sweep finished",
        extra=fields(
            sweep=kind.value,
            counts=report.counts,
            truncated=report.truncated,
            errors=report.errors,
            duration_ms=report.duration_ms,
        ),
    )
    return report
