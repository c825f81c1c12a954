"""The whole stack: a multipost to two sandbox platforms, one answering 5xx twice (each an
unknown outcome, checked after the settle window), watched live by a real SSE client through the
relay; then a reconnect with Last-Event-ID."""

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


def final(frames, target_id: str):
    statuses = [
        f.data["status"]
        for f in frames
        if f.event == "target_status" and f.data["target_id"] == target_id
    ]
    return statuses


def test_multipost_streams_every_status_to_success_and_posts_once(user_id: str):
    api = ApiClient(PORTS, user_id)
    sandbox = Sandbox.of_stack(PORTS)
    x_account = sandbox_account_id(user_id, Platform.X)
    sandbox.fault(platform="x", account_id=x_account, kind="server_error", times=2)

    sse_token = api.post("/auth/sse-token").json()["token"]
    stream = SSEClient(f"{RELAY}?token={sse_token}")
    assert stream.wait_connected() == 200

    created = api.post(
        "/posts/multipost",
        json={
            "content": "Hello from the e2e test",
            "platforms": [{"platform": "facebook"}, {"platform": "x"}],
        },
    )
    assert created.status_code == 202, created.text
    post_id = created.json()["postId"]
    targets = {r["platform"]: r["targetId"] for r in created.json()["results"]}

    def done(frames) -> bool:
        return any(
            f.event == "post_status"
            and f.data["post_id"] == post_id
            and f.data["status"] == "PUBLISHED"
            for f in frames
        )

    frames = stream.wait_for(done, timeout=90)
    stream.close()
    assert stream.retry_ms is not None
    assert final(frames, targets["facebook"])[-2:] == ["PUBLISHING", "SUCCESS"]
    x_statuses = final(frames, targets["x"])
    assert x_statuses[-1] == "SUCCESS"
    # Each 5xx may have posted: the target shows UNCERTAIN live while it waits out the settle
    # window, its check finds nothing, then it retries (claim, unknown, check: 3 PUBLISHING).
    assert x_statuses.count("RETRYING") == 2
    assert x_statuses.count("PUBLISHING") == 7
    uncertain = [
        f.data
        for f in frames
        if f.event == "target_status"
        and f.data["target_id"] == targets["x"]
        and (f.data["error"] or {}).get("code") == "UNCERTAIN"
    ]
    assert uncertain
    assert all(u["status"] == "PUBLISHING" for u in uncertain)
    x_final = [
        f for f in frames if f.event == "target_status" and f.data["target_id"] == targets["x"]
    ][-1].data
    assert x_final["attempts"] == 3
    versions = [
        f.data["version"]
        for f in frames
        if f.event == "target_status" and f.data["target_id"] == targets["x"]
    ]
    assert versions == sorted(versions)
    ids = [f.id for f in frames]
    assert len(ids) == len(set(ids))

    for platform, target_id in targets.items():
        account = sandbox_account_id(user_id, Platform(platform))
        ledger = sandbox.ledger(platform=platform, account_id=account)
        assert len(ledger) == 1, ledger
        detail = api.get(f"/posts/{post_id}").json()
        target = next(t for t in detail["targets"] if t["target_id"] == target_id)
        assert target["external_id"] == ledger[0]["id"]

    # A client that saw only the first events reconnects and gets everything after them.
    cut = frames[1].id
    assert cut is not None
    resumed = SSEClient(
        RELAY, headers={"Authorization": f"Bearer {api.token}", "Last-Event-ID": cut}
    )
    replay = resumed.wait_for(done, timeout=30)
    resumed.close()
    replayed_ids = {f.id for f in replay}
    assert cut not in replayed_ids
    assert {f.id for f in frames[2:]} <= replayed_ids
    assert final(replay, targets["x"])[-1] == "SUCCESS"


def test_relay_refuses_missing_and_bad_tokens(stack):
    for url, headers in [
        (RELAY, {}),
        (f"{RELAY}?token=nope", {}),
        (f"{RELAY}?auth_token=nope", {}),
        (RELAY, {"Authorization": "Bearer nope"}),
    ]:
        client = SSEClient(url, headers=headers)
        assert client.wait_connected() == 401
        client.close()


def test_other_users_never_see_my_events(user_id: str):
    me, other = ApiClient(PORTS, user_id), ApiClient(PORTS, user_id + "-other")
    spy = SSEClient(f"{RELAY}?auth_token={other.token}")
    mine = SSEClient(f"{RELAY}?auth_token={me.token}")
    assert spy.wait_connected() == 200
    assert mine.wait_connected() == 200
    post = me.post(
        "/posts/multipost", json={"content": "private", "platforms": [{"platform": "facebook"}]}
    ).json()
    mine.wait_for(
        lambda fs: any(
            f.event == "post_status"
            and f.data["post_id"] == post["postId"]
            and f.data["status"] == "PUBLISHED"
            for f in fs
        ),
        timeout=60,
    )
    mine.close()
    spy.close()
    assert not [f for f in spy.frames if f.data.get("post_id") == post["postId"]]
