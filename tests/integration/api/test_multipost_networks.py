"""Per-network rules at ``POST /posts/multipost``: one 422 with a message per target, nothing
stored; a text-only Threads and LinkedIn post is accepted (the API function reads the same
settings as production, including the default ``PUBLISH_PLATFORMS``)."""

from __future__ import annotations

import time

import pytest

from tests.conftest import PORTS
from tests.integration.api.test_multipost import assert_problem, count_posts
from tests.support.api import ApiClient
from tests.support.sandbox import Sandbox

pytestmark = pytest.mark.usefixtures("clean_stack")


@pytest.fixture
def api(user_id: str) -> ApiClient:
    return ApiClient(PORTS, user_id)


def test_each_network_says_what_it_needs(api: ApiClient):
    before = count_posts()
    response = api.post(
        "/posts/multipost",
        json={
            "content": "hello",
            "platforms": [
                {"platform": "youtube"},
                {"platform": "instagram", "mediaType": "REELS"},
                {"platform": "whatsapp"},
                {"platform": "youtube", "accountId": "c2", "title": "t" * 101},
            ],
        },
    )
    problem = assert_problem(response, 422, "VALIDATION_FAILED")
    assert [(e["target"], e["field"], e["code"]) for e in problem["errors"]] == [
        (0, "platforms[0].media", "MEDIA_REQUIRED"),
        (0, "platforms[0].title", "TITLE_REQUIRED"),
        (1, "platforms[1].media", "MEDIA_REQUIRED"),
        (2, "platforms[2].platform", "SHARE_LINK_ONLY"),
        (3, "platforms[3].media", "MEDIA_REQUIRED"),
        (3, "platforms[3].title", "TITLE_TOO_LONG"),
        (3, "platforms[3].accountId", "NOT_CONNECTED"),  # one round: connections too
    ]
    assert "WhatsApp has no publishing API" in problem["errors"][3]["message"]
    assert count_posts() == before


def test_threads_over_500_with_emoji_is_refused(api: ApiClient):
    response = api.post(
        "/posts/multipost",
        json={"content": "a" * 497 + "😀", "platforms": [{"platform": "threads"}]},
    )
    problem = assert_problem(response, 422, "VALIDATION_FAILED")
    assert problem["errors"][0]["message"] == "threads allows 500 characters; this text counts 501"


def test_text_posts_to_threads_and_linkedin_are_published_once(api: ApiClient):
    """Through the running stack: API, queue, publisher, the sandbox's Threads and LinkedIn."""
    response = api.post(
        "/posts/multipost",
        json={
            "content": "Hello (world) #launch",
            "platforms": [{"platform": "threads"}, {"platform": "linkedin"}],
        },
    )
    assert response.status_code == 202, response.text
    post_id = response.json()["postId"]
    deadline = time.monotonic() + 60
    body: dict = {}
    while time.monotonic() < deadline:
        body = api.get(f"/posts/{post_id}").json()
        if body.get("status") == "PUBLISHED":
            break
        time.sleep(0.5)
    assert body.get("status") == "PUBLISHED", body
    sandbox = Sandbox.of_stack(PORTS)
    [threads] = sandbox.ledger("threads")
    [linkedin] = sandbox.ledger("linkedin")
    assert threads["text"] == linkedin["text"] == "Hello (world) #launch"
    assert linkedin["id"].startswith("urn:li:share:")
