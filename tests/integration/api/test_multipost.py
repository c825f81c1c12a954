"""``POST /posts/multipost`` and ``GET /posts/{id}`` over real HTTP against the emulators."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from sharecast.clients import Clients
from sharecast.config import Settings
from tests.conftest import PORTS
from tests.support.api import ApiClient

pytestmark = pytest.mark.usefixtures("clean_stack")


@pytest.fixture
def api(user_id: str) -> ApiClient:
    return ApiClient(PORTS, user_id)


def count_posts() -> int:
    return len(list(Clients(Settings()).firestore.collection("posts").stream()))


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert {"type", "title", "detail"} <= body.keys()
    return body


def test_healthz_needs_no_token(api: ApiClient):
    response = api.get("/healthz", token="")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_scheduled_post_is_stored_with_one_named_task_per_target(api: ApiClient):
    at = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    response = api.post(
        "/posts/multipost",
        json={
            "content": "Launch day",
            "platforms": [{"platform": "facebook"}, {"platform": "Twitter"}],
            "scheduleAt": at.isoformat(),
        },
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "SCHEDULED"
    assert body["scheduledAt"] == at.isoformat().replace("+00:00", ".000Z")
    assert [r["platform"] for r in body["results"]] == ["facebook", "x"]
    assert body["enqueuePending"] is False
    settings = Settings()
    tasks = Clients(settings).tasks
    for result in body["results"]:
        name = f"{settings.queue_path}/tasks/{body['postId']}-{result['targetId']}-1"
        task = tasks.get_task(name=name)
        assert task.schedule_time.timestamp() == pytest.approx(at.timestamp(), abs=0.001)
    got = api.get(f"/posts/{body['postId']}")
    assert got.status_code == 200
    assert got.json()["status"] == "SCHEDULED"
    assert [t["status"] for t in got.json()["targets"]] == ["PENDING", "PENDING"]


def test_draft_is_created_without_tasks(api: ApiClient):
    response = api.post(
        "/posts/multipost",
        json={"content": "later", "platforms": [{"platform": "x"}], "draft": True},
    )
    assert response.status_code == 201
    assert response.json()["status"] == "DRAFT"


def test_other_users_post_is_not_found(api: ApiClient):
    created = api.post(
        "/posts/multipost",
        json={"content": "mine", "platforms": [{"platform": "x"}], "draft": True},
    ).json()
    intruder = ApiClient(PORTS, "someone-else")
    assert_problem(intruder.get(f"/posts/{created['postId']}"), 404, "NOT_FOUND")
    assert_problem(api.get("/posts/does-not-exist"), 404, "NOT_FOUND")


def test_malformed_json_is_400(api: ApiClient):
    response = api.post(
        "/posts/multipost", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400, "BAD_REQUEST")


def test_wrong_content_type_is_415(api: ApiClient):
    response = api.post(
        "/posts/multipost",
        data="content=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")


@pytest.mark.parametrize(
    ("body", "codes"),
    [
        (
            {"content": "hi", "platforms": [{"platform": "myspace"}, {"platform": "x"}]},
            ["UNKNOWN_PLATFORM"],
        ),
        (
            {
                "content": "hi",
                "platforms": [{"platform": "x"}],
                "scheduleAt": "2020-01-01T00:00:00Z",
            },
            ["SCHEDULE_IN_PAST"],
        ),
        (
            {"content": "a" * 281, "platforms": [{"platform": "facebook"}, {"platform": "x"}]},
            ["TEXT_TOO_LONG"],
        ),
        ({"content": "hi", "platforms": []}, ["TOO_FEW_ITEMS"]),
        ({"content": "hi", "platforms": [{"platform": "x"}], "surprise": 1}, ["UNKNOWN_FIELD"]),
        (
            {
                "content": "hi",
                "platforms": [{"platform": "x"}],
                "scheduleAt": "2030-01-01T00:00:00",
            },
            ["TIMEZONE_REQUIRED"],
        ),
        ({"platforms": [{"platform": "x"}]}, ["REQUIRED"]),
    ],
)
def test_invalid_requests_are_422_and_store_nothing(api: ApiClient, body, codes):
    before = count_posts()
    problem = assert_problem(api.post("/posts/multipost", json=body), 422, "VALIDATION_FAILED")
    assert [e["code"] for e in problem["errors"]] == codes
    assert count_posts() == before


def test_text_over_limit_names_the_target(api: ApiClient):
    problem = api.post(
        "/posts/multipost",
        json={
            "content": "short",
            "platforms": [{"platform": "facebook"}, {"platform": "x", "content": "😀" * 141}],
        },
    ).json()
    assert problem["errors"] == [
        {
            "field": "platforms[1].content",
            "code": "TEXT_TOO_LONG",
            "message": "x allows 280 characters; this text counts 282",
            "target": 1,
        }
    ]


@pytest.mark.parametrize("kind", ["missing", "expired", "forged", "garbage", "future-nbf"])
def test_bad_tokens_are_401(api: ApiClient, kind: str):
    settings = Settings()
    now = int(time.time())
    assert settings.jwt_secret is not None
    secret = settings.jwt_secret.get_secret_value()
    tokens = {
        "missing": "",
        "expired": jwt.encode({"sub": "a", "exp": now - 120}, secret, algorithm="HS256"),
        "forged": jwt.encode({"sub": "a", "exp": now + 600}, "x" * 40, algorithm="HS256"),
        "garbage": "not-a-jwt",
        "future-nbf": jwt.encode(
            {"sub": "a", "exp": now + 600, "nbf": now + 300}, secret, algorithm="HS256"
        ),
    }
    response = api.post(
        "/posts/multipost",
        token=tokens[kind],
        json={"content": "hi", "platforms": [{"platform": "x"}]},
    )
    assert_problem(response, 401, "UNAUTHENTICATED")
    assert "WWW-Authenticate" in response.headers


def test_unknown_route_and_method_are_problems(api: ApiClient):
    assert_problem(api.get("/nope"), 404, "NOT_FOUND")
    assert_problem(api.get("/posts/multipost"), 404, "NOT_FOUND")
    assert_problem(api.request("DELETE", "/auth/sse-token"), 405, "METHOD_NOT_ALLOWED")


def test_sse_token(api: ApiClient):
    response = api.post("/auth/sse-token")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expiresAt"}
    assert body["expiresAt"].endswith("Z")
