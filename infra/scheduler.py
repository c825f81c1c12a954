"""A local stand-in for Cloud Scheduler: POSTs the sweeper's job bodies on their cron schedules.

The jobs are read from ``local.sweeper_schedule`` in ``terraform/scheduler.tf`` (python-hcl2),
the one place that defines them, so ``make run`` sweeps exactly like production. Schedules are
evaluated in UTC with croniter (https://github.com/pallets-eco/croniter). Locally the request
carries the shared ``X-Sharecast-Internal-Auth`` secret instead of Scheduler's OIDC token.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import hcl2
import requests
from croniter import croniter

log = logging.getLogger("infra.scheduler")

SCHEDULER_TF = Path(__file__).resolve().parent.parent / "terraform" / "scheduler.tf"
AUTH_HEADER = "X-Sharecast-Internal-Auth"


@dataclass(frozen=True)
class Job:
    """One scheduler job: its name, cron ``schedule`` (UTC here) and JSON ``body``."""

    name: str
    schedule: str
    body: dict[str, Any]


def _unquote(value: Any) -> Any:
    if isinstance(value, dict):
        return {_unquote(k): _unquote(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def load_jobs(path: Path = SCHEDULER_TF) -> list[Job]:
    """The jobs of ``local.sweeper_schedule``. Raises ``KeyError`` when the map is missing."""
    with path.open() as handle:
        doc = hcl2.load(handle)
    for block in doc.get("locals", []):
        if "sweeper_schedule" in block:
            jobs = _unquote(block["sweeper_schedule"])
            return [Job(name, job["schedule"], dict(job["body"])) for name, job in jobs.items()]
    raise KeyError(f"no local.sweeper_schedule in {path}")


class LocalScheduler:
    """Calls ``url`` with each job's body whenever its schedule fires, in a daemon thread."""

    def __init__(self, url: str, secret: str, jobs: list[Job] | None = None) -> None:
        self.url = url
        self.secret = secret
        self.jobs = jobs if jobs is not None else load_jobs()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="local-scheduler", daemon=True)

    def start(self) -> None:
        """Start firing (the first run of each job is its next scheduled time)."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current call."""
        self._stop.set()
        self._thread.join(timeout=5)

    def fire(self, job: Job) -> int | None:
        """POST one job's body now; returns the HTTP status (None when unreachable)."""
        try:
            response = requests.post(
                self.url,
                data=json.dumps(job.body),
                headers={"Content-Type": "application/json", AUTH_HEADER: self.secret},
                timeout=320,
            )
        except requests.RequestException as exc:
            log.warning("scheduler job %s: sweeper unreachable: %s", job.name, exc)
            return None
        log.info("scheduler job %s -> %d %s", job.name, response.status_code, response.text[:300])
        return response.status_code

    def _run(self) -> None:
        now = datetime.now(UTC)
        due = {job.name: croniter(job.schedule, now).get_next(datetime) for job in self.jobs}
        by_name = {job.name: job for job in self.jobs}
        while not self._stop.is_set():
            name = min(due, key=lambda n: due[n])
            wait = (due[name] - datetime.now(UTC)).total_seconds()
            if wait > 0 and self._stop.wait(wait):
                return
            self.fire(by_name[name])
            due[name] = croniter(by_name[name].schedule, datetime.now(UTC)).get_next(datetime)
