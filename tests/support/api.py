"""Real HTTP helpers for tests of the running stack."""

from __future__ import annotations

from typing import Any

import requests

from infra.localenv import HOST, Ports
from sharecast.auth import issue_dev_token
from sharecast.config import Settings


class ApiClient:
    """Talks to the ``api`` function of the stack as ``user_id``."""

    def __init__(self, ports: Ports, user_id: str, role: str = "user") -> None:
        self.base = f"http://{HOST}:{ports.api}"
        self.user_id = user_id
        self.token = issue_dev_token(Settings(), user_id=user_id, role=role)
        self.session = requests.Session()

    def request(self, method: str, path: str, *, token: str | None = None, **kw: Any):
        headers = kw.pop("headers", {})
        if token != "":
            headers.setdefault("Authorization", f"Bearer {token or self.token}")
        timeout = kw.pop("timeout", 60)  # generous: a loaded CI machine
        return self.session.request(
            method, self.base + path, headers=headers, timeout=timeout, **kw
        )

    def post(self, path: str, **kw: Any):
        return self.request("POST", path, **kw)

    def get(self, path: str, **kw: Any):
        return self.request("GET", path, **kw)
