"""A small real SSE client for tests: reads ``text/event-stream`` over httpx in a thread."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Frame:
    """One dispatched SSE event."""

    id: str | None
    event: str
    data: Any


@dataclass
class SSEClient:
    """Connects to ``url`` and collects frames until :meth:`close`."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    frames: list[Frame] = field(default_factory=list)
    retry_ms: int | None = None
    comments: int = 0
    status_code: int | None = None
    error: BaseException | None = None

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._connected = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(5.0, read=60.0)) as client,
                client.stream("GET", self.url, headers=self.headers) as response,
            ):
                self.status_code = response.status_code
                self._connected.set()
                if response.status_code != 200:
                    return
                self._parse(response)
        except BaseException as exc:  # reported to the test through .error
            if not self._stop.is_set():
                self.error = exc
        finally:
            self._connected.set()
            with self._cond:
                self._cond.notify_all()

    def _parse(self, response: httpx.Response) -> None:
        event_id, event = None, "message"
        data: list[str] = []
        for line in response.iter_lines():
            if self._stop.is_set():
                return
            if line == "":
                if data:
                    frame = Frame(event_id, event, json.loads("\n".join(data)))
                    with self._cond:
                        self.frames.append(frame)
                        self._cond.notify_all()
                event, data = "message", []
                continue
            if line.startswith(":"):
                self.comments += 1
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "id":
                event_id = value
            elif name == "event":
                event = value
            elif name == "data":
                data.append(value)
            elif name == "retry" and value.isdigit():
                self.retry_ms = int(value)

    def wait_connected(self, timeout: float = 10.0) -> int | None:
        """Wait for the response status line; returns the status code."""
        self._connected.wait(timeout)
        return self.status_code

    def wait_for(self, predicate: Any, timeout: float = 60.0) -> list[Frame]:
        """Wait until ``predicate(frames)`` is true; returns the frames. Raises TimeoutError."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.frames):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (not self._thread.is_alive() and not predicate(self.frames)):
                    raise TimeoutError(f"condition not met; got {len(self.frames)} frames")
                self._cond.wait(min(remaining, 0.5))
            return list(self.frames)

    @property
    def alive(self) -> bool:
        """True while the stream is being read (false once the server closed it or failed)."""
        return self._thread.is_alive()

    def close(self) -> None:
        """Stop reading (the connection closes when the thread exits)."""
        self._stop.set()
