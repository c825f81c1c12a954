"""Service logs in the ``make run`` terminal, one prefix per service (as honcho or compose do).

Every service of the stack writes to its own file under ``.stack/logs/`` (kept across restarts,
appended to). :class:`LogFollower` follows those files from their current end and prints each new
line as ``name | line``; a structured JSON line (the functions' and the relay's logger) is shown
as ``SEVERITY message key=value...``. The minutely sweeper is quiet by default: its INFO lines
(one per sweep) are hidden unless ``show_all`` is set; warnings and errors always show.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import TextIO

#: Services whose INFO lines are hidden unless every line is asked for.
QUIET = frozenset({"sweeper", "scheduler"})
#: Fields of a structured line not repeated after its message.
_SKIP = frozenset(
    {
        "severity",
        "message",
        "time",
        "timestamp",
        "logger",
        "logging.googleapis.com/trace",
        "logging.googleapis.com/sourceLocation",
        "logging.googleapis.com/spanId",
    }
)
_COLOURS = (36, 33, 32, 35, 34, 91, 92, 93, 94, 95, 96)
_LOUD = frozenset({"WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY"})


def render(line: str) -> tuple[str, str]:
    """``(severity, text)`` of one log line; plain lines have severity ``""``."""
    stripped = line.strip()
    if not stripped.startswith("{"):
        return "", stripped
    try:
        record = json.loads(stripped)
    except ValueError:
        return "", stripped
    if not isinstance(record, dict):
        return "", stripped
    severity = str(record.get("severity", "")).upper()
    extras = " ".join(
        f"{k}={json.dumps(v, separators=(',', ':'), default=str)}"
        for k, v in record.items()
        if k not in _SKIP and not k.startswith("logging.googleapis.com/") and v not in ({}, None)
    )
    text = f"{severity:<7} {record.get('message', '')} {extras}".rstrip()
    return severity, text


def visible(service: str, severity: str, show_all: bool) -> bool:
    """Whether a line of ``service`` with ``severity`` is printed."""
    return show_all or service not in QUIET or severity in _LOUD


class LogFollower:
    """Prints new lines of ``{logs}/{name}.log`` for each name, in a daemon thread."""

    def __init__(
        self,
        logs: Path,
        names: list[str],
        *,
        show_all: bool = False,
        out: TextIO | None = None,
        poll_s: float = 0.25,
    ) -> None:
        self.logs = logs
        self.names = names
        self.show_all = show_all
        self.out = out or sys.stdout
        self.poll_s = poll_s
        self.width = max(len(n) for n in names)
        colour = self.out.isatty()
        self._prefix = {
            name: (
                f"\x1b[{_COLOURS[i % len(_COLOURS)]}m{name:<{self.width}} |\x1b[0m"
                if colour
                else f"{name:<{self.width}} |"
            )
            for i, name in enumerate(names)
        }
        self._offsets = {name: self._size(name) for name in names}
        self._partial = {name: "" for name in names}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-follower", daemon=True)

    def _size(self, name: str) -> int:
        path = self.logs / f"{name}.log"
        return path.stat().st_size if path.exists() else 0

    def start(self) -> None:
        """Start following from the files' current ends."""
        self._thread.start()

    def stop(self) -> None:
        """Print what is left and stop."""
        self._stop.set()
        self._thread.join(timeout=5)

    def emit(self, name: str, text: str) -> None:
        """Print one line under ``name``'s prefix (also used for the supervisor's own lines)."""
        with self._lock:
            self.out.write(f"{self._prefix.get(name, name)} {text}\n")
            self.out.flush()

    def poll(self) -> None:
        """Read and print what each file gained since the last poll."""
        for name in self.names:
            path = self.logs / f"{name}.log"
            if not path.exists():
                continue
            size = path.stat().st_size
            offset = self._offsets[name]
            if size < offset:  # truncated: start over
                offset = 0
            if size == offset:
                continue
            with path.open("rb") as handle:
                handle.seek(offset)
                chunk = handle.read(size - offset)
            self._offsets[name] = size
            text = self._partial[name] + chunk.decode("utf-8", errors="replace")
            *lines, self._partial[name] = text.split("\n")
            for line in lines:
                if not line.strip():
                    continue
                severity, shown = render(line)
                if visible(name, severity, self.show_all):
                    self.emit(name, shown[:2000])

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            self.poll()
        self.poll()
