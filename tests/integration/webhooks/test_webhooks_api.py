"""Webhooks over real HTTP (api, outbox fan-out, Cloud Tasks emulator dispatching to the
webhook_delivery function, the sandbox's receiver verifying with the standardwebhooks library):
registration, validation, ownership, pings, deliveries of a post's events, filters, redelivery
and secret rotation."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from sharecast.domain.webhooks import FILTERS
from tests.conftest import PORTS
from tests.integration.api.test_multipost import assert_problem
from tests.support.api import ApiClient
from tests.support.webhooks import Receiver, wait_until

pytestmark = pytest.mark.usefixtures("clean_stack")


@pytest.fixture
def api(user_id: str) -> ApiClient:
    return ApiClient(PORTS, user_id)


@pytest.fixture
def receiver() -> Receiver:
    return Receiver(PORTS)


def register(api: ApiClient, url: str, **body) -> tuple[dict, str]:
    response = api.post("/webhooks", json={"url": url, **body})
    assert response.status_code == 201, response.text
    created = response.json()
    return created["endpoint"], created["secret"]


def delivery_log(api: ApiClient, endpoint_id: str, **params) -> list[dict]:
    response = api.get(f"/webhooks/{endpoint_id}/deliveries", params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_register_shows_the_secret_once_and_lists_without_it(api, receiver):
    endpoint, secret = register(api, receiver.url, description="CRM", eventTypes=["post_status"])
    assert secret.startswith("whsec_")
    assert endpoint["eventTypes"] == ["post_status"]
    assert endpoint["scope"] == "user"
    assert endpoint["enabled"]
    assert endpoint["signingSecrets"] == 1
    listed = api.get("/webhooks").json()["items"]
    assert [e["id"] for e in listed] == [endpoint["id"]]
    one = api.get(f"/webhooks/{endpoint['id']}")
    assert one.status_code == 200
    assert secret not in one.text
    assert secret not in api.get("/webhooks").text


def test_bad_urls_and_filters_are_422_with_every_problem(api):
    response = api.post(
        "/webhooks",
        json={"url": "https://10.0.0.7/hook", "eventTypes": ["target_status:DONE", "nope"]},
    )
    problem = assert_problem(response, 422, "VALIDATION_FAILED")
    codes = sorted((e["field"], e["code"]) for e in problem["errors"])
    assert codes == [
        ("eventTypes[0]", "UNKNOWN_EVENT_TYPE"),
        ("eventTypes[1]", "UNKNOWN_EVENT_TYPE"),
        ("url", "URL_NOT_ALLOWED"),
    ]
    for url in (
        "ftp://example.com/",
        "https://user:pw@example.com/",
        "https://169.254.169.254/computeMetadata/v1/",
        "http://[::ffff:10.0.0.1]/",
        "not a url",
    ):
        response = api.post("/webhooks", json={"url": url})
        assert_problem(response, 422, "VALIDATION_FAILED")
    assert api.get("/webhooks").json()["items"] == []


def test_type_and_url_problems_come_in_one_422(api):
    """The route's rules run on what parsed of an invalid body: a refused URL is reported with
    the type problems of the other fields, for a creation and a change alike."""
    bad = {"url": "https://192.168.1.5/hook", "enabled": "true", "eventTypes": ["nope"]}
    problem = assert_problem(api.post("/webhooks", json=bad), 422, "VALIDATION_FAILED")
    assert sorted((e["field"], e["code"]) for e in problem["errors"]) == [
        ("enabled", "WRONG_TYPE"),
        ("eventTypes[0]", "UNKNOWN_EVENT_TYPE"),
        ("url", "URL_NOT_ALLOWED"),
    ]
    assert api.get("/webhooks").json()["items"] == []


def test_org_wide_endpoints_are_for_admins_and_others_endpoints_are_404(api, receiver, user_id):
    assert_problem(
        api.post("/webhooks", json={"url": receiver.url, "scope": "org"}), 403, "FORBIDDEN"
    )
    endpoint, _ = register(api, receiver.url)
    other = ApiClient(PORTS, f"{user_id}-other")
    for method, path in (
        ("GET", f"/webhooks/{endpoint['id']}"),
        ("PATCH", f"/webhooks/{endpoint['id']}"),
        ("DELETE", f"/webhooks/{endpoint['id']}"),
        ("POST", f"/webhooks/{endpoint['id']}/ping"),
        ("GET", f"/webhooks/{endpoint['id']}/deliveries"),
    ):
        body = {"enabled": False} if method == "PATCH" else None
        assert_problem(other.request(method, path, json=body), 404, "NOT_FOUND")
    viewer = ApiClient(PORTS, f"{user_id}-viewer", role="viewer")
    assert_problem(viewer.get("/webhooks"), 403, "FORBIDDEN")
    admin = ApiClient(PORTS, f"{user_id}-admin", role="admin")
    org, _ = register(admin, receiver.url, scope="org")
    assert org["scope"] == "org"
    second_admin = ApiClient(PORTS, f"{user_id}-admin2", role="admin")
    assert org["id"] in [e["id"] for e in second_admin.get("/webhooks").json()["items"]]
    assert org["id"] not in [e["id"] for e in api.get("/webhooks").json()["items"]]


def test_ping_arrives_signed_and_is_logged(api, receiver):
    endpoint, secret = register(api, receiver.url)
    receiver.configure(secrets=[secret])
    response = api.post(f"/webhooks/{endpoint['id']}/ping")
    assert response.status_code == 202, response.text
    queued = response.json()
    got = receiver.wait_for(lambda d: len(d) == 1)
    delivery = got[0]
    assert delivery["verified"] is True
    assert delivery["webhook_id"] == queued["messageId"] == f"msg_{queued['id']}"
    assert delivery["body"]["type"] == "ping"
    assert delivery["body"]["data"]["endpoint_id"] == endpoint["id"]
    logged = wait_until(
        lambda: [d for d in delivery_log(api, endpoint["id"]) if d["status"] == "SUCCEEDED"],
        what="the ping logged as SUCCEEDED",
    )
    assert logged[0]["attempts"] == 1
    assert logged[0]["lastStatusCode"] == 200
    assert logged[0]["history"][0]["latencyMs"] >= 0
    assert json.loads(logged[0]["responseExcerpt"]) == {"received": True, "verified": True}


def test_a_posts_status_changes_arrive_verified_and_filtered(api, receiver, user_id):
    everything = Receiver(PORTS)
    all_endpoint, all_secret = register(api, everything.url)
    success_only, success_secret = register(
        api, receiver.url, eventTypes=["target_status:SUCCESS", "post_status:PUBLISHED"]
    )
    everything.configure(secrets=[all_secret])
    receiver.configure(secrets=[success_secret])
    post = api.post(
        "/posts/multipost",
        json={
            "content": "webhooks hello",
            "platforms": [{"platform": "facebook"}, {"platform": "x"}],
        },
    )
    assert post.status_code == 202, post.text
    post_id = post.json()["postId"]

    def published(deliveries: list[dict]) -> bool:
        return any(
            d["body"]["type"] == "post_status" and d["body"]["data"]["status"] == "PUBLISHED"
            for d in deliveries
        )

    got = everything.wait_for(published, what="post_status PUBLISHED")
    assert all(d["verified"] is True for d in got)
    kinds = {(d["body"]["type"], d["body"]["data"]["status"]) for d in got}
    assert {("target_status", "PUBLISHING"), ("target_status", "SUCCESS")} <= kinds
    assert all(d["body"]["user_id"] == user_id for d in got)
    assert {d["body"]["data"]["post_id"] for d in got} == {post_id}
    filtered = receiver.wait_for(
        lambda d: published(d) and len([x for x in d if x["body"]["type"] == "target_status"]) == 2,
        what="two SUCCESS targets and the PUBLISHED post",
    )
    assert {(d["body"]["type"], d["body"]["data"]["status"]) for d in filtered} == {
        ("target_status", "SUCCESS"),
        ("post_status", "PUBLISHED"),
    }
    # Each event is delivered once per endpoint (same webhook-id = same event).
    ids = [d["webhook_id"] for d in filtered]
    assert len(ids) == len(set(ids))
    assert {d["id"] for d in delivery_log(api, success_only["id"])} == {
        d["body"]["id"] for d in filtered
    }
    assert all_endpoint["id"] != success_only["id"]


def test_redeliver_sends_the_same_message_again(api, receiver):
    endpoint, secret = register(api, receiver.url)
    receiver.configure(secrets=[secret])
    ping = api.post(f"/webhooks/{endpoint['id']}/ping").json()
    receiver.wait_for(lambda d: len(d) == 1)
    response = api.post(f"/webhooks/{endpoint['id']}/deliveries/{ping['id']}/redeliver")
    assert response.status_code == 202, response.text
    assert response.json()["round"] == 2
    got = receiver.wait_for(lambda d: len(d) == 2)
    assert got[0]["webhook_id"] == got[1]["webhook_id"]
    assert got[0]["body"] == got[1]["body"]
    assert all(d["verified"] for d in got)
    done = wait_until(
        lambda: (
            (d := api.get(f"/webhooks/{endpoint['id']}/deliveries/{ping['id']}").json())["status"]
            == "SUCCEEDED"
            and d["attempts"] == 2
            and d
        ),
        what="two attempts recorded",
    )
    assert [a["attempt"] for a in done["history"]] == [1, 2]
    missing = api.post(
        f"/webhooks/{endpoint['id']}/deliveries/01234567890123456-deadbeef/redeliver"
    )
    assert_problem(missing, 404, "NOT_FOUND")


def test_rotation_signs_with_both_secrets_during_the_grace_period(api, receiver):
    endpoint, old = register(api, receiver.url)
    rotated = api.post(f"/webhooks/{endpoint['id']}/rotate-secret", json={"graceSeconds": 3600})
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != old
    assert rotated.json()["endpoint"]["signingSecrets"] == 2
    old_only, new_only = Receiver(PORTS), Receiver(PORTS)
    old_only.configure(secrets=[old])
    new_only.configure(secrets=[new])
    for extra in (old_only, new_only):
        api.request("PATCH", f"/webhooks/{endpoint['id']}", json={"url": extra.url})
        api.post(f"/webhooks/{endpoint['id']}/ping")
        got = extra.wait_for(lambda d: len(d) == 1)
        assert got[0]["verified"] is True
        assert len(got[0]["webhook_signature"].split(" ")) == 2
    # Grace 0: the old secret stops at once.
    ended = api.post(f"/webhooks/{endpoint['id']}/rotate-secret", json={"graceSeconds": 0})
    newest = ended.json()["secret"]
    assert ended.json()["endpoint"]["signingSecrets"] == 1
    receiver.configure(secrets=[new])
    api.request("PATCH", f"/webhooks/{endpoint['id']}", json={"url": receiver.url})
    api.post(f"/webhooks/{endpoint['id']}/ping")
    got = receiver.wait_for(lambda d: len(d) == 1)
    assert got[0]["verified"] is False  # signed with the newest secret only
    assert got[0]["answered"] == 401
    body = got[0]["body"]
    assert body["type"] == "ping"
    signature = got[0]["webhook_signature"]
    assert len(signature.split(" ")) == 1
    sent_at = datetime.fromtimestamp(int(got[0]["webhook_timestamp"]), tz=UTC)
    compact = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    assert signature == Webhook(newest).sign(
        msg_id=got[0]["webhook_id"], timestamp=sent_at, data=compact
    )


def test_patch_delete_and_the_filter_vocabulary(api, receiver):
    endpoint, _ = register(api, receiver.url)
    patched = api.request(
        "PATCH",
        f"/webhooks/{endpoint['id']}",
        json={"enabled": False, "description": "paused", "eventTypes": sorted(FILTERS)},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["enabled"] is False
    assert patched.json()["version"] == 2
    assert_problem(api.post(f"/webhooks/{endpoint['id']}/ping"), 409, "WEBHOOK_ENDPOINT_DISABLED")
    empty = api.request("PATCH", f"/webhooks/{endpoint['id']}", json={})
    assert [e["code"] for e in assert_problem(empty, 422, "VALIDATION_FAILED")["errors"]] == [
        "NOTHING_TO_CHANGE"
    ]
    null = api.request("PATCH", f"/webhooks/{endpoint['id']}", json={"url": None})
    assert [e["code"] for e in assert_problem(null, 422, "VALIDATION_FAILED")["errors"]] == [
        "INVALID_VALUE"
    ]
    assert api.request("DELETE", f"/webhooks/{endpoint['id']}").status_code == 204
    assert_problem(api.get(f"/webhooks/{endpoint['id']}"), 404, "NOT_FOUND")
