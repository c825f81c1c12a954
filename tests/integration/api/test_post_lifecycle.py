"""The post lifecycle over real HTTP (api, publisher, Cloud Tasks emulator, sandbox): drafts,
PATCH, cancel, publish now, retry, and tasks that fire after the user changed the schedule."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from google.api_core.exceptions import NotFound as TaskNotFound

from infra.localenv import HOST
from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.tasks import INTERNAL_AUTH_HEADER, PublishTask
from tests.conftest import PORTS
from tests.integration.api.test_multipost import assert_problem
from tests.support.api import ApiClient
from tests.support.sandbox import Sandbox

pytestmark = pytest.mark.usefixtures("clean_stack")


@pytest.fixture
def api(user_id: str) -> ApiClient:
    return ApiClient(PORTS, user_id)


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox.of_stack(PORTS)


def later(**delta) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def create(api: ApiClient, **body) -> dict:
    body.setdefault("content", "lifecycle test")
    body.setdefault("platforms", [{"platform": "x"}])
    response = api.post("/posts/multipost", json=body)
    assert response.status_code in (201, 202), response.text
    return response.json()


def deliver(task: PublishTask) -> requests.Response:
    """Deliver a task body to the running publisher exactly as Cloud Tasks would."""
    configured = Settings().internal_auth_secret
    assert configured is not None
    secret = configured.get_secret_value()
    return requests.post(
        f"http://{HOST}:{PORTS.publisher}/",
        data=task.body(),
        headers={"Content-Type": "application/json", INTERNAL_AUTH_HEADER: secret},
        timeout=30,
    )


def task_exists(task: PublishTask) -> bool:
    settings = Settings()
    try:
        Clients(settings).tasks.get_task(name=f"{settings.queue_path}/tasks/{task.task_id}")
    except TaskNotFound:
        return False
    return True


def wait_post(api: ApiClient, post_id: str, predicate, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = api.get(f"/posts/{post_id}").json()
        if predicate(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


def settled(body: dict) -> bool:
    return body["status"] in ("PUBLISHED", "PARTIAL", "FAILED")


# --- drafts ------------------------------------------------------------------------------------


def test_draft_is_never_published_until_asked(api, sandbox):
    draft = create(api, draft=True)
    assert draft["status"] == "DRAFT"
    assert not task_exists(PublishTask(post_id=draft["postId"], target_id="x-0", attempt=1))
    got = api.get(f"/posts/{draft['postId']}").json()
    assert got["enqueuePending"] is False
    assert [t["status"] for t in got["targets"]] == ["PENDING"]

    published = api.post(f"/posts/{draft['postId']}/publish")
    assert published.status_code == 202, published.text
    assert published.json()["status"] == "PUBLISHING"
    assert published.json()["enqueuePending"] is False
    final = wait_post(api, draft["postId"], settled)
    assert final["status"] == "PUBLISHED"
    assert len(sandbox.ledger(platform="x")) == 1


def test_patch_a_draft_then_schedule_it(api):
    draft = create(api, draft=True)
    post_id = draft["postId"]
    edited = api.request(
        "PATCH",
        f"/posts/{post_id}",
        json={"content": "new words", "platforms": [{"platform": "facebook"}, {"platform": "x"}]},
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["status"], body["content"]) == ("DRAFT", "new words")
    assert [t["target_id"] for t in body["targets"]] == ["facebook-0", "x-1"]
    at = later(hours=3)
    scheduled = api.request("PATCH", f"/posts/{post_id}", json={"scheduleAt": at, "draft": False})
    assert scheduled.status_code == 202, scheduled.text
    assert scheduled.json()["status"] == "SCHEDULED"
    targets = scheduled.json()["targets"]
    for target in targets:
        task = PublishTask(post_id=post_id, target_id=target["target_id"], attempt=1, generation=2)
        assert task_exists(task), task.task_id
    back = api.request("PATCH", f"/posts/{post_id}", json={"draft": True})
    assert back.status_code == 200
    assert back.json()["status"] == "DRAFT"
    # The tasks of the scheduled generation are superseded: delivering one changes nothing.
    stale = deliver(PublishTask(post_id=post_id, target_id="x-1", attempt=1, generation=2))
    assert (stale.status_code, stale.json()["action"]) == (200, "NOOP_SUPERSEDED")


def test_patch_revalidates_targets_like_create(api):
    draft = create(api, draft=True, platforms=[{"platform": "facebook"}, {"platform": "x"}])
    response = api.request("PATCH", f"/posts/{draft['postId']}", json={"content": "a" * 281})
    problem = assert_problem(response, 422, "VALIDATION_FAILED")
    assert [(e["code"], e.get("target")) for e in problem["errors"]] == [("TEXT_TOO_LONG", 1)]
    response = api.request(
        "PATCH", f"/posts/{draft['postId']}", json={"platforms": [{"platform": "myspace"}]}
    )
    assert [e["code"] for e in assert_problem(response, 422, "VALIDATION_FAILED")["errors"]] == [
        "UNKNOWN_PLATFORM"
    ]
    past = api.request(
        "PATCH", f"/posts/{draft['postId']}", json={"scheduleAt": "2020-01-01T00:00:00Z"}
    )
    assert [e["code"] for e in assert_problem(past, 422, "VALIDATION_FAILED")["errors"]] == [
        "SCHEDULE_IN_PAST"
    ]
    empty = api.request("PATCH", f"/posts/{draft['postId']}", json={})
    assert_problem(empty, 422, "VALIDATION_FAILED")
    unchanged = api.get(f"/posts/{draft['postId']}").json()
    assert (unchanged["content"], unchanged["version"]) == ("lifecycle test", 1)


# --- scheduled posts and the tasks that fire after a change ------------------------------------


def test_reschedule_supersedes_the_old_task(api, sandbox):
    created = create(api, scheduleAt=later(hours=2))
    post_id = created["postId"]
    old = PublishTask(post_id=post_id, target_id="x-0", attempt=1)
    assert task_exists(old)
    moved = api.request("PATCH", f"/posts/{post_id}", json={"scheduleAt": later(hours=5)})
    assert moved.status_code == 202, moved.text
    assert moved.json()["status"] == "SCHEDULED"
    new = PublishTask(post_id=post_id, target_id="x-0", attempt=1, generation=1)
    assert task_exists(new)
    # The old task fires anyway (as Cloud Tasks would at its time): a 200 no-op.
    response = deliver(old)
    assert response.status_code == 200
    assert response.json()["action"] == "NOOP_SUPERSEDED"
    after = api.get(f"/posts/{post_id}").json()
    assert after["targets"][0]["status"] == "PENDING"
    assert after["targets"][0]["attempts"] == 0
    assert sandbox.ledger(platform="x") == []


def test_superseded_task_through_the_real_queue_is_done_not_retried(api, sandbox):
    """The old task is dispatched by the Cloud Tasks emulator (RunTask) after the post went back
    to draft: the publisher answers 200, so the queue deletes it instead of retrying."""
    created = create(api, scheduleAt=later(hours=2))
    post_id = created["postId"]
    old = PublishTask(post_id=post_id, target_id="x-0", attempt=1)
    assert api.request("PATCH", f"/posts/{post_id}", json={"draft": True}).status_code == 200
    settings = Settings()
    Clients(settings).tasks.run_task(name=f"{settings.queue_path}/tasks/{old.task_id}")
    deadline = time.monotonic() + 20
    while task_exists(old) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert not task_exists(old)
    body = api.get(f"/posts/{post_id}").json()
    assert (body["status"], body["targets"][0]["status"]) == ("DRAFT", "PENDING")
    assert sandbox.ledger(platform="x") == []


def test_publish_now_supersedes_the_schedule_and_posts_once(api, sandbox):
    created = create(api, scheduleAt=later(hours=1))
    post_id = created["postId"]
    response = api.post(f"/posts/{post_id}/publish")
    assert response.status_code == 202
    assert response.json()["scheduledAt"] is None
    final = wait_post(api, post_id, settled)
    assert final["status"] == "PUBLISHED"
    stale = deliver(PublishTask(post_id=post_id, target_id="x-0", attempt=1))
    assert (stale.status_code, stale.json()["action"]) == (200, "NOOP_TERMINAL")
    assert len(sandbox.ledger(platform="x")) == 1


def test_cancel_then_the_task_fires(api, sandbox):
    created = create(api, scheduleAt=later(hours=1), platforms=[{"platform": "facebook"}])
    post_id = created["postId"]
    response = api.post(f"/posts/{post_id}/cancel")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "CANCELLED"
    assert [t["status"] for t in body["targets"]] == ["CANCELLED"]
    fired = deliver(PublishTask(post_id=post_id, target_id="facebook-0", attempt=1))
    assert (fired.status_code, fired.json()["action"]) == (200, "NOOP_TERMINAL")
    assert sandbox.ledger(platform="facebook") == []


def test_cancel_loses_the_race_against_a_started_attempt(api, sandbox):
    """The scheduled time comes, the publisher claims the target (the sandbox holds the request
    for a while), and a cancel arriving then is refused with the state it lost to."""
    sandbox.fault(platform="x", kind="latency", latency_ms=3000, times=1)
    created = create(api, scheduleAt=later(seconds=1))
    post_id = created["postId"]
    wait_post(api, post_id, lambda b: b["targets"][0]["status"] != "PENDING", timeout=20)
    refused = api.post(f"/posts/{post_id}/cancel")
    problem = assert_problem(refused, 409, "CONFLICT")
    assert problem["current"]["postId"] == post_id
    assert problem["current"]["targets"][0]["status"] in ("PUBLISHING", "SUCCESS")
    final = wait_post(api, post_id, settled)
    assert final["status"] == "PUBLISHED"
    assert len(sandbox.ledger(platform="x")) == 1


# --- refused transitions -----------------------------------------------------------------------


def test_refused_transitions_are_409_with_the_current_state(api):
    cancelled = create(api, draft=True)
    api.post(f"/posts/{cancelled['postId']}/cancel")
    for method, suffix, body in [
        ("POST", "/cancel", None),
        ("POST", "/publish", None),
        ("PATCH", "", {"content": "too late"}),
        ("POST", "/targets/x-0/retry", None),
    ]:
        response = api.request(method, f"/posts/{cancelled['postId']}{suffix}", json=body)
        problem = assert_problem(response, 409, "CONFLICT")
        assert problem["current"]["status"] == "CANCELLED", suffix
        assert problem["current"]["targets"][0]["status"] == "CANCELLED"


def test_published_post_cannot_be_edited_cancelled_or_retried(api):
    post_id = create(api)["postId"]
    wait_post(api, post_id, settled)
    for method, suffix in [("PATCH", ""), ("POST", "/cancel"), ("POST", "/publish")]:
        body = {"content": "x"} if method == "PATCH" else None
        problem = assert_problem(
            api.request(method, f"/posts/{post_id}{suffix}", json=body), 409, "CONFLICT"
        )
        assert problem["current"]["status"] == "PUBLISHED"
    problem = assert_problem(api.post(f"/posts/{post_id}/targets/x-0/retry"), 409, "CONFLICT")
    assert "SUCCESS" in problem["detail"]


def test_other_users_posts_are_404_for_every_route(api):
    post_id = create(api, draft=True)["postId"]
    intruder = ApiClient(PORTS, "intruder")
    for method, suffix in [
        ("PATCH", ""),
        ("POST", "/cancel"),
        ("POST", "/publish"),
        ("POST", "/targets/x-0/retry"),
    ]:
        body = {"content": "mine now"} if method == "PATCH" else None
        assert_problem(
            intruder.request(method, f"/posts/{post_id}{suffix}", json=body), 404, "NOT_FOUND"
        )
    assert_problem(api.post(f"/posts/{post_id}/targets/nope-9/retry"), 404, "NOT_FOUND")
    assert api.get(f"/posts/{post_id}").json()["status"] == "DRAFT"


# --- retry of a failed target ------------------------------------------------------------------


def test_retry_a_failed_target_with_a_new_budget(api, sandbox, user_id):
    sandbox.fault(platform="x", kind="permanent", times=1)
    post_id = create(api)["postId"]
    failed = wait_post(api, post_id, settled)
    assert failed["status"] == "FAILED"
    target = failed["targets"][0]
    assert target["error"] == {
        "code": target["error"]["code"],
        "message": target["error"]["message"],
        "retryable": False,
        "retryAfterS": None,
        "attempts": 1,
        "maxAttempts": 4,
        "retry_after_s": None,  # deprecated aliases of API 1.0, until 2.0
        "max_attempts": 4,
    }
    retried = api.post(f"/posts/{post_id}/targets/x-0/retry")
    assert retried.status_code == 202, retried.text
    assert retried.json()["status"] == "PUBLISHING"
    assert retried.json()["targets"][0]["max_attempts"] == 5
    final = wait_post(api, post_id, settled)
    assert final["status"] == "PUBLISHED"
    assert final["targets"][0]["attempts"] == 2
    assert len(sandbox.ledger(platform="x")) == 1
    notes = [
        e.to_dict()
        for e in Clients(Settings())
        .firestore.collection("users")
        .document(user_id)
        .collection("events")
        .stream()
        if e.to_dict()["type"] == "notification"
    ]
    assert len(notes) == 1
    assert notes[0]["data"]["kind"] == "target_failed"
    assert notes[0]["data"]["target_id"] == "x-0"
