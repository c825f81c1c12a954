"""Shared pieces of the relay's integration tests: an in-process relay server on a free port,
an SSE client that keeps every frame (comments and ``retry`` included), and ``emit``, which
produces events the way the functions do (a Firestore batch, then ``publish_events``)."""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from infra.localenv import PROJECT
from sharecast.auth import issue_dev_token
from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.domain.events import Event
from sharecast.domain.statuses import EventType
from sharecast.outbox import Outbox
from sharecast.relay.app import create_app
from sharecast.relay.runtime import Relay

REPO = Path(__file__).resolve().parents[3]
JWT_SECRET = "relay-test-secret-0123456789abcdef"
RETRY_MS = 1500


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "google_cloud_project": PROJECT,
        "jwt_secret": JWT_SECRET,
        "relay_instance_id": f"test-{uuid.uuid4().hex[:8]}",
        "relay_heartbeat_s": 0.2,
        "relay_retry_ms": RETRY_MS,
    }
    values.update(overrides)
    return Settings(**values)


class RelayServer:
    """The relay app served by uvicorn in a background thread on a free port."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings, Clients(settings))
        self.relay: Relay = self.app.state.relay
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            lifespan="on",
            timeout_graceful_shutdown=5,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="relay", daemon=True)

    def start(self) -> RelayServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive(), "relay failed to start"
            assert time.monotonic() < deadline, "relay did not start in time"
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        """What SIGTERM does, for an in-thread server: drain the streams, then shut down."""
        loop = self.relay.loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self.relay.drain)
        self.server.should_exit = True
        self.thread.join(timeout=20)
        assert not self.thread.is_alive(), "relay did not stop"

    def token(self, user_id: str) -> str:
        return issue_dev_token(self.settings, user_id=user_id)


def new_user() -> str:
    return f"user-{uuid.uuid4().hex[:10]}"


def emit(
    clients: Clients, user_id: str, count: int, *, pad: int = 0, group: int = 0
) -> list[Event]:
    """Write ``count`` events to the event log in one batch, then publish them.

    With ``group``, do that in batches of ``group`` events (smaller bursts).
    """
    if group and count > group:
        out: list[Event] = []
        while len(out) < count:
            out += emit(clients, user_id, min(group, count - len(out)), pad=pad)
        return out
    events = [
        Event.new(
            user_id=user_id,
            type=EventType.TARGET_STATUS,
            data={"post_id": "p1", "target_id": f"t{n}", "status": "SUCCESS", "version": n + 1}
            | ({"pad": "x" * pad} if pad else {}),
        )
        for n in range(count)
    ]
    outbox = Outbox(db=clients.firestore, pubsub=clients.pubsub, settings=clients.settings)
    batch = clients.firestore.batch()
    outbox.add(batch, events)
    batch.commit()
    published = outbox.flush(events)
    assert published == count
    return events


# --------------------------------------------------------------------------- an SSE client


@dataclass
class SseClient:
    """Reads one stream on a thread and parses frames (comments and ``retry`` included)."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    frames: queue.Queue[dict[str, str]] = field(default_factory=queue.Queue)
    seen: list[dict[str, str]] = field(default_factory=list)
    status: int | None = None
    body: bytes = b""
    ended: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    _connected: threading.Event = field(default_factory=threading.Event)
    _closing: threading.Event = field(default_factory=threading.Event)

    def start(self) -> SseClient:
        threading.Thread(target=self._run, daemon=True).start()
        assert self._connected.wait(15), "no response"
        return self

    def _run(self) -> None:
        try:
            timeout = httpx.Timeout(10.0, read=30.0)
            with httpx.stream(
                "GET", self.url, headers=self.headers, params=self.params, timeout=timeout
            ) as response:
                self.status = response.status_code
                if response.status_code != 200:
                    self.body = response.read()
                    self._connected.set()
                    return
                self._connected.set()
                current: dict[str, str] = {}
                for line in response.iter_lines():
                    if self._closing.is_set():
                        return
                    if line == "":
                        if current:
                            self.frames.put(current)
                        current = {}
                        continue
                    name, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    key = "comment" if name == "" else name
                    current[key] = current[key] + "\n" + value if key in current else value
        except BaseException as exc:
            self.error = exc
        finally:
            self._connected.set()
            self.ended.set()

    def next(self, timeout_s: float = 10.0) -> dict[str, str]:
        frame = self.frames.get(timeout=timeout_s)
        self.seen.append(frame)
        return frame

    def events(self, count: int, timeout_s: float = 15.0) -> list[dict[str, str]]:
        """The next ``count`` event frames (with an ``id``), skipping pings and hints."""
        deadline = time.monotonic() + timeout_s
        found: list[dict[str, str]] = []
        while len(found) < count:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"got {len(found)} of {count} events"
            try:
                frame = self.next(remaining)
            except queue.Empty:
                continue
            if "id" in frame:
                found.append(frame)
        return found

    def quiet_for(self, seconds: float) -> list[dict[str, str]]:
        """Event frames received during ``seconds`` (pings ignored)."""
        deadline = time.monotonic() + seconds
        found = []
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                frame = self.next(remaining)
            except queue.Empty:
                break
            if "id" in frame or "event" in frame:
                found.append(frame)
        return found

    def close(self) -> None:
        self._closing.set()
        self.ended.wait(5)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
