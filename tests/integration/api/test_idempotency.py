"""``Idempotency-Key`` on ``POST /posts/multipost`` over real HTTP against the emulators,
including concurrent retries."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from sharecast import idempotency
from sharecast.app import AppContext
from sharecast.clients import Clients
from sharecast.config import Settings
from tests.conftest import PORTS
from tests.support.api import ApiClient

pytestmark = pytest.mark.usefixtures("clean_stack")

BODY = {"content": "only once", "platforms": [{"platform": "x"}], "draft": True}


@pytest.fixture
def api(user_id: str) -> ApiClient:
    return ApiClient(PORTS, user_id)


def posts_of(user_id: str) -> list[str]:
    db = Clients(Settings()).firestore
    return [
        d.id
        for d in db.collection("posts").stream()
        if (d.to_dict() or {}).get("user_id") == user_id
    ]


def send(api: ApiClient, key: str, body: dict = BODY):
    return api.post("/posts/multipost", json=body, headers={"Idempotency-Key": key})


def test_same_key_same_body_replays_the_first_answer(api, user_id):
    key = uuid.uuid4().hex
    first = send(api, key)
    assert first.status_code == 201, first.text
    again = send(api, key, body=dict(reversed(list(BODY.items()))))  # same JSON, other order
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert posts_of(user_id) == [first.json()["postId"]]


def test_same_key_other_body_is_422(api, user_id):
    key = uuid.uuid4().hex
    assert send(api, key).status_code == 201
    other = send(api, key, body={**BODY, "content": "something else"})
    assert other.status_code == 422
    assert other.json()["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert len(posts_of(user_id)) == 1


def test_keys_are_scoped_per_user(api, user_id):
    key = uuid.uuid4().hex
    mine = send(api, key)
    theirs = send(ApiClient(PORTS, user_id + "-b"), key)
    assert theirs.status_code == 201
    assert theirs.json()["postId"] != mine.json()["postId"]


def test_malformed_key_is_400(api):
    assert send(api, "").status_code == 400
    assert send(api, "x" * 300).status_code == 400
    assert send(api, "has space").status_code == 400


def test_in_flight_key_is_409_and_a_dead_claim_is_taken_over(api, user_id):
    settings = Settings()
    ctx = AppContext.build(settings)
    raw = json.dumps(BODY).encode()
    key = uuid.uuid4().hex
    idempotency.begin(
        ctx,
        user_id=user_id,
        scope="POST /posts/multipost",
        key=key,
        path="/posts/multipost",
        body=raw,
        now=datetime.now(UTC),
    )
    busy = send(api, key)
    assert busy.status_code == 409, busy.text
    assert int(busy.headers["Retry-After"]) >= 1
    assert posts_of(user_id) == []
    # A claim whose lease ran out (its request died) is taken over by the retry.
    stale = uuid.uuid4().hex
    idempotency.begin(
        ctx,
        user_id=user_id,
        scope="POST /posts/multipost",
        key=stale,
        path="/posts/multipost",
        body=raw,
        now=datetime.now(UTC) - timedelta(seconds=settings.idempotency_lease_s + 5),
    )
    assert send(api, stale).status_code == 201


def test_concurrent_retries_create_one_post(api, user_id):
    key = uuid.uuid4().hex
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: send(api, key), range(8)))
    codes = sorted(r.status_code for r in answers)
    assert set(codes) <= {201, 409}, [r.text for r in answers]
    created = {r.json()["postId"] for r in answers if r.status_code == 201}
    assert len(created) == 1
    assert posts_of(user_id) == list(created)
    late = send(api, key)
    assert late.status_code == 201
    assert late.json()["postId"] in created


def test_failed_request_releases_the_key(api, user_id):
    key = uuid.uuid4().hex
    bad = send(api, key, body={**BODY, "platforms": [{"platform": "myspace"}]})
    assert bad.status_code == 422
    good = send(api, key, body={**BODY, "platforms": [{"platform": "myspace"}]})
    assert good.status_code == 422  # ran again (not replayed): the key was released
    assert "Idempotent-Replayed" not in good.headers
