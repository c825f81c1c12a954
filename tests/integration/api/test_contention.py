"""Lifecycle routes under contention (issue 14 item 6), over real HTTP against the emulators:
parallel cancel/publish on scheduled posts, parallel edits of one post, parallel retries (user
and admin) of one failed target. Every answer is the operation's success, a 409 (the transition
the state no longer allows, or a lost race) or a 503 with ``Retry-After``: never a 500; at most
one request changes each post, and the stored state is the one that request produced."""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.conftest import PORTS
from tests.integration.api.test_post_lifecycle import create, settled, wait_post
from tests.support.api import ApiClient
from tests.support.sandbox import Sandbox

pytestmark = pytest.mark.usefixtures("clean_stack")

Call = Callable[[], requests.Response]


def run_all(calls: list[Call]) -> list[requests.Response]:
    """Start every call at once (one thread each) and return the answers in order."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def check_answer(response: requests.Response, success: set[int]) -> None:
    """A success, a refusal with the current state, or a lost race the client may retry."""
    assert response.status_code in success | {409, 503}, response.text
    if response.status_code in success:
        return
    assert response.headers["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    if problem["code"] == "CONTENTION" or response.status_code == 503:
        assert int(response.headers["Retry-After"]) >= 1, response.headers
    else:
        assert problem["code"] == "CONFLICT", problem
        assert "current" in problem, problem


def client(user_id: str, role: str = "user") -> ApiClient:
    return ApiClient(PORTS, user_id, role=role)


def test_parallel_cancel_and_publish_on_scheduled_posts(user_id):
    at = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    owner = client(user_id)
    platforms = [{"platform": "x"}, {"platform": "facebook"}]
    post_ids = [
        create(owner, scheduleAt=at, platforms=platforms, content=f"race {n}")["postId"]
        for n in range(6)
    ]
    calls: list[Call] = []
    for post_id in post_ids:
        for n in range(6):
            action = "cancel" if n % 2 else "publish"
            api = client(user_id)  # one session per thread
            calls.append(functools.partial(api.post, f"/posts/{post_id}/{action}"))
    answers = run_all(calls)

    for response in answers:
        check_answer(response, {200, 202})
    for n, post_id in enumerate(post_ids):
        mine = answers[n * 6 : (n + 1) * 6]
        winners = [r for r in mine if r.status_code in (200, 202)]
        assert len(winners) <= 1, [r.status_code for r in mine]
        post = owner.get(f"/posts/{post_id}").json()
        if not winners:
            assert post["status"] == "SCHEDULED"
        elif winners[0].status_code == 200:  # cancel
            assert post["status"] == "CANCELLED"
            assert {t["status"] for t in post["targets"]} == {"CANCELLED"}
        else:
            assert post["status"] in ("PUBLISHING", "PUBLISHED")
            assert wait_post(owner, post_id, settled)["status"] == "PUBLISHED"


def test_parallel_edits_of_one_post(user_id):
    owner = client(user_id)
    post_id = create(owner, draft=True, content="edit me")["postId"]
    contents = [f"edit {n}" for n in range(8)]
    calls: list[Call] = []
    for content in contents:
        api = client(user_id)
        body = {"content": content}
        calls.append(functools.partial(api.request, "PATCH", f"/posts/{post_id}", json=body))
    answers = run_all(calls)

    for response in answers:
        check_answer(response, {200})
    kept = owner.get(f"/posts/{post_id}").json()
    applied = [c for c, r in zip(contents, answers, strict=True) if r.status_code == 200]
    assert applied, [r.status_code for r in answers]
    assert kept["content"] in applied
    assert kept["version"] == 1 + len(applied)


def test_parallel_retries_of_one_failed_target(user_id):
    sandbox = Sandbox.of_stack(PORTS)
    sandbox.fault(platform="x", kind="permanent", times=1)
    owner = client(user_id)
    post_id = create(owner, content="retry race")["postId"]
    assert wait_post(owner, post_id, settled)["status"] == "FAILED"
    calls: list[Call] = []
    for n in range(12):
        if n % 2:
            api = client(user_id)
            calls.append(functools.partial(api.post, f"/posts/{post_id}/targets/x-0/retry"))
        else:
            admin = client(f"{user_id}-ops", role="admin")
            calls.append(functools.partial(admin.post, f"/admin/dead-letters/{post_id}:x-0/retry"))
    answers = run_all(calls)

    for response in answers:
        check_answer(response, {202})
    assert [r.status_code for r in answers].count(202) == 1, [r.status_code for r in answers]
    final = wait_post(owner, post_id, settled)
    assert final["status"] == "PUBLISHED"
    assert final["targets"][0]["attempts"] == 2
    assert final["targets"][0]["max_attempts"] == 5  # one new budget, not twelve
    assert len(sandbox.ledger(platform="x")) == 1
