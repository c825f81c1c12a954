"""Per-user rate limits (``sharecast.ratelimit``) against the real Firestore emulator, through an
api app served over real HTTP with small limits."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import requests
from pydantic import SecretStr
from werkzeug.serving import make_server

from sharecast import ratelimit
from sharecast.api import create_app
from sharecast.app import AppContext
from sharecast.auth import issue_dev_token
from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.errors import RateLimited

pytestmark = pytest.mark.usefixtures("clean_stack")

LIMIT = 5


def settings() -> Settings:
    base = Settings()
    return base.model_copy(
        update={
            "rate_limits": [
                f"read={LIMIT}/3600",
                "write=100/3600",
                "session=3/3600",
                "analytics=5/3600",
            ],
            "jwt_secret": base.jwt_secret or SecretStr("x" * 40),
        }
    )


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Settings]]:
    s = settings()
    app = create_app(AppContext(settings=s, clients=Clients(s)))
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}", s
    httpd.shutdown()


@pytest.fixture(autouse=True)
def not_at_a_window_edge() -> None:
    """Windows are fixed hours: do not start a burst in the last seconds of one."""
    left = 3600 - time.time() % 3600
    if left < 20:
        time.sleep(left + 0.5)


def get(base: str, s: Settings, user: str, path: str = "/posts/nothing-here") -> requests.Response:
    token = issue_dev_token(s, user_id=user)
    return requests.get(base + path, headers={"Authorization": f"Bearer {token}"}, timeout=20)


def test_burst_gets_429_with_headers(server, user_id):
    base, s = server
    answers = [get(base, s, user_id) for _ in range(LIMIT + 2)]
    assert [r.status_code for r in answers] == [404] * LIMIT + [429, 429]
    first, refused = answers[0], answers[LIMIT]
    assert first.headers["RateLimit-Limit"] == str(LIMIT)
    assert first.headers["RateLimit-Remaining"] == str(LIMIT - 1)
    assert 0 < int(first.headers["RateLimit-Reset"]) <= 3600
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert refused.json()["code"] == "RATE_LIMITED"
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert refused.headers["RateLimit-Remaining"] == "0"
    # Other users and other route classes have their own windows.
    assert get(base, s, user_id + "-other").status_code == 404
    assert get(base, s, user_id, "/analytics/summary").status_code == 200


def test_concurrent_requests_never_exceed_the_limit(server, user_id):
    base, s = server
    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(lambda _: get(base, s, user_id).status_code, range(24)))
    # Exactly the limit: the increments never lose each other and each reads its own result.
    assert codes.count(404) == LIMIT, codes
    assert codes.count(404) + codes.count(429) == 24, codes


def test_one_counter_per_user_window_one_round_trip_per_request(user_id):
    """Each request increments the user's window counter and reads the count from the same
    commit: one Firestore round trip, and the stored count is exact."""
    ctx = AppContext.build(settings())
    db = ctx.db
    now = datetime.now(UTC)
    states = [
        ratelimit.check(ctx, user_id=user_id, route_class="session", now=now) for _ in range(3)
    ]
    assert [w.remaining for w in states] == [2, 1, 0]
    with pytest.raises(RateLimited) as refused:
        ratelimit.check(ctx, user_id=user_id, route_class="session", now=now)
    assert refused.value.headers["Retry-After"] == str(states[0].reset_s)
    window = ratelimit.window_doc_id(user_id, "session", int(now.timestamp()) // 3600)
    counter = db.collection(ratelimit.COLLECTION).document(window).get().to_dict() or {}
    assert counter[ratelimit.COUNT] == 4
    assert counter["expire_at"] > now


def _hits(ctx: AppContext, user_id: str, route_class: str, window: int) -> int:
    """Increments of the caller's window counter: one per request that wrote."""
    doc = ratelimit.window_doc_id(user_id, route_class, window)
    counter = ctx.db.collection(ratelimit.COLLECTION).document(doc).get().to_dict() or {}
    return int(counter.get(ratelimit.COUNT, 0))


def test_a_blocked_caller_costs_no_more_writes(user_id):
    """Issue 14 item 8: once refused, a caller's further requests in the window are refused by
    the instance from memory: no hit document, no count; the next window counts again."""
    ctx = AppContext.build(settings())
    limiter = ratelimit.Limiter()
    now = datetime.now(UTC)
    for _ in range(3):
        limiter.check(ctx, user_id=user_id, route_class="session", now=now)
    refusals = []
    for _ in range(11):
        with pytest.raises(RateLimited) as refused:
            limiter.check(ctx, user_id=user_id, route_class="session", now=now)
        refusals.append(refused.value)
    window = int(now.timestamp()) // 3600
    assert _hits(ctx, user_id, "session", window) == 4  # 3 counted + the one that found out
    assert {r.headers["Retry-After"] for r in refusals} == {refusals[0].headers["Retry-After"]}
    assert all(r.headers["RateLimit-Remaining"] == "0" for r in refusals)
    assert limiter.counters() == ratelimit.Counters(checks=14, hit_writes=4, refused_from_memory=10)
    # Other classes and the next window are not blocked.
    assert limiter.check(ctx, user_id=user_id, route_class="read", now=now).writes == 1
    later = datetime.fromtimestamp((window + 1) * 3600 + 1, UTC)
    assert limiter.check(ctx, user_id=user_id, route_class="session", now=later).remaining == 2


def test_refused_requests_over_http_write_nothing(server, user_id):
    base, s = server
    codes = [get(base, s, user_id).status_code for _ in range(LIMIT + 20)]
    assert codes == [404] * LIMIT + [429] * 20
    ctx = AppContext.build(s)
    window = int(time.time()) // 3600
    assert _hits(ctx, user_id, "read", window) == LIMIT + 1
