"""Video shares over real HTTP against the emulators, the publisher and the sandbox
(docs/api.md#video-shares).

Server posts go the whole way: api → Firestore + Cloud Tasks emulator → publisher → sandbox,
and the publisher reports back to the share record.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import jwt
import pytest

from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.domain.statuses import Platform
from sharecast.store.connections import sandbox_account_id
from tests.conftest import PORTS
from tests.support.api import ApiClient
from tests.support.sandbox import Sandbox

pytestmark = pytest.mark.usefixtures("clean_stack")

VIDEO = "dQw4w9WgXcQ"
WATCH = f"https://www.youtube.com/watch?v={VIDEO}"
ALL = ["facebook", "instagram", "threads", "linkedin", "x", "youtube", "whatsapp"]


@pytest.fixture
def api(user_id: str) -> ApiClient:
    return ApiClient(PORTS, user_id)


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox.of_stack(PORTS)


def share(api: ApiClient, video: str = VIDEO, **body: Any):
    return api.post(f"/videos/{video}/share", json=body)


def results(response) -> dict[str, dict[str, Any]]:
    assert response.status_code == 200, response.text
    return {r["platform"]: r for r in response.json()["results"]}


def status_of(api: ApiClient, platform: str, video: str = VIDEO) -> dict[str, Any]:
    response = api.get(f"/videos/{video}/share-status")
    assert response.status_code == 200, response.text
    return {p["platform"]: p for p in response.json()["platforms"]}[platform]


def wait_status(api: ApiClient, platform: str, want: str, timeout: float = 45) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        current = status_of(api, platform)
        if current["status"] == want:
            return current
        if time.monotonic() > deadline:
            raise AssertionError(f"{platform} still {current} after {timeout}s")
        time.sleep(0.3)


def audit(api: ApiClient, video: str = VIDEO) -> list[dict[str, Any]]:
    response = api.get(f"/videos/{video}/share-audit")
    assert response.status_code == 200, response.text
    return response.json()["entries"]


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert (body["status"], body["code"]) == (status, code)
    return body


def api_user(api: ApiClient) -> str:
    return jwt.decode(api.token, options={"verify_signature": False})["sub"]


def count_shares() -> int:
    return len(list(Clients(Settings()).firestore.collection("shares").stream()))


# --- track_only ---------------------------------------------------------------------------------


def test_track_only_records_success_with_share_links_and_is_idempotent(api: ApiClient):
    body: dict[str, Any] = {
        "platforms": ["whatsapp", "x", "facebook", "linkedin", "instagram"],
        "mode": "track_only",
        "message": "Tom & Jerry #1 🎉",
    }
    first = results(share(api, **body))
    assert {r["status"] for r in first.values()} == {"success"}
    assert not any(r["alreadyShared"] for r in first.values())
    assert first["x"]["record_id"] == f"{VIDEO}:x:{api_user(api)}"
    assert first["whatsapp"]["intent_url"].startswith("https://wa.me/?text=Tom%20%26%20Jerry")
    assert first["x"]["intent_url"].startswith("https://x.com/intent/tweet?text=")
    assert first["facebook"]["intent_url"].endswith("watch%3Fv%3DdQw4w9WgXcQ")
    assert first["linkedin"]["intent_url"].startswith(
        "https://www.linkedin.com/sharing/share-offsite/?url="
    )
    assert first["instagram"]["intent_url"] is None

    second = results(share(api, **body))
    assert all(r["alreadyShared"] for r in second.values())
    assert {r["attempt_count"] for r in second.values()} == {1}  # left untouched
    assert len(audit(api)) == 5  # one entry per change, none for the repeat

    status = status_of(api, "x")
    assert status["shared"] is True
    assert status["status"] == "success"
    assert status["lastSharedAt"].endswith("Z")
    assert status_of(api, "threads") == {
        "platform": "threads",
        "shared": False,
        "status": None,
        "mode": None,
        "lastSharedAt": None,
        "attemptCount": 0,
        "externalRef": None,
        "errorMessage": None,
        "attempt_count": 0,  # deprecated aliases of API 1.0, until 2.0
        "external_ref": None,
        "error_message": None,
    }


def test_force_reshares_and_counts_another_attempt(api: ApiClient):
    results(share(api, platforms=["x"]))
    before = status_of(api, "x")["lastSharedAt"]
    time.sleep(0.01)
    forced = results(share(api, platforms=["x"], force=True))["x"]
    assert forced["alreadyShared"] is False
    assert forced["attempt_count"] == 2
    assert status_of(api, "x")["lastSharedAt"] > before
    assert [e["action"] for e in audit(api)] == ["force", "share"]  # newest first


def test_status_lists_every_allowlisted_platform(api: ApiClient):
    response = api.get(f"/videos/{VIDEO}/share-status")
    assert response.status_code == 200
    body = response.json()
    assert body["video_id"] == VIDEO
    assert [p["platform"] for p in body["platforms"]] == ALL
    assert not any(p["shared"] for p in body["platforms"])


def test_platforms_omitted_means_every_allowlisted_one(api: ApiClient):
    assert list(results(share(api, mode="track_only"))) == ALL


def test_names_are_normalised_and_merged(api: ApiClient):
    got = results(share(api, platforms=["Twitter", " X ", "FB", "LinkedIn"]))
    assert list(got) == ["x", "facebook", "linkedin"]
    assert count_shares() == 3


# --- bad input ----------------------------------------------------------------------------------


def test_unknown_platforms_are_refused_listing_each_and_nothing_is_recorded(api: ApiClient):
    response = share(api, platforms=["x", "myspace", "facebook", "orkut"])
    body = assert_problem(response, 400, "BAD_REQUEST")
    assert body["unknown"] == ["myspace", "orkut"]
    assert [(e["field"], e["code"]) for e in body["errors"]] == [
        ("platforms[1]", "UNKNOWN_PLATFORM"),
        ("platforms[3]", "UNKNOWN_PLATFORM"),
    ]
    assert "myspace" in body["detail"]
    assert "orkut" in body["detail"]
    assert count_shares() == 0
    assert audit(api) == []


def test_unknown_platform_in_retry_path_is_400(api: ApiClient):
    assert_problem(api.post(f"/videos/{VIDEO}/share/myspace/retry"), 400, "BAD_REQUEST")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"platforms": []}, 422, "VALIDATION_FAILED"),
        ({"platforms": ["x"], "mode": "broadcast"}, 422, "VALIDATION_FAILED"),
        ({"platforms": ["x"], "extra": 1}, 422, "VALIDATION_FAILED"),
        ({"platforms": "x"}, 422, "VALIDATION_FAILED"),
    ],
)
def test_invalid_bodies(api: ApiClient, body, status, code):
    assert_problem(share(api, **body), status, code)
    assert count_shares() == 0


def test_malformed_json_bad_video_id_and_missing_token(api: ApiClient):
    assert_problem(
        api.post(f"/videos/{VIDEO}/share", data="{", headers={"Content-Type": "application/json"}),
        400,
        "BAD_REQUEST",
    )
    # Outside the route registry's id pattern: no such resource can exist (api.routes), 404.
    assert_problem(share(api, video="bad%20id", platforms=["x"]), 404, "NOT_FOUND")
    # Inside it but not a video id: 400.
    assert_problem(api.get("/videos/a:b/share-status"), 400, "BAD_REQUEST")
    assert_problem(api.get(f"/videos/{VIDEO}/share-audit?limit=0"), 422, "VALIDATION_FAILED")
    assert_problem(api.get(f"/videos/{VIDEO}/share-status", token=""), 401, "UNAUTHENTICATED")


# --- concurrency --------------------------------------------------------------------------------


def race(n: int, call) -> list:
    """``call(i)`` for i in 0..n-1, all released at the same moment; the results in order."""
    barrier = threading.Barrier(n)
    out: list = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        out[i] = call(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_identical_track_requests_racing_create_one_record(user_id: str):
    clients = [ApiClient(PORTS, user_id) for _ in range(6)]
    responses = race(6, lambda i: share(clients[i], platforms=["x"], mode="track_only"))
    outcomes = [results(r)["x"] for r in responses]
    assert sorted(o["alreadyShared"] for o in outcomes) == [False] + [True] * 5
    assert {o["record_id"] for o in outcomes} == {f"{VIDEO}:x:{user_id}"}
    assert count_shares() == 1
    assert len(audit(clients[0])) == 1


def test_identical_server_posts_racing_publish_once(user_id: str, sandbox: Sandbox):
    clients = [ApiClient(PORTS, user_id) for _ in range(4)]
    responses = race(4, lambda i: share(clients[i], platforms=["facebook"], mode="server_post"))
    outcomes = [results(r)["facebook"] for r in responses]
    assert {o["status"] for o in outcomes} <= {"pending", "success"}
    wait_status(clients[0], "facebook", "success")
    account = sandbox_account_id(user_id, Platform.FACEBOOK)
    assert len(sandbox.ledger("facebook", account)) == 1
    assert count_shares() == 1
    posts = list(Clients(Settings()).firestore.collection("posts").stream())
    assert len(posts) == 1


# --- server_post --------------------------------------------------------------------------------


def test_server_post_publishes_through_the_publisher_with_enrichment(
    api: ApiClient, user_id: str, sandbox: Sandbox
):
    got = results(
        share(
            api,
            platforms=["x", "facebook"],
            mode="server_post",
            message="New & shiny",
            hashtags=["launch day"],
        )
    )
    assert {r["status"] for r in got.values()} == {"pending"}
    for platform in ("x", "facebook"):
        done = wait_status(api, platform, "success")
        assert done["shared"] is True
        assert done["mode"] == "server_post"
        assert done["attempt_count"] == 1
        assert done["external_ref"]
        [post] = sandbox.ledger(platform, sandbox_account_id(user_id, Platform(platform)))
        assert post["id"] == done["external_ref"]
        assert post["text"].startswith(f"New & shiny\n\nSandbox video {VIDEO} & friends")
        assert post["text"].endswith(f"#launchday\n\n{WATCH}")
    x_text = sandbox.ledger("x")[0]["text"]
    assert "…" in x_text  # the long description was cut to fit 280 weighted characters
    outcomes = [(e["platform"], e["actor"], e["outcome"]) for e in audit(api)]
    assert ("x", "system", "success") in outcomes
    assert ("facebook", "system", "success") in outcomes
    # a repeat is already shared and posts nothing more
    again = results(share(api, platforms=["x"], mode="server_post"))["x"]
    assert again["alreadyShared"] is True
    assert len(sandbox.ledger("x")) == 1


def test_server_post_to_a_failing_network_ends_failed_then_retry_succeeds(
    api: ApiClient, user_id: str, sandbox: Sandbox
):
    account = sandbox_account_id(user_id, Platform.FACEBOOK)
    sandbox.fault(platform="facebook", account_id=account, kind="permanent", times=1)
    results(share(api, platforms=["facebook"], mode="server_post"))
    failed = wait_status(api, "facebook", "failed")
    assert failed["shared"] is False
    assert failed["error_message"]
    assert failed["attempt_count"] == 1
    entry = audit(api)[0]
    assert (entry["outcome"], entry["actor"]) == ("failed", "system")
    assert entry["error_message"] == failed["error_message"]

    retried = api.post(f"/videos/{VIDEO}/share/Facebook/retry")
    assert retried.status_code == 202, retried.text
    assert retried.json()["results"][0]["status"] == "pending"
    done = wait_status(api, "facebook", "success")
    assert done["attempt_count"] == 2
    assert done["error_message"] is None
    assert len(sandbox.ledger("facebook", account)) == 1
    assert_problem(api.post(f"/videos/{VIDEO}/share/facebook/retry"), 409, "CONFLICT")


def test_retry_is_refused_unless_the_last_attempt_failed(api: ApiClient, sandbox: Sandbox):
    assert_problem(api.post(f"/videos/{VIDEO}/share/x/retry"), 404, "NOT_FOUND")
    results(share(api, platforms=["x"], mode="track_only"))
    body = assert_problem(api.post(f"/videos/{VIDEO}/share/x/retry"), 409, "CONFLICT")
    assert body["shareStatus"] == "success"
    assert_problem(api.post(f"/videos/{VIDEO}/share/whatsapp/retry"), 409, "CONFLICT")


def test_platforms_without_a_server_connector_get_a_per_platform_error(
    api: ApiClient, sandbox: Sandbox
):
    # LinkedIn has a connector now; WhatsApp never will (share link only).
    got = results(share(api, platforms=["whatsapp", "linkedin", "x"], mode="server_post"))
    assert got["whatsapp"]["status"] is None
    assert got["whatsapp"]["error"]["code"] == "SERVER_POST_UNSUPPORTED"
    assert got["whatsapp"]["record_id"] is None
    assert got["whatsapp"]["intent_url"].startswith("https://wa.me/?text=")
    for platform in ("linkedin", "x"):
        assert got[platform]["status"] == "pending"
        assert got[platform]["error"] is None
        wait_status(api, platform, "success")
    assert status_of(api, "whatsapp")["status"] is None


def test_enrichment_timeout_falls_back_and_the_share_still_goes_out(
    api: ApiClient, user_id: str, sandbox: Sandbox
):
    # 30 s is far beyond the 2 s budget and the test client's 15 s timeout: the request only
    # returns because the API stops waiting for YouTube.
    sandbox.fault(platform="youtube_data", kind="latency", latency_ms=30_000, operation="read")
    got = results(share(api, platforms=["x"], mode="server_post", message="No metadata"))
    assert got["x"]["status"] == "pending"
    wait_status(api, "x", "success")
    [post] = sandbox.ledger("x", sandbox_account_id(user_id, Platform.X))
    assert post["text"] == f"No metadata\n\n{WATCH}"


def test_enrichment_error_falls_back(api: ApiClient, user_id: str, sandbox: Sandbox):
    sandbox.fault(platform="youtube_data", kind="server_error", operation="read")
    results(share(api, platforms=["facebook"], mode="server_post", hashtags=["a"]))
    wait_status(api, "facebook", "success")
    [post] = sandbox.ledger("facebook", sandbox_account_id(user_id, Platform.FACEBOOK))
    assert post["text"] == f"#a\n\n{WATCH}"


# --- audit --------------------------------------------------------------------------------------


def test_audit_shows_own_entries_and_admins_see_everyone(user_id: str):
    alice = ApiClient(PORTS, user_id)
    bob = ApiClient(PORTS, user_id + "-bob")
    admin = ApiClient(PORTS, user_id + "-admin", role="admin")
    results(share(alice, platforms=["x"]))
    results(share(bob, platforms=["x", "facebook"]))
    mine = audit(alice)
    assert [(e["user_id"], e["platform"], e["mode"], e["outcome"]) for e in mine] == [
        (user_id, "x", "track_only", "success")
    ]
    assert mine[0]["actor"] == user_id
    assert mine[0]["created_at"].endswith("Z")
    assert len(audit(bob)) == 2
    everyone = audit(admin)
    assert len(everyone) == 3
    assert {e["user_id"] for e in everyone} == {user_id, user_id + "-bob"}
    assert audit(alice, video="other") == []
