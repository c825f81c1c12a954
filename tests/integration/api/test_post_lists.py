"""``GET /posts`` (own posts, filters, cursor pagination), ``?wait=N`` on create, and the admin
routes (dead letters, attempt log, roles) over real HTTP against the running stack."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.conftest import PORTS
from tests.integration.api.test_multipost import assert_problem
from tests.integration.api.test_post_lifecycle import create, settled, wait_post
from tests.support.api import ApiClient
from tests.support.sandbox import Sandbox

pytestmark = pytest.mark.usefixtures("clean_stack")


@pytest.fixture
def api(user_id: str) -> ApiClient:
    return ApiClient(PORTS, user_id)


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox.of_stack(PORTS)


def pages(api: ApiClient, query: str) -> list[list[str]]:
    out, cursor = [], None
    while True:
        suffix = f"&cursor={cursor}" if cursor else ""
        response = api.get(f"/posts?{query}{suffix}")
        assert response.status_code == 200, response.text
        body = response.json()
        out.append([p["postId"] for p in body["items"]])
        cursor = body["nextCursor"]
        if cursor is None:
            return out


def test_list_own_posts_newest_first_with_cursor_and_filters(api):
    ids = [create(api, draft=True, content=f"draft {n}")["postId"] for n in range(5)]
    cancelled = ids[1]
    assert api.post(f"/posts/{cancelled}/cancel").status_code == 200
    create(ApiClient(PORTS, "someone-else"), draft=True)  # never listed for api's user

    assert pages(api, "limit=2") == [ids[4:2:-1], ids[2:0:-1], ids[:1]]
    assert pages(api, "status=CANCELLED") == [[cancelled]]
    drafts = [i for i in reversed(ids) if i != cancelled]
    assert pages(api, "status=DRAFT&limit=10") == [drafts]
    listed = api.get("/posts?limit=1").json()["items"][0]
    assert listed["targets"][0]["target_id"] == "x-0"
    created = datetime.fromisoformat(listed["createdAt"])
    window = (created - timedelta(milliseconds=1)).isoformat().replace("+", "%2B")
    assert pages(api, f"from={window}") == [[ids[4]]]
    assert pages(api, f"to={window}") == [ids[3::-1]]


@pytest.mark.parametrize(
    "query",
    ["status=SHIPPED", "limit=0", "limit=101", "from=yesterday", "to=2030-01-01T00:00:00", "x=1"],
)
def test_bad_list_queries_are_422(api, query):
    assert_problem(api.get(f"/posts?{query}"), 422, "VALIDATION_FAILED")


def test_bad_cursor_is_400(api):
    assert_problem(api.get("/posts?cursor=bm90LWEtcGF0aA"), 400, "BAD_REQUEST")
    assert_problem(api.get("/posts?cursor=%%%"), 400, "BAD_REQUEST")


def test_wait_returns_final_results(api, sandbox):
    sandbox.fault(platform="facebook", kind="permanent", times=1)
    response = api.post(
        "/posts/multipost?wait=20",
        json={"content": "wait for it", "platforms": [{"platform": "facebook"}, {"platform": "x"}]},
        timeout=40,
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "PARTIAL", body
    by_platform = {r["platform"]: r for r in body["results"]}
    assert by_platform["x"]["status"] == "SUCCESS"
    assert by_platform["x"]["postId"] == sandbox.ledger(platform="x")[0]["id"]
    assert by_platform["facebook"]["status"] == "FAILED"
    assert by_platform["facebook"]["error"]["retryable"] is False


def test_wait_answers_at_the_deadline_with_what_is_known(api, sandbox):
    sandbox.fault(platform="x", kind="latency", latency_ms=4000, times=1)
    response = api.post(
        "/posts/multipost?wait=1", json={"content": "slow", "platforms": [{"platform": "x"}]}
    )
    assert response.status_code == 202
    assert response.json()["status"] == "PUBLISHING"
    assert wait_post(api, response.json()["postId"], settled)["status"] == "PUBLISHED"


@pytest.mark.parametrize("wait", ["26", "-1", "soon"])
def test_wait_is_bounded(api, wait):
    response = api.post(
        f"/posts/multipost?wait={wait}", json={"content": "x", "platforms": [{"platform": "x"}]}
    )
    assert_problem(response, 422, "VALIDATION_FAILED")


# --- admin: dead letters and attempt log -------------------------------------------------------


def failed_post(api: ApiClient, sandbox: Sandbox) -> str:
    sandbox.fault(platform="x", kind="permanent", times=1)
    post_id = create(api)["postId"]
    assert wait_post(api, post_id, settled)["status"] == "FAILED"
    return post_id


def test_dead_letters_and_their_retry_by_role(api, sandbox, user_id):
    post_id = failed_post(api, sandbox)
    user, monitor, admin = (
        api,
        ApiClient(PORTS, "ops-monitor", role="monitor"),
        ApiClient(PORTS, "ops-admin", role="admin"),
    )
    assert_problem(user.get("/admin/dead-letters"), 403, "FORBIDDEN")
    assert_problem(ApiClient(PORTS, "v", role="viewer").get("/admin/attempts"), 403, "FORBIDDEN")
    assert_problem(user.get("/admin/dead-letters", token=""), 401, "UNAUTHENTICATED")
    listed = monitor.get("/admin/dead-letters")
    assert listed.status_code == 200, listed.text
    [letter] = listed.json()["items"]
    assert letter["targetPath"] == f"{post_id}:x-0"
    assert letter["userId"] == user_id
    assert letter["target"]["error"]["attempts"] == 1

    path = f"/admin/dead-letters/{post_id}:x-0/retry"
    assert_problem(monitor.post(path), 403, "FORBIDDEN")
    assert_problem(admin.post("/admin/dead-letters/nope:x-0/retry"), 404, "NOT_FOUND")
    assert_problem(admin.post("/admin/dead-letters/no-separator/retry"), 404, "NOT_FOUND")
    retried = admin.post(path)
    assert retried.status_code == 202, retried.text
    assert wait_post(api, post_id, settled)["status"] == "PUBLISHED"
    assert monitor.get("/admin/dead-letters").json()["items"] == []
    again = admin.post(path)
    assert assert_problem(again, 409, "CONFLICT")["current"]["status"] == "PUBLISHED"

    log = monitor.get(f"/admin/attempts?postId={post_id}").json()["items"]
    assert [(a["attempt"], a["outcome"]) for a in log] == [(2, "SUCCESS"), (1, "FAILED")]
    assert log[1]["error"]["retryable"] is False
    assert all(a["durationMs"] >= 0 and a["targetId"] == "x-0" for a in log)


def test_attempt_log_filters_and_pages(api, sandbox):
    post_ids = [create(api, content=f"post {n}")["postId"] for n in range(3)]
    for post_id in post_ids:
        wait_post(api, post_id, settled)
    failed = failed_post(api, sandbox)
    monitor = ApiClient(PORTS, "ops-monitor", role="monitor")
    seen, cursor = [], None
    while True:
        body = monitor.get(f"/admin/attempts?limit=3{'&cursor=' + cursor if cursor else ''}")
        assert body.status_code == 200, body.text
        seen += [a["postId"] for a in body.json()["items"]]
        cursor = body.json()["nextCursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted([*post_ids, failed])
    assert seen[0] == failed  # newest first
    outcome = monitor.get("/admin/attempts?outcome=FAILED").json()["items"]
    assert [a["postId"] for a in outcome] == [failed]
    one = monitor.get(f"/admin/attempts?postId={failed}&targetId=x-0&outcome=FAILED").json()
    assert [a["postId"] for a in one["items"]] == [failed]
    assert_problem(monitor.get("/admin/attempts?targetId=x-0"), 400, "BAD_REQUEST")
    assert_problem(monitor.get("/admin/attempts?outcome=MAYBE"), 422, "VALIDATION_FAILED")
