"""Test client of the sandbox's webhook receiver (``/_sandbox/webhooks/{name}``) and helpers
to wait on deliveries."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import requests

from infra.localenv import HOST, Ports


class Receiver:
    """One receiver of a running sandbox; ``url`` is where Sharecast delivers to it."""

    def __init__(self, ports: Ports, name: str | None = None) -> None:
        self.name = name or f"r-{uuid.uuid4().hex[:10]}"
        self.url = f"http://{HOST}:{ports.sandbox}/_sandbox/webhooks/{self.name}"
        self.http = requests.Session()

    def configure(self, **settings: Any) -> dict[str, Any]:
        response = self.http.put(self.url, json=settings, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["settings"]

    def deliveries(self) -> list[dict[str, Any]]:
        response = self.http.get(self.url, timeout=30)
        response.raise_for_status()
        return response.json()["deliveries"]

    def wait_for(
        self,
        predicate: Callable[[list[dict[str, Any]]], bool],
        *,
        timeout: float = 90.0,
        what: str = "deliveries",
    ) -> list[dict[str, Any]]:
        """Poll until ``predicate(deliveries)`` holds; generous bounds for a busy machine."""
        deadline = time.monotonic() + timeout
        got: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            got = self.deliveries()
            if predicate(got):
                return got
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; got {got}")


def wait_until(check: Callable[[], Any], *, timeout: float = 90.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy (returned)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last {last!r}")
