"""Connecting an account through the api and the sandbox consent page, as a browser would."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from tests.support.api import ApiClient


def consent(authorization_url: str, *, sandbox_user: str, deny: bool = False) -> dict[str, str]:
    """Open the consent page (the sandbox logs ``sandbox_user`` in) and return the parameters
    the platform appended to the redirect URI (``code`` and ``state``, or ``error``)."""
    extra = f"&sandbox_user={sandbox_user}" + ("&sandbox_deny=1" if deny else "")
    response = requests.get(authorization_url + extra, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["location"]).query)
    return {k: v[0] for k, v in query.items()}


def connect(api: ApiClient, platform: str, *, sandbox_user: str) -> list[dict[str, Any]]:
    """authorize → consent → callback; returns the connections the callback stored."""
    started = api.get(f"/connections/{platform}/authorize")
    assert started.status_code == 200, started.text
    back = consent(started.json()["authorizationUrl"], sandbox_user=sandbox_user)
    done = api.get(f"/connections/{platform}/callback", params=back)
    assert done.status_code == 201, done.text
    return done.json()["connections"]


class SandboxOAuth:
    """The sandbox's OAuth control API (``/_sandbox/oauth``)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def stats(self) -> dict[str, Any]:
        return requests.get(f"{self.base_url}/_sandbox/oauth", timeout=5).json()

    def settings(self, **values: Any) -> None:
        r = requests.patch(f"{self.base_url}/_sandbox/oauth/settings", json=values, timeout=5)
        assert r.status_code == 200, r.text

    def expire(self, **match: Any) -> int:
        r = requests.post(f"{self.base_url}/_sandbox/oauth/expire", json=match, timeout=5)
        return r.json()["expired"]

    def revoke(self, **match: Any) -> int:
        r = requests.post(f"{self.base_url}/_sandbox/oauth/revoke", json=match, timeout=5)
        return r.json()["revoked"]
