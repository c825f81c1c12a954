"""Test client of the platform sandbox's control API (``/_sandbox/``: ledger, faults, reset)."""

from __future__ import annotations

from typing import Any

import requests

from infra.localenv import HOST, Ports


class Sandbox:
    """The control API of a running sandbox."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()

    @classmethod
    def of_stack(cls, ports: Ports) -> Sandbox:
        """The sandbox of a local stack running on ``ports``."""
        return cls(f"http://{HOST}:{ports.sandbox}")

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
