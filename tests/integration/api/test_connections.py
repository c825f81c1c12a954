"""``/connections`` over real HTTP: the api function, Firestore emulator and the sandbox's
OAuth endpoints (consent, token exchange, account discovery) for every network."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.domain.statuses import Platform
from sharecast.errors import Conflict
from sharecast.store import oauth_states
from sharecast.store.connections import get_connection
from sharecast.timeutil import utcnow
from sharecast.vault import TokenVault
from tests.conftest import PORTS
from tests.support.api import ApiClient
from tests.support.oauth import connect, consent

pytestmark = pytest.mark.usefixtures("clean_stack")

#: platform → (accounts the sandbox user has there, whether the access token expires)
EXPECTED = {
    "facebook": (2, False),  # two Pages, Page tokens never expire
    "instagram": (1, False),  # the business account linked to the first Page
    "threads": (1, True),
    "linkedin": (1, True),
    "x": (1, True),
    "youtube": (1, True),
}


@pytest.fixture
def api(user_id: str) -> ApiClient:
    return ApiClient(PORTS, user_id)


def assert_no_tokens(text: str) -> None:
    assert "sandbox:" not in text
    assert "sbxrt_" not in text
    assert "access_token" not in text.lower()
    assert "refresh" not in text.lower()


@pytest.mark.parametrize("platform", sorted(EXPECTED))
def test_connect_each_network_through_the_sandbox(api: ApiClient, platform: str, user_id: str):
    count, expires = EXPECTED[platform]
    started = api.get(f"/connections/{platform}/authorize")
    assert started.status_code == 200
    body = started.json()
    query = parse_qs(urlsplit(body["authorizationUrl"]).query)
    assert query["state"] == [body["state"]]
    # Locally the networks send the browser back to the console, which calls the API.
    assert query["redirect_uri"] == [
        f"http://127.0.0.1:{PORTS.console}/connections/{platform}/callback"
    ]
    if platform in ("x", "youtube"):
        assert query["code_challenge_method"] == ["S256"]
        assert len(query["code_challenge"][0]) == 43
    else:
        assert "code_challenge" not in query
    if platform == "youtube":
        assert query["access_type"] == ["offline"]

    back = consent(body["authorizationUrl"], sandbox_user=f"sbx-{user_id}")
    done = api.get(f"/connections/{platform}/callback", params=back)
    assert done.status_code == 201, done.text
    assert_no_tokens(done.text)
    stored = done.json()["connections"]
    assert len(stored) == count
    for conn in stored:
        assert conn["platform"] == platform
        assert conn["status"] == "active"
        assert conn["accountId"]
        assert conn["accountName"]
        assert (conn["expiresAt"] is not None) is expires

    listed = api.get("/connections")
    assert listed.status_code == 200
    assert_no_tokens(listed.text)
    assert {c["id"] for c in listed.json()["connections"]} == {c["id"] for c in stored}

    # The tokens are in Firestore, encrypted and bound to the connection id.
    settings = Settings()
    record = get_connection(Clients(settings).firestore, stored[0]["id"])
    vault = TokenVault.from_settings(settings)
    assert record.access_token_enc.startswith("v1.")
    assert vault.decrypt(record.access_token_enc, context=record.id).startswith("sandbox:")
    assert (record.refresh_token_enc is not None) is (platform in ("linkedin", "x", "youtube"))


def test_connecting_again_renews_the_same_connection(api: ApiClient, user_id: str):
    first = connect(api, "x", sandbox_user=f"sbx-{user_id}")
    second = connect(api, "x", sandbox_user=f"sbx-{user_id}")
    assert [c["id"] for c in first] == [c["id"] for c in second]
    assert len(api.get("/connections").json()["connections"]) == 1


def test_replayed_state_is_refused(api: ApiClient, user_id: str):
    started = api.get("/connections/threads/authorize").json()
    back = consent(started["authorizationUrl"], sandbox_user=f"sbx-{user_id}")
    assert api.get("/connections/threads/callback", params=back).status_code == 201
    again = api.get("/connections/threads/callback", params=back)
    assert again.status_code == 400
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["code"] == "OAUTH_STATE_INVALID"
    assert "already used" in again.json()["detail"]


def test_state_of_another_user_is_refused_and_not_used_up(api: ApiClient, user_id: str):
    started = api.get("/connections/linkedin/authorize").json()
    back = consent(started["authorizationUrl"], sandbox_user=f"sbx-{user_id}")
    mallory = ApiClient(PORTS, f"{user_id}-mallory")
    stolen = mallory.get("/connections/linkedin/callback", params=back)
    assert stolen.status_code == 400
    assert stolen.json()["code"] == "OAUTH_STATE_INVALID"
    assert mallory.get("/connections").json()["connections"] == []
    # Nor does a state for one platform complete another.
    other = api.get("/connections/x/callback", params=back)
    assert other.status_code == 400
    assert other.json()["code"] == "OAUTH_STATE_INVALID"
    assert api.get("/connections/linkedin/callback", params=back).status_code == 201


def test_expired_state_is_refused(user_id: str):
    settings = Settings()
    db = Clients(settings).firestore
    vault = TokenVault.from_settings(settings)
    now = utcnow()
    state, expires = oauth_states.create_state(
        db,
        vault,
        user_id=user_id,
        platform=Platform.X,
        redirect_uri="http://127.0.0.1/cb",
        code_verifier="v" * 64,
        now=now,
        ttl_s=600,
    )
    assert expires == now + timedelta(seconds=600)
    with pytest.raises(Conflict, match="expired"):  # the store's answer; the API says 400
        oauth_states.consume_state(
            db, vault, state=state, user_id=user_id, platform=Platform.X, now=expires
        )
    # Still usable just before it expires; then used up.
    pending = oauth_states.consume_state(
        db,
        vault,
        state=state,
        user_id=user_id,
        platform=Platform.X,
        now=expires - timedelta(seconds=1),
    )
    assert pending.code_verifier == "v" * 64


def test_denied_consent_and_bad_code(api: ApiClient, user_id: str):
    started = api.get("/connections/youtube/authorize").json()
    back = consent(started["authorizationUrl"], sandbox_user=f"sbx-{user_id}", deny=True)
    assert back["error"] == "access_denied"
    denied = api.get("/connections/youtube/callback", params=back)
    assert denied.status_code == 400
    assert denied.json()["code"] == "OAUTH_DENIED"

    started = api.get("/connections/youtube/authorize").json()
    forged = {"state": started["state"], "code": "not-a-code"}
    refused = api.get("/connections/youtube/callback", params=forged)
    assert refused.status_code == 400
    assert refused.json()["code"] == "OAUTH_DENIED"
    assert api.get("/connections").json()["connections"] == []


def test_bad_requests(api: ApiClient):
    whatsapp = api.get("/connections/whatsapp/authorize")
    assert whatsapp.status_code == 400
    assert whatsapp.json()["code"] == "SHARE_LINK_ONLY"
    assert "share link" in whatsapp.json()["detail"]
    assert api.get("/connections/myspace/authorize").status_code == 404
    missing = api.get("/connections/x/callback", params={"code": "abc"})
    assert missing.status_code == 422
    assert api.get("/connections", token="").status_code == 401
    assert api.get("/connections/x/authorize", token="").status_code == 401


def test_delete_only_own_connections(api: ApiClient, user_id: str):
    conn = connect(api, "x", sandbox_user=f"sbx-{user_id}")[0]
    bob = ApiClient(PORTS, f"{user_id}-bob")
    assert bob.request("DELETE", f"/connections/{conn['id']}").status_code == 404
    assert len(api.get("/connections").json()["connections"]) == 1
    assert api.request("DELETE", f"/connections/{conn['id']}").status_code == 204
    assert api.get("/connections").json()["connections"] == []
    assert api.request("DELETE", f"/connections/{conn['id']}").status_code == 404


def test_pkce_verifier_mismatch_is_refused_by_the_token_endpoint(api: ApiClient, user_id: str):
    started = api.get("/connections/x/authorize").json()
    back = consent(started["authorizationUrl"], sandbox_user=f"sbx-{user_id}")
    query = parse_qs(urlsplit(started["authorizationUrl"]).query)
    response = requests.post(
        f"http://127.0.0.1:{PORTS.sandbox}/2/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": back["code"],
            "redirect_uri": query["redirect_uri"][0],
            "code_verifier": "a-wrong-verifier-of-the-right-length-aaaaaaaaaaaaaaaaaaa",
        },
        auth=(query["client_id"][0], "secret"),
        timeout=5,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
