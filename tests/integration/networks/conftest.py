"""Connector tests of the multi-step networks: an in-process sandbox (reset per test) over real
HTTP, and media bytes in the stack's storage emulator (``tests.support.media.EmulatorMedia``)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests

from infra.sandbox.server import SandboxServer
from tests.support.emulator_media import EmulatorMedia
from tests.support.sandbox import Sandbox

#: A sandbox token belongs to the account after ``sandbox:`` (infra/sandbox/accounts.py).
ACCOUNT = "1784140000000001"
TOKEN = f"sandbox:{ACCOUNT}:secret-token-value"


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> Iterator[Sandbox]:
    control = Sandbox(sandbox_server.base_url)
    control.reset()
    yield control
    control.http.close()


@pytest.fixture(scope="session")
def media(stack) -> EmulatorMedia:
    assert os.environ.get("STORAGE_EMULATOR_HOST")
    return EmulatorMedia()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def get(sandbox: Sandbox, path: str) -> dict:
    response = sandbox.http.get(f"{sandbox.base_url}{path}", timeout=5)
    response.raise_for_status()
    return response.json()
