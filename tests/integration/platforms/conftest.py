"""One in-process sandbox (uvicorn in a thread, free 127.0.0.1 port) shared by connector tests.

``sandbox`` resets it before each test and offers the control API as small helpers.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from infra.sandbox.server import SandboxServer
from sharecast.platforms.facebook import FacebookConnector
from sharecast.platforms.x import XConnector


class Sandbox:
    """The control API of a running sandbox."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()

    def reset(self, seed: int | None = None, **settings: Any) -> dict[str, Any]:
        body = {"seed": seed, **settings}
        response = self.http.post(f"{self.base_url}/_sandbox/reset", json=body, timeout=5)
        response.raise_for_status()
        return response.json()

    def fault(self, **rule: Any) -> dict[str, Any]:
        response = self.http.post(f"{self.base_url}/_sandbox/faults", json=rule, timeout=5)
        assert response.status_code == 201, response.text
        return response.json()["rule"]

    def faults(self) -> list[dict[str, Any]]:
        return self.http.get(f"{self.base_url}/_sandbox/faults", timeout=5).json()["rules"]

    def settings(self, **changes: Any) -> dict[str, Any]:
        response = self.http.patch(f"{self.base_url}/_sandbox/settings", json=changes, timeout=5)
        response.raise_for_status()
        return response.json()

    def ledger(self, platform: str | None = None, account_id: str | None = None) -> list[dict]:
        params = {k: v for k, v in (("platform", platform), ("account_id", account_id)) if v}
        response = self.http.get(f"{self.base_url}/_sandbox/ledger", params=params, timeout=5)
        response.raise_for_status()
        return response.json()["posts"]


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
