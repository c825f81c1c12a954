"""The relay against the real Firestore and Pub/Sub emulators (docs/semantics.md#events-and-replay).

The emulators are the session stack's (``tests/conftest.py``); the relay under test runs
in-process (uvicorn in a thread) on a free port; one test also runs it as a uvicorn subprocess
to send a real SIGTERM.
Events are produced the way the functions produce them: written to the Firestore event log in a
batch (``store.events.add_event``), then published with ``sharecast.events.publish_events``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from sharecast.auth import Principal, issue_dev_token, issue_sse_token
from sharecast.clients import Clients
from sharecast.domain.events import Event
from sharecast.relay.replay import Resume
from tests.integration.relay.kit import (
    JWT_SECRET,
    PROJECT,
    REPO,
    RETRY_MS,
    RelayServer,
    SseClient,
    bearer,
    emit,
    free_port,
    make_settings,
    new_user,
)

# --------------------------------------------------------------------------- tests


def test_healthz_and_instance_subscription(relay: RelayServer) -> None:
    health = httpx.get(f"{relay.base_url}/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    # The loop's own lag, sampled at every heartbeat tick (every 50 ms), with the latencies.
    deadline = time.monotonic() + 30
    while health.json()["loop_lag"]["count"] == 0:
        assert time.monotonic() < deadline, "no loop lag sample after 30 s"
        time.sleep(0.1)
        health = httpx.get(f"{relay.base_url}/healthz")
    body = health.json()
    assert body["loop_lag"]["max_ms"] >= 0
    assert set(body["loop_lag"]) == set(body["delivery_latency"]) == set(body["handoff_latency"])
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


def assert_401(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
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
    rejected = [
        httpx.get(url),
        httpx.get(url, headers=bearer(expired)),
        httpx.get(url, headers=bearer(forged)),
        httpx.get(url, headers=bearer("not-a-jwt")),
        httpx.get(url, headers={"Authorization": f"Basic {user_jwt}"}),
        httpx.get(url, params={"token": user_jwt}),  # user JWTs are not relay tokens
        httpx.get(url, params={"token": forged}),
        httpx.get(url, params={"auth_token": expired}),
        httpx.get(url, headers={"Cookie": f"sharecast_sse={user_jwt}"}),  # not a relay token
    ]
    for response in rejected:
        assert_401(response)
        assert user_jwt not in response.text


@pytest.mark.parametrize("how", ["bearer", "bearer_relay_token", "token", "auth_token"])
def test_each_credential_kind_opens_a_stream(
    relay: RelayServer, sse: Callable[..., SseClient], how: str
) -> None:
    user = new_user()
    if how == "bearer":
        client = sse(relay.base_url, headers=bearer(relay.token(user)))
    elif how == "bearer_relay_token":
        token, _ = issue_sse_token(Principal(user, "user"), relay.settings)
        client = sse(relay.base_url, headers=bearer(token))
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
    messages = httpx.get(f"{relay.base_url}/healthz").json()["messages"]
    assert messages["received"] >= 4  # other tests' users may share the topic
    assert 1 <= messages["largest_batch"] <= messages["received"]

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
    original = relay.relay.resume

    async def slow_resume(
        user_id: str, after_id: str, known: frozenset[str] | None = None
    ) -> Resume:
        await asyncio.sleep(0.4)
        result = await original(user_id, after_id, known)
        await asyncio.sleep(0.4)
        return result

    monkeypatch.setattr(relay.relay, "resume", slow_resume)
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
    assert sorted(got) == sorted(expected), "a gap, or a re-send of what the client had"


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
            deadline = time.monotonic() + 20
            while len(hub.connections(user)) != count:
                assert time.monotonic() < deadline
                time.sleep(0.02)
            return hub.connections(user)

        slow = _raw_stream(server.port, token)
        (slow_conn,) = wait_connections(1)
        fast = sse(server.base_url, headers=bearer(token))
        assert fast.next() == {"retry": str(RETRY_MS)}
        fast_conns = wait_connections(2) - {slow_conn}

        # ~6 MB in bursts of 4 frames (the buffer holds 8): more than socket buffers hold. Each
        # burst waits for the fast reader, so that a loaded machine that slows the reader itself
        # (or makes the emulator deliver in one big burst) cannot overflow it; the slow client,
        # which reads nothing, overflows all the same.
        sent: list[Event] = []
        got: list[str] = []
        for _ in range(30):
            burst = emit(clients, user, 4, pad=48 * 1024)
            sent += burst
            got += [f["id"] for f in fast.events(len(burst), timeout_s=60)]
        sent_ids = {e.id for e in sent}
        assert sorted(got) == sorted(sent_ids)  # the fast reader is not held up

        # The slow stream is closed as soon as its buffer overflows; since its client reads
        # nothing, even the last write cannot finish, and the stream is aborted after a grace.
        def ended() -> list[dict[str, Any]]:
            logged = [getattr(r, "json_fields", {}) for r in caplog.records]
            return [f for f in logged if f.get("user_id") == user and "aborted" in f]

        deadline = time.monotonic() + 30
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


def test_a_lost_subscription_is_recreated_and_streams_told_to_resume(
    emulators: dict[str, str], clients: Clients, sse: Callable[..., SseClient]
) -> None:
    server = RelayServer(make_settings()).start()
    try:
        user = new_user()
        stream = sse(server.base_url, headers=bearer(server.token(user)))
        assert stream.next() == {"retry": str(RETRY_MS)}
        subscription = server.relay.subscription
        subscription.subscriber.delete_subscription(request={"subscription": subscription.path})
        # The pull fails (NotFound), the relay recreates the subscription and ends every stream
        # cleanly, with a retry hint: live events of the gap are in the log, for the replay.
        assert stream.ended.wait(30), "stream not ended after the subscription was lost"
        assert stream.error is None
        tail = [stream.next(1) for _ in range(stream.frames.qsize())]
        assert tail[-1] == {"retry": str(RETRY_MS)}
        deadline = time.monotonic() + 30
        while not server.relay.healthy:
            assert time.monotonic() < deadline, "relay did not resubscribe"
            time.sleep(0.1)
        fresh = sse(server.base_url, headers=bearer(server.token(user)))
        assert fresh.next() == {"retry": str(RETRY_MS)}
        (event,) = emit(clients, user, 1)
        assert [f["id"] for f in fresh.events(1)] == [event.id]
    finally:
        server.stop()
