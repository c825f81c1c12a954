"""The sandbox's OAuth stand-ins over raw HTTP (in-process server, no stack): consent, code
rules, PKCE, Meta's long-lived exchange and Page discovery, and expired tokens refused by the
publishing routes."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from infra.sandbox.server import SandboxServer

REDIRECT = "https://app.example/connections/x/callback"


@pytest.fixture(scope="module")
def server():
    with SandboxServer() as running:
        yield running


@pytest.fixture
def base(server):
    requests.post(f"{server.base_url}/_sandbox/reset", json={}, timeout=5).raise_for_status()
    return server.base_url


def consent(base: str, path: str, **params: str) -> requests.Response:
    query = {"client_id": "cid", "redirect_uri": REDIRECT, "response_type": "code", **params}
    return requests.get(f"{base}{path}", params=query, allow_redirects=False, timeout=5)


def code_of(response: requests.Response) -> str:
    assert response.status_code == 302, response.text
    return parse_qs(urlsplit(response.headers["location"]).query)["code"][0]


def challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def x_token(base: str, **form: str) -> requests.Response:
    return requests.post(f"{base}/2/oauth2/token", data=form, auth=("cid", "secret"), timeout=5)


def test_x_requires_pkce_s256_and_checks_the_verifier(base):
    assert consent(base, "/i/oauth2/authorize", state="s").status_code == 400
    plain = consent(
        base, "/i/oauth2/authorize", code_challenge="abc", code_challenge_method="plain"
    )
    assert plain.status_code == 400
    verifier = "v" * 50
    scope = "tweet.read tweet.write users.read offline.access"
    args = {"code_challenge": challenge(verifier), "code_challenge_method": "S256", "scope": scope}
    code = code_of(consent(base, "/i/oauth2/authorize", state="s1", **args))
    grant = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    wrong = x_token(base, **grant, code_verifier="w" * 50)
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    # A refused verifier does not burn the code; the right one works once.
    ok = x_token(base, **grant, code_verifier=verifier)
    assert ok.status_code == 200
    body = ok.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 7200
    assert body["refresh_token"]
    assert x_token(base, **grant, code_verifier=verifier).status_code == 400  # single-use
    no_basic = requests.post(f"{base}/2/oauth2/token", data=grant, timeout=5)
    assert no_basic.status_code == 401


def test_redirect_uri_must_match_and_denial_redirects_with_error(base):
    args = {"code_challenge": challenge("v" * 50), "code_challenge_method": "S256"}
    code = code_of(consent(base, "/i/oauth2/authorize", **args))
    mismatch = x_token(
        base,
        grant_type="authorization_code",
        code=code,
        redirect_uri="https://evil.example/cb",
        code_verifier="v" * 50,
    )
    assert mismatch.status_code == 400
    denied = consent(base, "/o/oauth2/v2/auth", state="st", sandbox_deny="1")
    query = parse_qs(urlsplit(denied.headers["location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["st"]


def test_meta_long_lived_exchange_pages_and_instagram_account(base):
    code = code_of(consent(base, "/v24.0/dialog/oauth", sandbox_user="ann"))
    graph = f"{base}/v24.0/oauth/access_token"
    params = {"client_id": "cid", "client_secret": "s", "redirect_uri": REDIRECT, "code": code}
    short = requests.get(graph, params=params, timeout=5).json()
    assert short["expires_in"] == 3600
    long = requests.get(
        graph,
        params={
            "grant_type": "fb_exchange_token",
            "client_id": "cid",
            "client_secret": "s",
            "fb_exchange_token": short["access_token"],
        },
        timeout=5,
    ).json()
    assert long["expires_in"] == 5_183_944
    pages = requests.get(
        f"{base}/v24.0/me/accounts",
        params={"fields": "id,name,access_token,instagram_business_account{id,username}"},
        headers={"Authorization": f"Bearer {long['access_token']}"},
        timeout=5,
    ).json()["data"]
    assert len(pages) == 2
    assert pages[0]["instagram_business_account"]["username"] == "ann_ig"
    assert all(p["access_token"].startswith(f"sandbox:{p['id']}:") for p in pages)
    bad = requests.get(graph, params={**params, "code": "nope"}, timeout=5)
    assert bad.json()["error"]["type"] == "OAuthException"


def test_expired_or_revoked_tokens_are_refused_by_publishing_routes(base):
    code = code_of(consent(base, "/v24.0/dialog/oauth", sandbox_user="bob"))
    graph = f"{base}/v24.0/oauth/access_token"
    params = {"client_id": "cid", "client_secret": "s", "redirect_uri": REDIRECT, "code": code}
    user_token = requests.get(graph, params=params, timeout=5).json()["access_token"]
    page = requests.get(
        f"{base}/v24.0/me/accounts", params={"access_token": user_token}, timeout=5
    ).json()["data"][0]
    feed = f"{base}/v24.0/{page['id']}/feed"
    post = {"message": "hello", "access_token": page["access_token"]}
    assert requests.post(feed, data=post, timeout=5).status_code == 200
    expired = requests.post(
        f"{base}/_sandbox/oauth/expire", json={"sandbox_user": "bob"}, timeout=5
    )
    assert expired.json()["expired"] >= 2
    refused = requests.post(feed, data={**post, "message": "again"}, timeout=5)
    assert refused.json()["error"]["code"] == 190
    assert len(requests.get(f"{base}/_sandbox/ledger", timeout=5).json()["posts"]) == 1


def test_control_settings_validate_and_reset_clears(base):
    bad = requests.patch(
        f"{base}/_sandbox/oauth/settings", json={"access_token_ttl_s": -1}, timeout=5
    )
    assert bad.status_code == 400
    ok = requests.patch(
        f"{base}/_sandbox/oauth/settings", json={"access_token_ttl_s": 5}, timeout=5
    )
    assert ok.json()["settings"]["access_token_ttl_s"] == 5
    requests.post(f"{base}/_sandbox/reset", json={}, timeout=5)
    assert requests.get(f"{base}/_sandbox/oauth", timeout=5).json()["settings"] == {
        "access_token_ttl_s": None,
        "token_latency_ms": 0,
    }
