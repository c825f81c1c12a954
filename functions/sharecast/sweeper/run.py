"""Running a sweep: its steps in order, and the one report it logs
(docs/semantics.md#the-sweeper)."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from sharecast.app import AppContext
from sharecast.logs import fields
from sharecast.sweeper import steps
from sharecast.sweeper.report import Step, SweepKind, SweepReport

log = logging.getLogger(__name__)


def steps_of(kind: SweepKind) -> tuple[Step, ...]:
    """The steps of a sweep, in order."""
    if kind is SweepKind.MINUTELY:
        return (
            steps.enqueue_pending_posts,  # first: due targets skip the posts it handled
            steps.enqueue_upcoming_targets,
            steps.resume_due_targets,
            steps.resume_expired_leases,
            steps.resume_due_continuations,
            steps.republish_events,
            steps.catch_up_consumers,
        )
    # Daily steps (docs/semantics.md#the-sweeper): media past expires_at, uploads stuck in
    # UPLOADING.
    return (steps.cleanup_media,)


def run_sweep(ctx: AppContext, *, kind: SweepKind, now: datetime) -> SweepReport:
    """Run every step of ``kind`` at ``now`` (UTC) and log one structured line with the counts.

    Idempotent: running it twice, or two instances at once, re-creates no task twice (named
    tasks) and changes no target twice (transactions re-check the state). A failing step is
    logged and reported in ``errors``; the other steps still run.
    """
    report = SweepReport(sweep=kind.value)
    started = time.monotonic()
    for step in steps_of(kind):
        try:
            step(ctx, now, report)
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
