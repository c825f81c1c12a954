"""Per-user relay limits over real HTTP (issue 14 item 4): the cap on concurrent streams
closes the oldest stream cleanly; the opening rate answers 429 before anything is read."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from sharecast.clients import Clients
from tests.integration.relay.kit import (
    RETRY_MS,
    RelayServer,
    SseClient,
    bearer,
    emit,
    make_settings,
    new_user,
)

CAP = 3
RATE = 6


@pytest.fixture(scope="module")
def relay(emulators: dict[str, str]) -> Iterator[RelayServer]:
    settings = make_settings(relay_max_streams_per_user=CAP, relay_stream_opens_per_min=RATE)
    server = RelayServer(settings).start()
    yield server
    server.stop()


def test_one_stream_over_the_cap_closes_the_oldest_with_a_retry_hint(
    relay: RelayServer,
    clients: Clients,
    sse: Callable[..., SseClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="sharecast.relay")
    user, other = new_user(), new_user()
    streams = []
    for _ in range(CAP):
        stream = sse(relay.base_url, headers=bearer(relay.token(user)))
        assert stream.next() == {"retry": str(RETRY_MS)}
        streams.append(stream)
    neighbour = sse(relay.base_url, headers=bearer(relay.token(other)))
    assert neighbour.next() == {"retry": str(RETRY_MS)}

    newest = sse(relay.base_url, headers=bearer(relay.token(user)))
    assert newest.next() == {"retry": str(RETRY_MS)}
    assert streams[0].ended.wait(10), "the oldest stream is still open"
    assert streams[0].error is None  # ended cleanly
    tail = [streams[0].next(1) for _ in range(streams[0].frames.qsize())]
    assert tail[-1] == {"retry": str(RETRY_MS)}
    assert len(relay.relay.hub.connections(user)) == CAP

    def superseded() -> bool:
        logged = [getattr(r, "json_fields", {}) for r in caplog.records]
        return any(f.get("user_id") == user and f.get("reason") == "superseded" for f in logged)

    deadline = time.monotonic() + 10
    while not superseded():  # logged once the stream's task is done, just after its end
        assert time.monotonic() < deadline, "no 'superseded' end logged"
        time.sleep(0.05)

    (event,) = emit(clients, user, 1)
    for stream in [*streams[1:], newest]:
        assert [f["id"] for f in stream.events(1)] == [event.id]
    assert not neighbour.ended.is_set()


def test_opening_faster_than_the_rate_gets_429_before_any_stream(relay: RelayServer) -> None:
    user = new_user()
    token = relay.token(user)
    url = f"{relay.base_url}/events"
    statuses = []
    for _ in range(RATE + 4):  # the flood, scaled down: one token, streams in a burst
        with httpx.stream("GET", url, headers=bearer(token)) as response:
            statuses.append(response.status_code)
            if response.status_code == 429:
                refused = response
                refused.read()
    assert statuses == [200] * RATE + [429] * 4
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "RATE_LIMITED"
    assert 1 <= int(refused.headers["retry-after"]) <= 60 // RATE + 1
    # Another user is not affected, and the limited one is let in again once a token refilled.
    with httpx.stream("GET", url, headers=bearer(relay.token(new_user()))) as response:
        assert response.status_code == 200
    deadline = time.monotonic() + 30
    while True:
        with httpx.stream("GET", url, headers=bearer(token)) as response:
            if response.status_code == 200:
                break
        assert time.monotonic() < deadline, "never let in again"
        time.sleep(0.5)
