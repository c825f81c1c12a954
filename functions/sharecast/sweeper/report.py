"""What a sweep is asked for and what it did (docs/semantics.md#the-sweeper): the sweep kinds, the
report every step counts into, and the type of a step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sharecast.app import AppContext


class SweepKind(StrEnum):
    """Which sweep a Cloud Scheduler job asks for (body ``{"sweep": ...}``)."""

    MINUTELY = "minutely"
    DAILY = "daily"


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
Step = Callable[[AppContext, datetime, SweepReport], None]
