"""The platform sandbox over raw HTTP: wire shapes, control API, fault semantics, CLI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from infra.sandbox.__main__ import main
from infra.sandbox.server import SandboxServer

ROOT = Path(__file__).resolve().parents[3]
X_AUTH = {"Authorization": "Bearer sandbox:777"}
RATE_HEADERS = ("x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset")


@pytest.fixture(scope="module")
def server():
    with SandboxServer() as running:
        yield running


@pytest.fixture
def base(server):
    requests.post(f"{server.base_url}/_sandbox/reset", json={}, timeout=5).raise_for_status()
    return server.base_url


def tweet(base, text, headers=X_AUTH, **extra):
    return requests.post(
        f"{base}/2/tweets", json={"text": text, **extra}, headers=headers, timeout=5
    )


def fb_post(base, page="123", **data):
    return requests.post(
        f"{base}/v24.0/{page}/feed", data={"access_token": "tok", **data}, timeout=5
    )


def add_fault(base, **rule):
    response = requests.post(f"{base}/_sandbox/faults", json=rule, timeout=5)
    assert response.status_code == 201, response.text
    return response.json()["rule"]


def ledger(base, **params):
    return requests.get(f"{base}/_sandbox/ledger", params=params, timeout=5).json()["posts"]


# --- control API -----------------------------------------------------------------------------


def test_healthz_and_unknown_routes_are_json(base):
    assert requests.get(f"{base}/_sandbox/healthz", timeout=5).json() == {"status": "ok"}
    for method, path, status in [
        ("GET", "/nowhere", 404),
        ("GET", "/2/nowhere", 404),
        ("GET", "/2/tweets", 405),
        ("GET", "/_sandbox/nowhere", 404),
        ("PUT", "/v24.0/1/feed", 405),
    ]:
        response = requests.request(method, f"{base}{path}", timeout=5)
        assert response.status_code == status
        assert response.headers["content-type"].startswith("application/")
        assert response.json()


def test_fault_rule_validation(base):
    for bad in [
        {"kind": "explode"},
        {"kind": "latency", "colour": "red"},
        {"kind": "server_error", "probability": 2},
        {"kind": "server_error", "times": 0},
        {"platform": "myspace", "kind": "server_error"},
        {"platform": "facebook", "kind": "usage_capped"},
        {"platform": "x", "kind": "policy_blocked"},
    ]:
        response = requests.post(f"{base}/_sandbox/faults", json=bad, timeout=5)
        assert response.status_code == 400, bad
        assert "error" in response.json()
    assert requests.post(f"{base}/_sandbox/faults", data="{nope", timeout=5).status_code == 400


def test_fault_rules_list_add_delete(base):
    rule = add_fault(base, platform="x", kind="server_error", times=3)
    assert rule["id"]
    assert rule["remaining"] == 3
    assert rule["fired"] == 0
    assert rule["probability"] == 1.0
    assert rule["operation"] == "publish"
    many = requests.post(
        f"{base}/_sandbox/faults",
        timeout=5,
        json=[{"kind": "latency", "latency_ms": 1}, {"kind": "permanent", "text_contains": "zzz"}],
    )
    assert many.status_code == 201
    assert len(many.json()["rules"]) == 2
    listed = requests.get(f"{base}/_sandbox/faults", timeout=5).json()
    assert next(r["id"] for r in listed["rules"]) == rule["id"]
    assert len(listed["rules"]) == 3
    assert requests.delete(f"{base}/_sandbox/faults/{rule['id']}", timeout=5).json() == {
        "deleted": 1
    }
    assert requests.delete(f"{base}/_sandbox/faults/{rule['id']}", timeout=5).status_code == 404
    assert requests.delete(f"{base}/_sandbox/faults", timeout=5).json() == {"deleted": 2}
    assert requests.get(f"{base}/_sandbox/faults", timeout=5).json()["rules"] == []


def test_reset_and_settings(base):
    assert tweet(base, "one").status_code == 201
    add_fault(base, kind="server_error", text_contains="never")
    reset = requests.post(
        f"{base}/_sandbox/reset", json={"seed": 42, "duplicate_detection": False}, timeout=5
    ).json()
    assert reset["seed"] == 42
    assert reset["settings"]["duplicate_detection"] is False
    assert ledger(base) == []
    assert requests.get(f"{base}/_sandbox/faults", timeout=5).json() == {"rules": [], "seed": 42}
    assert tweet(base, "same").status_code == 201
    assert tweet(base, "same").status_code == 201
    settings = requests.patch(
        f"{base}/_sandbox/settings", json={"duplicate_detection": True}, timeout=5
    )
    assert {k: settings.json()[k] for k in ("duplicate_detection", "duplicate_window_s")} == {
        "duplicate_detection": True,
        "duplicate_window_s": 86400,
    }
    assert tweet(base, "same").status_code == 403
    bad = requests.patch(f"{base}/_sandbox/settings", json={"duplicate_window_s": -1}, timeout=5)
    assert bad.status_code == 400
    bad = requests.post(f"{base}/_sandbox/reset", json={"bogus": 1}, timeout=5)
    assert bad.status_code == 400


def test_duplicate_window_setting(base):
    requests.patch(f"{base}/_sandbox/settings", json={"duplicate_window_s": 0}, timeout=5)
    assert tweet(base, "again").status_code == 201
    time.sleep(0.01)
    assert tweet(base, "again").status_code == 201


def test_ledger_filters(base):
    tweet(base, "x post")
    tweet(base, "other user", headers={"Authorization": "Bearer sandbox:888"})
    fb_post(base, message="fb post")
    assert len(ledger(base)) == 3
    assert [p["text"] for p in ledger(base, platform="x")] == ["x post", "other user"]
    [only] = ledger(base, platform="x", account_id="888")
    assert set(only) == {
        "platform",
        "account_id",
        "id",
        "text",
        "link",
        "created_at",
        "token_fingerprint",
        "fault",
        "media",
    }
    assert only["media"] == []
    assert only["created_at"].endswith("Z")
    assert ledger(base, platform="facebook", account_id="123")[0]["text"] == "fb post"


# --- X wire shapes ---------------------------------------------------------------------------


def test_x_create_shape_and_headers(base):
    response = tweet(base, "Test Tweet")
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["text"] == "Test Tweet"
    assert len(data["id"]) == 19
    assert data["edit_history_tweet_ids"] == [data["id"]]
    assert response.headers["location"].endswith(f"/2/tweets/{data['id']}")
    assert all(h in response.headers for h in RATE_HEADERS)
    assert response.headers["x-rate-limit-limit"] == "100"
    again = tweet(base, "Another")
    assert int(again.headers["x-rate-limit-remaining"]) == 98
    assert int(again.headers["x-rate-limit-reset"]) > time.time()


def test_x_auth_is_required(base):
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}):
        response = tweet(base, "hi", headers=headers)
        assert response.status_code == 401
        assert response.json() == {
            "title": "Unauthorized",
            "detail": "Unauthorized",
            "type": "about:blank",
            "status": 401,
        }
        assert all(h in response.headers for h in RATE_HEADERS)


def test_x_rejects_invalid_bodies(base):
    unknown = tweet(base, "hi", colour="red")
    assert unknown.status_code == 400
    body = unknown.json()
    assert body["type"].endswith("/2/problems/invalid-request")
    assert "$.colour" in body["errors"][0]["message"]
    assert tweet(base, "").status_code == 400
    assert tweet(base, 42).status_code == 400
    assert tweet(base, "é" * 281).status_code == 400
    raw = requests.post(f"{base}/2/tweets", data="{", headers=X_AUTH, timeout=5)
    assert raw.status_code == 400
    assert (
        requests.post(f"{base}/2/tweets", json=["hi"], headers=X_AUTH, timeout=5).status_code == 400
    )
    assert ledger(base) == []


def test_x_user_lookup(base):
    me = requests.get(f"{base}/2/users/me", headers=X_AUTH, timeout=5)
    assert me.json()["data"]["id"] == "777"
    assert {"id", "name", "username"} == set(me.json()["data"])
    other = requests.get(
        f"{base}/2/users/me", headers={"Authorization": "Bearer opaque-tok"}, timeout=5
    ).json()["data"]["id"]
    assert other.isdigit()
    assert len(other) == 19
    assert tweet(base, "mine", headers={"Authorization": "Bearer opaque-tok"}).status_code == 201
    assert ledger(base)[0]["account_id"] == other


def test_x_timeline(base):
    ids = [tweet(base, f"post {i}").json()["data"]["id"] for i in range(7)]
    url = f"{base}/2/users/777/tweets"
    page = requests.get(
        url,
        headers=X_AUTH,
        timeout=5,
        params={  # type: ignore[arg-type]
            "max_results": 5,
            "start_time": "2020-01-01T00:00:00Z",
            "tweet.fields": "created_at",
        },
    )
    body = page.json()
    assert [t["id"] for t in body["data"]] == ids[::-1][:5]  # newest first
    assert set(body["data"][0]) == {"id", "text", "created_at", "edit_history_tweet_ids"}
    assert body["meta"]["result_count"] == 5
    assert body["meta"]["newest_id"] == ids[-1]
    assert all(h in page.headers for h in RATE_HEADERS)
    rest = requests.get(
        url,
        headers=X_AUTH,
        timeout=5,
        params={"max_results": 5, "pagination_token": body["meta"]["next_token"]},
    ).json()
    assert [t["id"] for t in rest["data"]] == ids[1::-1]
    assert "next_token" not in rest["meta"]
    assert "created_at" not in rest["data"][0]
    empty = requests.get(
        url, headers=X_AUTH, timeout=5, params={"start_time": "2999-01-01T00:00:00Z"}
    ).json()
    assert empty == {"meta": {"result_count": 0}}
    since = requests.get(url, headers=X_AUTH, timeout=5, params={"since_id": ids[4]}).json()
    assert [t["id"] for t in since["data"]] == ids[:4:-1]


@pytest.mark.parametrize(
    "params",
    [
        {"max_results": 3},
        {"max_results": 101},
        {"max_results": "ten"},
        {"start_time": "yesterday"},
        {"start_time": "2026-01-01T00:00:00"},
        {"colour": "red"},
        {"pagination_token": "garbage!"},
    ],
)
def test_x_timeline_validates_params(base, params):
    response = requests.get(f"{base}/2/users/777/tweets", headers=X_AUTH, params=params, timeout=5)
    assert response.status_code == 400
    assert response.json()["title"] == "Invalid Request"


# --- Facebook wire shapes --------------------------------------------------------------------


def test_facebook_accepts_every_token_and_body_style(base):
    assert fb_post(base, message="form").status_code == 200
    as_json = requests.post(
        f"{base}/v24.0/123/feed", timeout=5, json={"message": "json", "access_token": "tok"}
    )
    in_query = requests.post(
        f"{base}/v24.0/123/feed?access_token=tok", timeout=5, data={"message": "query"}
    )
    bearer = requests.post(
        f"{base}/v24.0/123/feed",
        data={"message": "bearer"},
        timeout=5,
        headers={"Authorization": "Bearer tok"},
    )
    oauth = requests.post(
        f"{base}/123/feed",
        data={"message": "oauth"},
        timeout=5,
        headers={"Authorization": "OAuth tok"},
    )
    for response in (as_json, in_query, bearer, oauth):
        assert response.status_code == 200, response.text
        page, _, post = response.json()["id"].partition("_")
        assert page == "123"
        assert post.isdigit()
    assert [p["text"] for p in ledger(base)] == ["form", "json", "query", "bearer", "oauth"]
    assert bearer.headers["facebook-api-version"] == "v24.0"
    assert '"type":"pages"' in bearer.headers["x-business-use-case-usage"]


def test_facebook_request_errors(base):
    no_token = requests.post(f"{base}/v24.0/123/feed", data={"message": "x"}, timeout=5)
    assert no_token.status_code == 400
    assert no_token.json()["error"]["code"] == 104
    assert no_token.json()["error"]["type"] == "OAuthException"
    empty = fb_post(base)
    assert (empty.status_code, empty.json()["error"]["code"]) == (400, 100)
    link_only = fb_post(base, link="https://example.com/")
    assert link_only.status_code == 200
    assert ledger(base)[0]["link"] == "https://example.com/"
    assert ledger(base)[0]["text"] == ""
    bad_version = requests.post(
        f"{base}/latest/123/feed", timeout=5, data={"message": "x", "access_token": "t"}
    )
    assert bad_version.status_code == 400
    multipart = requests.post(
        f"{base}/v24.0/123/feed",
        files={"source": b"bytes"},
        timeout=5,
        data={"access_token": "tok"},
    )
    assert multipart.status_code == 400


def test_facebook_duplicate_shape(base):
    assert fb_post(base, message="same").status_code == 200
    dup = fb_post(base, message="same")
    assert dup.status_code == 400
    error = dup.json()["error"]
    assert (error["code"], error["message"], error["is_transient"]) == (
        506,
        "Duplicate status message",
        False,
    )
    assert error["type"] == "OAuthException"
    assert error["fbtrace_id"]


def test_facebook_feed(base):
    ids = [fb_post(base, message=f"m{i}").json()["id"] for i in range(5)]
    fb_post(base, page="456", message="elsewhere")
    url = f"{base}/v24.0/123/feed"
    auth = {"Authorization": "Bearer tok"}
    first = requests.get(
        url,
        headers=auth,
        timeout=5,
        params={"fields": "id,message,created_time", "since": "0", "limit": "3"},
    ).json()
    assert [p["id"] for p in first["data"]] == ids[::-1][:3]
    assert set(first["data"][0]) == {"id", "message", "created_time"}
    assert first["data"][0]["created_time"].endswith("+0000")
    next_url = first["paging"]["next"]
    assert "access_token" not in next_url
    second = requests.get(next_url, headers=auth, timeout=5).json()
    assert [p["id"] for p in second["data"]] == ids[1::-1]
    assert "next" not in second["paging"]
    with_query_token = requests.get(
        url, timeout=5, params={"access_token": "tok", "fields": "id", "limit": "1"}
    ).json()
    assert "access_token" not in parse_qs(urlsplit(with_query_token["paging"]["next"]).query)
    future = requests.get(
        url, headers=auth, timeout=5, params={"since": int(time.time()) + 60}
    ).json()
    assert future == {"data": []}
    iso = requests.get(url, headers=auth, timeout=5, params={"since": "2020-01-01T00:00:00"})
    assert len(iso.json()["data"]) == 5
    bad_field = requests.get(url, headers=auth, timeout=5, params={"fields": "id,likes"})
    assert (bad_field.status_code, bad_field.json()["error"]["code"]) == (400, 100)
    no_token = requests.get(url, timeout=5)
    assert no_token.json()["error"]["code"] == 104


# --- fault wire shapes -----------------------------------------------------------------------


def test_x_fault_shapes(base):
    add_fault(base, platform="x", kind="rate_limit", retry_after_s=300, times=1)
    limited = tweet(base, "a")
    assert limited.status_code == 429
    assert limited.text == "Rate limit exceeded\n"  # X's recorded 429 (tests/conformance)
    assert limited.headers["x-rate-limit-remaining"] == "0"
    assert abs(int(limited.headers["x-rate-limit-reset"]) - (time.time() + 300)) <= 2
    add_fault(base, platform="x", kind="server_error", times=1)
    unavailable = tweet(base, "a")
    assert unavailable.status_code == 503
    assert unavailable.json()["status"] == 503
    add_fault(base, platform="x", kind="duplicate", times=1)
    assert tweet(base, "a").json()["detail"] == (
        "You are not allowed to create a Tweet with duplicate content."
    )
    add_fault(base, platform="x", kind="usage_capped", times=1)
    capped = tweet(base, "a")
    assert capped.status_code == 429
    assert capped.json()["type"].endswith("/usage-capped")
    assert ledger(base) == []


def test_facebook_fault_shapes(base):
    add_fault(base, platform="facebook", kind="rate_limit", retry_after_s=61, times=1)
    limited = fb_post(base, message="a")
    assert limited.status_code == 400
    assert limited.json()["error"]["code"] == 80001
    header = limited.headers["x-business-use-case-usage"]
    assert '"estimated_time_to_regain_access":2' in header  # 61 s → 2 minutes (rounded up)
    add_fault(base, platform="facebook", kind="server_error", times=1)
    server = fb_post(base, message="a")
    assert server.status_code == 500
    assert (server.json()["error"]["code"], server.json()["error"]["is_transient"]) == (2, True)
    add_fault(base, platform="facebook", kind="token_expired", times=1)
    expired = fb_post(base, message="a")
    assert expired.json()["error"]["code"] == 190
    assert expired.headers["www-authenticate"].startswith('OAuth "Facebook Platform"')
    add_fault(base, platform="facebook", kind="permanent", times=1)
    assert fb_post(base, message="a").json()["error"]["code"] == 100
    add_fault(base, platform="facebook", kind="policy_blocked", times=1)
    assert fb_post(base, message="a").json()["error"]["code"] == 368
    assert ledger(base) == []


def test_accept_then_drop_is_a_connection_error_not_500(base):
    add_fault(base, kind="accept_then_drop", times=2)
    with pytest.raises(requests.ConnectionError):
        tweet(base, "lost")
    with pytest.raises(requests.ConnectionError):
        fb_post(base, message="lost too")
    assert [(p["text"], p["fault"]) for p in ledger(base)] == [
        ("lost", "accept_then_drop"),
        ("lost too", "accept_then_drop"),
    ]
    assert tweet(base, "fine").status_code == 201  # the server is still healthy


def test_accept_then_hang_records_then_answers_late(base):
    add_fault(base, platform="x", kind="accept_then_hang", latency_ms=400, times=1)
    started = time.monotonic()
    response = tweet(base, "slow")
    assert time.monotonic() - started >= 0.4
    assert response.status_code == 201
    assert ledger(base)[0]["fault"] == "accept_then_hang"


def test_latency_applies_before_normal_handling(base):
    add_fault(base, platform="facebook", kind="latency", latency_ms=150)
    add_fault(base, platform="facebook", kind="latency", latency_ms=150)
    started = time.monotonic()
    assert fb_post(base, message="slow").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_probability_and_times(base):
    requests.post(f"{base}/_sandbox/reset", json={"seed": 7}, timeout=5)
    rule = add_fault(base, platform="x", kind="server_error", probability=0.3, times=4)
    statuses = [tweet(base, f"p{i}").status_code for i in range(40)]
    assert statuses.count(503) == 4  # consumed after 4 firings
    first_pattern = statuses
    state = requests.get(f"{base}/_sandbox/faults", timeout=5).json()["rules"][0]
    assert (state["id"], state["fired"], state["remaining"]) == (rule["id"], 4, 0)
    requests.post(f"{base}/_sandbox/reset", json={"seed": 7}, timeout=5)
    add_fault(base, platform="x", kind="server_error", probability=0.3, times=4)
    assert [tweet(base, f"p{i}").status_code for i in range(40)] == first_pattern
    requests.post(f"{base}/_sandbox/reset", json={"seed": 7}, timeout=5)
    add_fault(base, platform="x", kind="server_error", probability=0.0)
    assert all(tweet(base, f"q{i}").status_code == 201 for i in range(10))


def test_in_band_trigger_counts_per_account_and_text(base):
    text = "demo #sandbox-fail-transient-3"
    assert [tweet(base, text).status_code for _ in range(4)] == [503, 503, 503, 201]
    other = {"Authorization": "Bearer sandbox:888"}
    assert tweet(base, text, headers=other).status_code == 503
    fb = [fb_post(base, message=text).status_code for _ in range(4)]
    assert fb == [500, 500, 500, 200]
    requests.post(f"{base}/_sandbox/reset", json={}, timeout=5)
    assert tweet(base, text).status_code == 503


# --- CLI -------------------------------------------------------------------------------------


def test_cli_refuses_non_loopback_hosts():
    with pytest.raises(SystemExit) as info:
        main(["--host", "0.0.0.0", "--port", "1"])
    assert info.value.code == 2


def test_cli_serves(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'functions'}"}
    log_path = tmp_path / "sandbox.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "infra.sandbox", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 15
            while True:
                try:
                    health = requests.get(f"http://127.0.0.1:{port}/_sandbox/healthz", timeout=1)
                    break
                except requests.ConnectionError:
                    assert proc.poll() is None
                    assert time.monotonic() < deadline
                    time.sleep(0.1)
            assert health.json() == {"status": "ok"}
        finally:
            proc.terminate()
            proc.wait(10)
    first = log_path.read_text().splitlines()[0]
    assert first.startswith("{")
    assert '"severity": "INFO"' in first
