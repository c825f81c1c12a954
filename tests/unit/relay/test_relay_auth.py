"""Relay credentials (``sharecast.relay.auth``): which kind each token is, its ``exp``, the
session cookie. Tokens are real HS256 JWTs signed with the settings' key."""

from __future__ import annotations

import time

import jwt
import pytest

from sharecast.auth import Principal, issue_dev_token, issue_sse_token
from sharecast.config import Settings
from sharecast.errors import Unauthenticated
from sharecast.relay.auth import authenticate, bearer_token, session_token, verify_bearer
from sharecast.relay.session import close_session, session_cookie

SETTINGS = Settings(jwt_secret="unit-secret-0123456789abcdef-0123456789")


def auth(**kw: object) -> Principal:
    args: dict = {"authorization": None, "query": {}, "cookie": None, "settings": SETTINGS}
    args.update(kw)
    return authenticate(**args).principal


def test_bearer_takes_user_jwts_and_relay_tokens_with_their_exp() -> None:
    user = issue_dev_token(SETTINGS, user_id="alice", ttl_s=600)
    relay, expires = issue_sse_token(Principal("alice", "user"), SETTINGS)
    by_user = verify_bearer(user, SETTINGS)
    by_relay = verify_bearer(relay, SETTINGS)
    assert (by_user.sse, by_relay.sse) == (False, True)
    assert by_user.principal == by_relay.principal == Principal("alice", "user")
    assert abs(by_user.expires_at - (time.time() + 600)) < 5
    assert by_relay.expires_at == int(expires.timestamp())


def test_order_header_then_query_then_cookie() -> None:
    a = issue_dev_token(SETTINGS, user_id="a")
    b, _ = issue_sse_token(Principal("b", "user"), SETTINGS)
    c, _ = issue_sse_token(Principal("c", "user"), SETTINGS)
    assert (
        auth(authorization=f"Bearer {a}", query={"token": b}, cookie=f"sharecast_sse={c}").user_id
        == "a"
    )
    assert auth(query={"token": b}, cookie=f"sharecast_sse={c}").user_id == "b"
    assert auth(cookie=f"x=1; sharecast_sse={c}; y=2").user_id == "c"


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"authorization": "Basic abc"},
        {"authorization": "Bearer "},
        {"authorization": "Bearer not.a.jwt"},
        {"cookie": "sharecast_sse="},
        {"cookie": "other=1"},
    ],
)
def test_missing_or_malformed_credentials_are_401(kw: dict) -> None:
    with pytest.raises(Unauthenticated):
        auth(**kw)


def test_each_kind_is_verified_only_as_itself() -> None:
    user = issue_dev_token(SETTINGS, user_id="alice")
    relay, _ = issue_sse_token(Principal("alice", "user"), SETTINGS)
    with pytest.raises(Unauthenticated):
        auth(query={"token": user})
    with pytest.raises(Unauthenticated):
        auth(query={"auth_token": relay})
    with pytest.raises(Unauthenticated):
        auth(cookie=f"sharecast_sse={user}")
    forged = jwt.encode(
        {"sub": "alice", "aud": "sharecast-relay", "exp": time.time() + 60}, "k" * 40
    )
    with pytest.raises(Unauthenticated):
        verify_bearer(forged, SETTINGS)


def test_cookie_helpers() -> None:
    assert bearer_token("bearer  abc ") == "abc"
    assert session_token(None) is None
    assert session_token('sharecast_sse="quoted"; a=b') == "quoted"
    assert session_token("sharecast_sse=t.o.k") == "t.o.k"
    assert session_cookie("t.o.k", 42) == (
        "sharecast_sse=t.o.k; Max-Age=42; Path=/events; HttpOnly; Secure; SameSite=None; "
        "Partitioned"
    )
    assert session_cookie("x", -5).startswith("sharecast_sse=x; Max-Age=0;")
    cleared = close_session()
    assert cleared.status_code == 204
    assert cleared.headers["set-cookie"].startswith("sharecast_sse=; Max-Age=0;")
