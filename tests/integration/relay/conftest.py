"""Fixtures of the relay's integration tests (see ``kit``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from infra.stack import Stack
from sharecast.clients import Clients
from tests.integration.relay.kit import RelayServer, SseClient, make_settings


@pytest.fixture(scope="module")
def emulators(stack: Stack) -> dict[str, str]:
    """The session stack's Firestore and Pub/Sub emulators (their env is set by conftest)."""
    return {
        k: os.environ[k]
        for k in ("FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST", "GOOGLE_CLOUD_PROJECT")
    }


@pytest.fixture(scope="module")
def relay(emulators: dict[str, str]) -> Iterator[RelayServer]:
    server = RelayServer(make_settings()).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def clients(emulators: dict[str, str]) -> Clients:
    return Clients(make_settings())


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
