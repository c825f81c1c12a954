"""One in-process sandbox (uvicorn in a thread, free 127.0.0.1 port) shared by connector tests.

``sandbox`` resets it before each test and offers the control API as small helpers.
"""

from __future__ import annotations

import pytest
import requests

from infra.sandbox.server import SandboxServer
from sharecast.platforms.facebook import FacebookConnector
from sharecast.platforms.x import XConnector
from tests.support.sandbox import Sandbox


@pytest.fixture(scope="session")
def sandbox_server():
    with SandboxServer() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server):
    control = Sandbox(sandbox_server.base_url)
    control.reset()
    yield control
    control.http.close()


@pytest.fixture
def fb(sandbox):
    with requests.Session() as session:
        yield FacebookConnector(
            base_url=sandbox.base_url, timeout_s=2.0, graph_version="v24.0", session=session
        )


@pytest.fixture
def xc(sandbox):
    with requests.Session() as session:
        yield XConnector(base_url=sandbox.base_url, timeout_s=2.0, session=session)
