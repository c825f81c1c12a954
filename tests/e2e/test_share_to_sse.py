"""The whole stack for a video share: a server post to X that fails once transiently, watched
live by a real SSE client through the relay (``share_status`` pending → success)."""

from __future__ import annotations

import pytest

from sharecast.domain.statuses import Platform
from sharecast.store.connections import sandbox_account_id
from tests.conftest import PORTS
from tests.support.api import ApiClient
from tests.support.sandbox import Sandbox
from tests.support.sse import SSEClient

pytestmark = pytest.mark.usefixtures("clean_stack")

RELAY = f"http://127.0.0.1:{PORTS.relay}/events"
VIDEO = "e2eVideo_01"


def test_server_post_share_streams_share_status_until_success(user_id: str):
    api = ApiClient(PORTS, user_id)
    sandbox = Sandbox.of_stack(PORTS)
    account = sandbox_account_id(user_id, Platform.X)
    sandbox.fault(platform="x", account_id=account, kind="server_error", times=1)

    stream = SSEClient(f"{RELAY}?auth_token={api.token}")
    assert stream.wait_connected() == 200

    response = api.post(
        f"/videos/{VIDEO}/share", json={"platforms": ["twitter"], "mode": "server_post"}
    )
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    assert result["status"] == "pending"
    record_id = result["record_id"]

    def shares(frames):
        return [f.data for f in frames if f.event == "share_status"]

    frames = stream.wait_for(
        lambda fs: any(s["status"] == "success" for s in shares(fs)), timeout=90
    )
    stream.close()
    seen = shares(frames)
    assert {s["record_id"] for s in seen} == {record_id}
    assert seen[0]["status"] == "pending"
    assert seen[-1]["status"] == "success"
    assert seen[-1]["attempt_count"] == 2  # the 5xx, then the success
    failed_attempt = [s for s in seen if s["status"] == "pending" and s["error_message"]]
    assert failed_attempt, "the transient failure is streamed while still pending"
    versions = [s["version"] for s in seen]
    assert versions == sorted(versions)
    [post] = sandbox.ledger("x", account)
    assert post["id"] == seen[-1]["external_ref"]
