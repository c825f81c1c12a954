"""A dependency outage answers 503 with ``Retry-After`` (docs/problems.md#dependency-unavailable).

Firestore is made really unavailable: the app's Firestore client points at a closed port, so
every call fails inside the Google client (after its own retries) the way an outage does.
"""

from __future__ import annotations

import socket

import pytest
from pydantic import SecretStr

from sharecast.api import create_app
from sharecast.api.problems import DEPENDENCY_RETRY_AFTER_S
from sharecast.app import AppContext
from sharecast.auth import issue_dev_token
from sharecast.clients import Clients
from sharecast.config import Settings


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.timeout(300)  # the Google client retries UNAVAILABLE for about a minute
def test_firestore_outage_is_503_with_retry_after(monkeypatch):
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{closed_port()}")
    settings = Settings(jwt_secret=SecretStr("x" * 40))
    client = create_app(AppContext(settings=settings, clients=Clients(settings))).test_client()
    token = issue_dev_token(settings, user_id="outage-user", role="user")
    response = client.get("/posts/some-post", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"] == str(DEPENDENCY_RETRY_AFTER_S)
    assert response.get_json()["code"] == "DEPENDENCY_UNAVAILABLE"
