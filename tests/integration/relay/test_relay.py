"""The relay against the real Firestore and Pub/Sub emulators (SPEC §7).

The emulators are the session stack's (``tests/conftest.py``); the relay under test runs
in-process (uvicorn in a thread) on a free port; one test also runs it as a uvicorn subprocess
to send a real SIGTERM.
Events are produced the way the functions produce them: written to the Firestore event log in a
batch (``store.events.add_event``), then published with ``sharecast.events.publish_events``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import uvicorn

from infra.stack import Stack
from sharecast.auth import Principal, issue_dev_token, issue_sse_token
from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.domain.events import Event
from sharecast.domain.statuses import EventType
from sharecast.events import publish_events
from sharecast.relay.app import create_app
from sharecast.relay.runtime import Relay
from sharecast.store.events import add_event

REPO = Path(__file__).resolve().parents[3]
PROJECT = os.environ["GOOGLE_CLOUD_PROJECT"]  # set by tests/conftest.py
JWT_SECRET = "relay-test-secret-0123456789abcdef"
RETRY_MS = 1500


# --------------------------------------------------------------------------- infrastructure


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def emulators(stack: Stack) -> dict[str, str]:
    """The session stack's Firestore and Pub/Sub emulators (their env is set by conftest)."""
    return {
        k: os.environ[k]
        for k in ("FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST", "GOOGLE_CLOUD_PROJECT")
    }


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


@pytest.fixture(scope="module")
def relay(emulators: dict[str, str]) -> Iterator[RelayServer]:
    server = RelayServer(make_settings()).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def clients(emulators: dict[str, str]) -> Clients:
    return Clients(make_settings())


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
    db = clients.firestore
    batch = db.batch()
    for event in events:
        add_event(batch, db, event, ttl=timedelta(days=1))
    batch.commit()
    published = publish_events(
        publisher=clients.publisher,
        db=db,
        topic_path=clients.settings.topic_path,
        events=events,
    )
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


@pytest.fixture
def sse() -> Iterator[Callable[..., SseClient]]:
    opened: list[SseClient] = []

    def open_stream(base_url: str, **kwargs: Any) -> SseClient:
        client = SseClient(f"{base_url}/events", **kwargs).start()
        opened.append(client)
        return client

    yield open_stream
    for client in opened:
        client.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --------------------------------------------------------------------------- tests


def test_healthz_and_instance_subscription(relay: RelayServer) -> None:
    health = httpx.get(f"{relay.base_url}/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    missing = httpx.get(f"{relay.base_url}/nope")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert httpx.post(f"{relay.base_url}/events").status_code == 405

    sub = relay.relay.clients.subscriber.get_subscription(
        subscription=relay.relay.subscription.path
    )
    assert sub.name.endswith(f"/subscriptions/relay-{relay.settings.relay_instance_id}")
    assert sub.topic == relay.settings.topic_path
    assert sub.ack_deadline_seconds == 10
    assert sub.message_retention_duration.total_seconds() == 600
    assert sub.expiration_policy.ttl.total_seconds() == relay.settings.relay_subscription_ttl_s


def _assert_401(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["status"] == 401
    assert body["code"] == "UNAUTHENTICATED"
    assert {"type", "title", "detail"} <= body.keys()


def test_credentials_are_checked_before_any_stream(relay: RelayServer) -> None:
    url = f"{relay.base_url}/events"
    settings = relay.settings
    user_jwt = relay.token("alice")
    expired = issue_dev_token(settings, user_id="alice", ttl_s=-3600)
    forged = jwt.encode(
        {"sub": "alice", "exp": int(time.time()) + 600},
        "not-the-secret-not-the-secret-not-the-secret",
        algorithm="HS256",
    )
    sse_token, _ = issue_sse_token(Principal("alice", "user"), settings)
    rejected = [
        httpx.get(url),
        httpx.get(url, headers=bearer(expired)),
        httpx.get(url, headers=bearer(forged)),
        httpx.get(url, headers={"Authorization": f"Basic {user_jwt}"}),
        httpx.get(url, headers=bearer(sse_token)),  # relay tokens are not user JWTs
        httpx.get(url, params={"token": user_jwt}),  # user JWTs are not relay tokens
        httpx.get(url, params={"token": forged}),
        httpx.get(url, params={"auth_token": expired}),
    ]
    for response in rejected:
        _assert_401(response)
        assert user_jwt not in response.text


@pytest.mark.parametrize("how", ["bearer", "token", "auth_token"])
def test_each_credential_kind_opens_a_stream(
    relay: RelayServer, sse: Callable[..., SseClient], how: str
) -> None:
    user = new_user()
    if how == "bearer":
        client = sse(relay.base_url, headers=bearer(relay.token(user)))
    elif how == "token":
        token, _ = issue_sse_token(Principal(user, "user"), relay.settings)
        client = sse(relay.base_url, params={"token": token})
    else:
        client = sse(relay.base_url, params={"auth_token": relay.token(user)})
    assert client.status == 200
    assert client.next() == {"retry": str(RETRY_MS)}


def test_live_events_reach_their_user_only(
    relay: RelayServer, clients: Clients, sse: Callable[..., SseClient]
) -> None:
    alice, bob = new_user(), new_user()
    a = sse(relay.base_url, headers=bearer(relay.token(alice)))
    token, _ = issue_sse_token(Principal(bob, "user"), relay.settings)
    b = sse(relay.base_url, params={"token": token})
    assert a.next() == {"retry": str(RETRY_MS)}
    assert b.next() == {"retry": str(RETRY_MS)}

    sent = emit(clients, alice, 3)
    got = a.events(3)
    assert [f["id"] for f in got] == [e.id for e in sent]
    assert all(f["event"] == "target_status" for f in got)
    assert [json.loads(f["data"]) for f in got] == [e.data for e in sent]
    assert b.quiet_for(1.0) == []  # bob sees none of alice's events

    (bob_event,) = emit(clients, bob, 1)
    assert [f["id"] for f in b.events(1)] == [bob_event.id]
    assert a.quiet_for(0.5) == []

    pings = [f for f in a.seen + b.seen if f.get("comment") == "ping"]
    assert len(pings) >= 4  # heartbeat every 0.2 s on both streams


def test_last_event_id_replays_then_continues_live_without_gap(
    relay: RelayServer,
    clients: Clients,
    sse: Callable[..., SseClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = new_user()
    history = emit(clients, user, 5)
    last_seen = history[1].id

    # Widen the race: live events keep arriving before, during and after the replay query.
    original = relay.relay.replay

    async def slow_replay(user_id: str, after_id: str) -> tuple[list[Event], bool]:
        await asyncio.sleep(0.4)
        result = await original(user_id, after_id)
        await asyncio.sleep(0.4)
        return result

    monkeypatch.setattr(relay.relay, "replay", slow_replay)
    live: list[Event] = []
    stop = threading.Event()

    def producer() -> None:
        while not stop.is_set() and len(live) < 40:
            live.extend(emit(clients, user, 1))
            time.sleep(0.02)

    thread = threading.Thread(target=producer)
    thread.start()
    try:
        time.sleep(0.1)
        stream = sse(
            relay.base_url,
            headers=bearer(relay.token(user)) | {"Last-Event-ID": last_seen},
        )
        assert stream.next() == {"retry": str(RETRY_MS)}
        thread.join(timeout=30)
    finally:
        stop.set()
        thread.join(timeout=30)

    expected = [e.id for e in history[2:]] + [e.id for e in live]
    got = [f["id"] for f in stream.events(len(expected), timeout_s=20)]
    got += [f["id"] for f in stream.quiet_for(0.5)]
    assert len(got) == len(set(got)), "duplicate ids"
    assert last_seen not in got
    after = [i for i in got if i > last_seen]
    assert sorted(after) == sorted(expected), "gap"
    assert set(got) - set(expected) <= {e.id for e in history[:1]}  # only replay overlap


def test_lasteventid_query_parameter(
    relay: RelayServer, clients: Clients, sse: Callable[..., SseClient]
) -> None:
    user = new_user()
    history = emit(clients, user, 3)
    stream = sse(
        relay.base_url,
        params={"auth_token": relay.token(user), "lastEventId": history[0].id},
    )
    assert [f["id"] for f in stream.events(2)] == [e.id for e in history[1:]]


def test_truncated_replay_sends_a_snapshot_hint(
    relay: RelayServer,
    clients: Clients,
    sse: Callable[..., SseClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = new_user()
    history = emit(clients, user, 6)
    monkeypatch.setattr(relay.settings, "relay_replay_limit", 3)
    stream = sse(
        relay.base_url, headers=bearer(relay.token(user)) | {"Last-Event-ID": history[0].id}
    )
    assert stream.next() == {"retry": str(RETRY_MS)}
    replayed = [stream.next() for _ in range(4)]
    assert [f.get("id") for f in replayed[:3]] == [e.id for e in history[1:4]]
    assert replayed[3]["event"] == "snapshot"
    assert "id" not in replayed[3]


def test_stream_ends_cleanly_at_max_duration(
    relay: RelayServer, sse: Callable[..., SseClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(relay.settings, "relay_max_stream_s", 1.0)
    started = time.monotonic()
    stream = sse(relay.base_url, headers=bearer(relay.token(new_user())))
    assert stream.ended.wait(5)
    assert 0.85 <= time.monotonic() - started < 3
    assert stream.error is None  # a complete response, not a cut connection


def _raw_stream(port: int, token: str) -> socket.socket:
    """An HTTP/1.0 SSE request on a socket with a tiny receive buffer, never read from."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        f"GET /events HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
    )
    return sock


def _read_all(sock: socket.socket, timeout_s: float = 20.0) -> bytes:
    sock.settimeout(timeout_s)
    chunks = []
    while chunk := sock.recv(1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def _complete_ids(raw: bytes) -> list[str]:
    body = raw.split(b"\r\n\r\n", 1)[1].decode(errors="replace")
    frames = body.split("\n\n")[:-1]  # the last piece is an incomplete frame (or empty)
    return [
        line.removeprefix("id: ")
        for frame in frames
        for line in frame.split("\n")
        if line.startswith("id: ")
    ]


def test_slow_client_overflow_closes_only_that_stream(
    emulators: dict[str, str],
    clients: Clients,
    sse: Callable[..., SseClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="sharecast.relay")
    server = RelayServer(make_settings(relay_client_buffer=8)).start()
    try:
        user = new_user()
        token = server.token(user)
        hub = server.relay.hub

        def wait_connections(count: int) -> frozenset[Any]:
            deadline = time.monotonic() + 5
            while len(hub.connections(user)) != count:
                assert time.monotonic() < deadline
                time.sleep(0.02)
            return hub.connections(user)

        slow = _raw_stream(server.port, token)
        (slow_conn,) = wait_connections(1)
        fast = sse(server.base_url, headers=bearer(token))
        assert fast.next() == {"retry": str(RETRY_MS)}
        fast_conns = wait_connections(2) - {slow_conn}

        # ~6 MB in bursts of 4: more than socket buffers hold, never more than the buffer.
        sent = emit(clients, user, 120, pad=48 * 1024, group=4)
        sent_ids = {e.id for e in sent}
        got = [f["id"] for f in fast.events(len(sent), timeout_s=30)]
        assert sorted(got) == sorted(sent_ids)  # the fast reader is not held up

        # The slow stream is closed as soon as its buffer overflows; since its client reads
        # nothing, even the last write cannot finish, and the stream is aborted after a grace.
        def ended() -> list[dict[str, Any]]:
            logged = [getattr(r, "json_fields", {}) for r in caplog.records]
            return [f for f in logged if f.get("user_id") == user and "aborted" in f]

        deadline = time.monotonic() + 10
        while not ended():
            assert time.monotonic() < deadline, "slow stream not closed"
            time.sleep(0.05)
        assert [(e["reason"], e["aborted"]) for e in ended()] == [("overflow", True)]
        assert hub.connections(user) == fast_conns
        assert slow_conn.closed == "overflow"
        assert hub.stats.overflows == 1
        assert not fast.ended.is_set()

        partial = _complete_ids(_read_all(slow))  # what the kernel buffers still held
        slow.close()
        assert partial, "the slow client got nothing at all"
        assert set(partial) < sent_ids

        # The reconnect with Last-Event-ID gets everything it missed (and some overlap).
        resumed = sse(server.base_url, headers=bearer(token) | {"Last-Event-ID": partial[-1]})
        assert resumed.next() == {"retry": str(RETRY_MS)}
        replayed: set[str] = set()
        while not sent_ids - set(partial) <= replayed:
            replayed.add(resumed.events(1, timeout_s=20)[0]["id"])
    finally:
        server.stop()


def test_subscription_deleted_and_streams_closed_at_shutdown(
    emulators: dict[str, str], sse: Callable[..., SseClient]
) -> None:
    from google.api_core import exceptions as gexc

    server = RelayServer(make_settings()).start()
    subscriber = server.relay.clients.subscriber
    path = server.relay.subscription.path
    assert subscriber.get_subscription(subscription=path).name == path
    stream = sse(server.base_url, headers=bearer(server.token(new_user())))
    assert stream.next() == {"retry": str(RETRY_MS)}

    server.stop()
    assert stream.ended.wait(5)
    assert stream.error is None
    with pytest.raises(gexc.NotFound):
        subscriber.get_subscription(subscription=path)


def test_sigterm_ends_streams_and_deletes_subscription(
    emulators: dict[str, str], sse: Callable[..., SseClient], tmp_path: Path
) -> None:
    from google.api_core import exceptions as gexc
    from google.cloud import pubsub_v1

    port = free_port()
    instance = f"sigterm-{uuid.uuid4().hex[:8]}"
    env = (
        os.environ
        | emulators
        | {
            "JWT_SECRET": JWT_SECRET,
            "RELAY_INSTANCE_ID": instance,
            "RELAY_HEARTBEAT_S": "0.2",
            "RELAY_RETRY_MS": str(RETRY_MS),
            "PYTHONPATH": f"{REPO / 'functions'}",
        }
    )
    log = (tmp_path / "relay.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "sharecast.relay.main:app",
            "--app-dir",
            str(REPO / "functions"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--timeout-graceful-shutdown",
            "8",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, (tmp_path / "relay.log").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.1)
        path = f"projects/{PROJECT}/subscriptions/relay-{instance}"
        subscriber = pubsub_v1.SubscriberClient()
        assert subscriber.get_subscription(subscription=path).name == path

        token = issue_dev_token(make_settings(), user_id=new_user())
        stream = sse(f"http://127.0.0.1:{port}", params={"auth_token": token})
        assert stream.next() == {"retry": str(RETRY_MS)}

        proc.send_signal(signal.SIGTERM)
        assert stream.ended.wait(5), "stream still open after SIGTERM"
        assert stream.error is None
        assert proc.wait(timeout=15) is not None
        with pytest.raises(gexc.NotFound):
            subscriber.get_subscription(subscription=path)
        logged = (tmp_path / "relay.log").read_text()
        assert token not in logged
        assert '"reason": "shutdown"' in logged
        assert "GET /events HTTP/1.1" in logged  # the access log line, without its query
        assert "/events?" not in logged
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
