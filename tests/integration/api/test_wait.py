"""``?wait=N`` holds no thread (issue 14 item 5): with the publish queue paused, twelve waits
(more than the api's ``API_THREADS``) are pending while another user's requests are answered;
a user's waits beyond ``WAIT_MAX_PER_USER`` answer at once; resuming the queue lets the waits
answer with the settled posts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
import requests

from sharecast.clients import Clients
from sharecast.config import Settings
from tests.conftest import PORTS
from tests.support.api import ApiClient

pytestmark = pytest.mark.usefixtures("clean_stack")


@pytest.fixture
def paused_queue() -> Iterator[None]:
    """The publish queue paused (posts stay PUBLISHING), resumed whatever happens."""
    settings = Settings()
    tasks = Clients(settings).tasks
    tasks.pause_queue(name=settings.queue_path)
    try:
        yield
    finally:
        tasks.resume_queue(name=settings.queue_path)


def create_waiting(api: ApiClient, wait: int = 25) -> requests.Response:
    return api.post(
        f"/posts/multipost?wait={wait}",
        json={"content": f"waiting {time.time_ns()}", "platforms": [{"platform": "x"}]},
        timeout=90,
    )


def posts_of(api: ApiClient) -> list[dict]:
    response = api.get("/posts", timeout=30)
    assert response.status_code == 200, response.text
    items: list[dict] = response.json()["items"]
    return items


def until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


def test_waits_hold_no_thread(user_id, paused_queue):
    users = [ApiClient(PORTS, f"{user_id}-{n}") for n in range(6)]
    other = ApiClient(PORTS, f"{user_id}-other")
    with ThreadPoolExecutor(max_workers=12) as pool:
        waits: list[Future[requests.Response]] = [
            pool.submit(create_waiting, ApiClient(PORTS, u.user_id)) for u in users for _ in (0, 1)
        ]
        until(lambda: all(len(posts_of(u)) == 2 for u in users))
        # Twelve waits are pending, more than the instance has threads; others are served.
        assert other.get("/healthz", timeout=20).status_code == 200
        assert posts_of(other) == []
        assert not any(w.done() for w in waits), [w.result().json() for w in waits if w.done()]
        Clients(Settings()).tasks.resume_queue(name=Settings().queue_path)
        answers = [w.result() for w in waits]
    for answer in answers:
        assert answer.status_code == 202, answer.text
        assert answer.json()["status"] in ("PUBLISHED", "PUBLISHING")
    assert any(a.json()["status"] == "PUBLISHED" for a in answers)


def test_waits_beyond_the_per_user_cap_answer_at_once(user_id, paused_queue):
    cap = Settings().wait_max_per_user
    with ThreadPoolExecutor(max_workers=cap) as pool:
        waits = [pool.submit(create_waiting, ApiClient(PORTS, user_id)) for _ in range(cap)]
        api = ApiClient(PORTS, user_id)
        until(lambda: len(posts_of(api)) == cap)
        beyond = create_waiting(api)
        assert beyond.status_code == 202, beyond.text
        assert beyond.json()["status"] == "PUBLISHING"
        assert not any(w.done() for w in waits)
        Clients(Settings()).tasks.resume_queue(name=Settings().queue_path)
        assert all(w.result().status_code == 202 for w in waits)
