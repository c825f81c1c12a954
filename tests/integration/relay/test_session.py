"""The cookie session and credential lifetime of streams (issue 18 item 2, issue 14 item 5):
``POST``/``DELETE /events/session``, ``GET /events`` with the cookie, CORS with credentials,
and streams that end at their credential's ``exp`` with a ``retry:`` hint. Real HTTP."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator

import httpx
import jwt
import pytest

from sharecast.auth import (
    SSE_AUDIENCE,
    Principal,
    issue_dev_token,
    issue_sse_token,
    verify_sse_token,
)
from sharecast.clients import Clients
from tests.integration.relay.kit import (
    JWT_SECRET,
    RETRY_MS,
    RelayServer,
    SseClient,
    bearer,
    emit,
    make_settings,
    new_user,
)
from tests.integration.relay.test_relay import assert_401

ORIGIN = "http://127.0.0.1:5173"


@pytest.fixture(scope="module")
def relay(emulators: dict[str, str]) -> Iterator[RelayServer]:
    server = RelayServer(make_settings(cors_allowed_origins=[ORIGIN])).start()
    yield server
    server.stop()


def relay_token(user: str, ttl_s: float) -> str:
    """A relay token that expires ``ttl_s`` seconds from now (shorter than the API issues)."""
    now = time.time()
    claims = {"sub": user, "role": "user", "aud": SSE_AUDIENCE, "iat": int(now), "exp": now + ttl_s}
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


def set_cookie(response: httpx.Response) -> tuple[str, dict[str, str]]:
    """The session cookie's value and its attributes (lower-case names), as sent."""
    (raw,) = response.headers.get_list("set-cookie")
    name_value, *attributes = [part.strip() for part in raw.split(";")]
    name, _, value = name_value.partition("=")
    assert name == "sharecast_sse"
    attrs = {}
    for attribute in attributes:
        key, _, val = attribute.partition("=")
        attrs[key.lower()] = val
    return value, attrs


def test_post_session_sets_an_httponly_partitioned_cookie_with_a_relay_token(
    relay: RelayServer,
) -> None:
    user = new_user()
    response = httpx.post(f"{relay.base_url}/events/session", headers=bearer(relay.token(user)))
    assert response.status_code == 204
    assert response.headers["cache-control"] == "no-store"
    token, attrs = set_cookie(response)
    assert attrs == {
        "max-age": attrs["max-age"],
        "path": "/events",
        "httponly": "",
        "secure": "",
        "samesite": "None",
        "partitioned": "",
    }
    ttl = relay.settings.sse_token_ttl_s
    assert ttl - 5 <= int(attrs["max-age"]) <= ttl
    assert verify_sse_token(token, relay.settings) == Principal(user, "user")


def test_a_relay_token_is_set_as_is_for_the_time_it_has_left(relay: RelayServer) -> None:
    user = new_user()
    token = relay_token(user, 120)
    response = httpx.post(f"{relay.base_url}/events/session", headers=bearer(token))
    assert response.status_code == 204
    value, attrs = set_cookie(response)
    assert value == token
    assert 110 <= int(attrs["max-age"]) <= 120


def test_session_refuses_missing_and_bad_credentials(relay: RelayServer) -> None:
    url = f"{relay.base_url}/events/session"
    for headers in (
        {},
        bearer("nope"),
        bearer(relay_token(new_user(), -3600)),
        {"Authorization": "Basic abc"},
    ):
        response = httpx.post(url, headers=headers)
        assert_401(response)
        assert "set-cookie" not in response.headers


def test_delete_session_clears_the_cookie(relay: RelayServer) -> None:
    response = httpx.delete(f"{relay.base_url}/events/session")
    assert response.status_code == 204
    value, attrs = set_cookie(response)
    assert value == ""
    assert attrs["max-age"] == "0"
    assert attrs["path"] == "/events"


def test_the_cookie_opens_a_stream_and_its_events_arrive(
    relay: RelayServer, clients: Clients, sse: Callable[..., SseClient]
) -> None:
    user = new_user()
    response = httpx.post(f"{relay.base_url}/events/session", headers=bearer(relay.token(user)))
    token, _ = set_cookie(response)
    stream = sse(relay.base_url, headers={"Cookie": f"theme=dark; sharecast_sse={token}"})
    assert stream.status == 200
    assert stream.next() == {"retry": str(RETRY_MS)}
    (event,) = emit(clients, user, 1)
    assert [f["id"] for f in stream.events(1)] == [event.id]


def test_an_explicit_credential_wins_over_the_cookie(relay: RelayServer) -> None:
    good = relay_token(new_user(), 120)
    response = httpx.get(
        f"{relay.base_url}/events",
        headers=bearer("not-a-token") | {"Cookie": f"sharecast_sse={good}"},
    )
    assert_401(response)


def test_cors_with_credentials_for_allowed_origins_only(relay: RelayServer) -> None:
    url = f"{relay.base_url}/events/session"
    preflight = httpx.options(
        url,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert "POST" in preflight.headers["access-control-allow-methods"]

    user = new_user()
    posted = httpx.post(url, headers=bearer(relay.token(user)) | {"Origin": ORIGIN})
    assert posted.headers["access-control-allow-origin"] == ORIGIN
    assert posted.headers["access-control-allow-credentials"] == "true"
    token, _ = set_cookie(posted)

    with httpx.stream(
        "GET",
        f"{relay.base_url}/events",
        headers={"Origin": ORIGIN, "Cookie": f"sharecast_sse={token}"},
    ) as stream:
        assert stream.status_code == 200
        assert stream.headers["access-control-allow-origin"] == ORIGIN
        assert stream.headers["access-control-allow-credentials"] == "true"
        assert "Origin" in stream.headers["vary"]
    refused = httpx.get(f"{relay.base_url}/events", headers={"Origin": ORIGIN})
    assert_401(refused)
    assert refused.headers["access-control-allow-origin"] == ORIGIN
    assert "WWW-Authenticate" in refused.headers["access-control-expose-headers"]

    with httpx.stream(
        "GET",
        f"{relay.base_url}/events",
        headers={"Origin": "https://evil.example", "Cookie": f"sharecast_sse={token}"},
    ) as stranger:
        assert stranger.status_code == 200  # same-origin-less clients may read; browsers may not
        assert "access-control-allow-origin" not in stranger.headers


def test_a_stream_ends_at_its_credential_exp_with_a_retry_hint(
    relay: RelayServer, sse: Callable[..., SseClient], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sharecast.relay")
    user = new_user()
    token = relay_token(user, 2.5)
    started = time.monotonic()
    stream = sse(relay.base_url, headers={"Cookie": f"sharecast_sse={token}"})
    assert stream.next() == {"retry": str(RETRY_MS)}
    assert stream.ended.wait(10)
    elapsed = time.monotonic() - started
    assert 1.5 <= elapsed < 6
    assert stream.error is None  # a complete response, not a cut connection
    frames = [stream.next(1) for _ in range(stream.frames.qsize())]
    assert frames[-1] == {"retry": str(RETRY_MS)}  # the hint right before the end

    def expired() -> bool:
        ended = [getattr(r, "json_fields", {}) for r in caplog.records]
        return any(f.get("user_id") == user and f.get("reason") == "expired" for f in ended)

    deadline = time.monotonic() + 10
    while not expired():  # logged once the stream's task is done, just after its end
        assert time.monotonic() < deadline, "no 'expired' end logged"
        time.sleep(0.05)

    # The same token after its exp opens no stream (the JWT leeway does not extend streams).
    deadline = time.monotonic() + 10
    while time.time() < jwt.decode(token, options={"verify_signature": False})["exp"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert_401(httpx.get(f"{relay.base_url}/events", headers={"Cookie": f"sharecast_sse={token}"}))


@pytest.mark.parametrize("how", ["token", "auth_token"])
def test_query_credentials_also_end_the_stream_at_exp(
    relay: RelayServer, sse: Callable[..., SseClient], how: str
) -> None:
    user = new_user()
    if how == "token":
        params = {"token": relay_token(user, 2.5)}
    else:
        params = {"auth_token": issue_dev_token(relay.settings, user_id=user, ttl_s=3)}
    stream = sse(relay.base_url, params=params)
    assert stream.next() == {"retry": str(RETRY_MS)}
    assert stream.ended.wait(10)
    assert stream.error is None


def test_a_normal_relay_token_stream_lives_on(
    relay: RelayServer, sse: Callable[..., SseClient]
) -> None:
    token, _ = issue_sse_token(Principal(new_user(), "user"), relay.settings)
    stream = sse(relay.base_url, headers={"Cookie": f"sharecast_sse={token}"})
    assert stream.next() == {"retry": str(RETRY_MS)}
    assert not stream.ended.wait(1.0)


def test_problem_body_of_a_refused_cookie(relay: RelayServer) -> None:
    response = httpx.get(f"{relay.base_url}/events", headers={"Cookie": "sharecast_sse=garbage"})
    assert_401(response)
    assert json.loads(response.text)["code"] == "UNAUTHENTICATED"
