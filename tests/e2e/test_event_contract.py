"""The event contract (``GET /events.schema.json``) against what the relay really sends: a post
with a retried target and one that finally fails (``target_failed`` notification) and a
server-posted video share, streamed over real SSE; every frame must validate."""

from __future__ import annotations

import jsonschema
import pytest
import requests

from sharecast.domain.statuses import Platform
from sharecast.store.connections import sandbox_account_id
from tests.conftest import PORTS
from tests.support.api import ApiClient
from tests.support.sandbox import Sandbox
from tests.support.sse import SSEClient

pytestmark = pytest.mark.usefixtures("clean_stack")

API = f"http://127.0.0.1:{PORTS.api}"
RELAY = f"http://127.0.0.1:{PORTS.relay}/events"


def test_every_event_the_relay_sends_matches_the_served_schema(user_id: str):
    document = requests.get(f"{API}/events.schema.json", timeout=30).json()
    jsonschema.Draft202012Validator.check_schema(document)
    validator = jsonschema.Draft202012Validator(document)
    api = ApiClient(PORTS, user_id)
    sandbox = Sandbox.of_stack(PORTS)
    x_account = sandbox_account_id(user_id, Platform.X)
    sandbox.fault(platform="x", account_id=x_account, kind="permanent", times=1)

    token = api.post("/auth/sse-token").json()["token"]
    stream = SSEClient(f"{RELAY}?token={token}")
    assert stream.wait_connected() == 200
    created = api.post(
        "/posts/multipost",
        json={
            "content": "Contract #sandbox-fail-transient-1",
            "platforms": [{"platform": "facebook"}, {"platform": "x"}],
        },
    )
    assert created.status_code == 202, created.text
    shared = api.post(
        "/videos/contractVid1/share", json={"platforms": ["facebook"], "mode": "server_post"}
    )
    assert shared.status_code == 200, shared.text

    def done(frames) -> bool:
        kinds = {(f.event, f.data.get("status") or f.data.get("kind")) for f in frames}
        return {
            ("post_status", "PARTIAL"),
            ("notification", "target_failed"),
            ("share_status", "success"),
        } <= kinds

    frames = stream.wait_for(done, timeout=120)
    stream.close()
    assert {f.event for f in frames} >= {
        "post_status",
        "target_status",
        "notification",
        "share_status",
    }
    for frame in frames:
        envelope = {"event": frame.event, "data": frame.data}
        if frame.id is not None:
            envelope["id"] = frame.id
        errors = [e.message for e in validator.iter_errors(envelope)]
        assert not errors, (frame, errors)
