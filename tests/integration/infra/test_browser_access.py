"""What a browser on another origin needs from the local stack, over real HTTP: CORS on the
API (tracing headers allowed, ``WWW-Authenticate`` exposed), on the relay and on the Storage
front of signed URLs (a full upload: preflight, PUT, confirm), and the console's own server."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import PORTS
from tests.support.api import ApiClient

pytestmark = pytest.mark.usefixtures("clean_stack")

HOST = "http://127.0.0.1"
API = f"{HOST}:{PORTS.api}"
CONSOLE = f"{HOST}:{PORTS.console}"
DEV_ORIGIN = "http://localhost:5173"
STRANGER = "http://evil.example:8080"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


def preflight(url: str, origin: str, method: str, headers: str) -> requests.Response:
    return requests.options(
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
        timeout=30,
    )


@pytest.mark.parametrize("origin", [CONSOLE, CONSOLE.replace("127.0.0.1", "localhost"), DEV_ORIGIN])
def test_api_preflight_allows_local_origins_and_tracing_headers(origin):
    headers = (
        "authorization,content-type,idempotency-key,traceparent,tracestate,x-cloud-trace-context"
    )
    response = preflight(f"{API}/posts/multipost", origin, "POST", headers)
    assert response.headers.get("Access-Control-Allow-Origin") == origin
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    for name in headers.split(","):
        assert name in allowed
    answer = requests.get(f"{API}/posts", headers={"Origin": origin}, timeout=30)
    assert answer.status_code == 401
    assert answer.headers.get("Access-Control-Allow-Origin") == origin
    assert "WWW-Authenticate" in answer.headers["Access-Control-Expose-Headers"]


def test_unknown_origins_get_no_cors_grant():
    response = preflight(f"{API}/posts/multipost", STRANGER, "POST", "authorization")
    assert "Access-Control-Allow-Origin" not in response.headers
    relay = requests.get(f"{HOST}:{PORTS.relay}/healthz", headers={"Origin": STRANGER}, timeout=30)
    assert "Access-Control-Allow-Origin" not in relay.headers


def test_relay_answers_the_console_origin():
    response = requests.get(
        f"{HOST}:{PORTS.relay}/healthz", headers={"Origin": CONSOLE}, timeout=30
    )
    assert response.headers.get("Access-Control-Allow-Origin") == CONSOLE


def test_a_browser_upload_through_the_storage_front(user_id):
    api = ApiClient(PORTS, user_id)
    ticket = api.post(
        "/media/upload-url",
        json={"fileName": "a.png", "mimeType": "image/png", "size": len(PNG), "kind": "IMAGE"},
    ).json()
    assert ticket["uploadUrl"].startswith(f"{HOST}:{PORTS.storage_cors}/")
    names = ",".join(ticket["headers"]).lower()
    refused = preflight(ticket["uploadUrl"], STRANGER, "PUT", names)
    assert "Access-Control-Allow-Origin" not in refused.headers
    granted = preflight(ticket["uploadUrl"], CONSOLE, "PUT", names)
    assert granted.status_code == 200
    assert granted.headers["Access-Control-Allow-Origin"] == CONSOLE
    assert "PUT" in granted.headers["Access-Control-Allow-Methods"]
    put = requests.put(
        ticket["uploadUrl"],
        data=PNG,
        headers={**ticket["headers"], "Origin": CONSOLE},
        timeout=30,
    )
    assert put.status_code == 200, put.text
    assert put.headers["Access-Control-Allow-Origin"] == CONSOLE
    confirmed = api.post("/media/confirm", json={"mediaId": ticket["mediaId"]})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "UPLOADED"
    read = api.get(f"/media/{ticket['mediaId']}").json()["url"]
    fetched = requests.get(read, headers={"Origin": CONSOLE}, timeout=30)
    assert fetched.content == PNG
    assert fetched.headers["Access-Control-Allow-Origin"] == CONSOLE


def test_console_server_config_dev_sign_in_and_routes():
    config = requests.get(f"{CONSOLE}/config.json", timeout=30)
    assert config.json()["apiUrl"] == API
    assert "connect-src 'self' " + API in config.headers["Content-Security-Policy"]
    bad = requests.post(
        f"{CONSOLE}/dev/token", json={"user": "no spaces", "role": "root"}, timeout=30
    )
    assert bad.status_code == 422
    assert bad.headers["Content-Type"] == "application/problem+json"
    assert {e["field"] for e in bad.json()["errors"]} == {"user", "role"}
    assert requests.post(f"{CONSOLE}/dev/token", data="[", timeout=30).status_code == 400
    good = requests.post(f"{CONSOLE}/dev/token", json={"user": "carol", "role": "user"}, timeout=30)
    token = good.json()["token"]
    posts = requests.get(f"{API}/posts", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert posts.status_code == 200
    callback = requests.get(f"{CONSOLE}/connections/x/callback?code=a&state=b", timeout=30)
    assert callback.status_code == 200
    assert '<script type="module" src="/app.js">' in callback.text
    assert (
        requests.get(f"{CONSOLE}/lib/sharecast-events.js", timeout=30)
        .headers["Content-Type"]
        .startswith("text/javascript")
    )
    assert requests.get(f"{CONSOLE}/missing.js", timeout=30).status_code == 404
    assert requests.get(f"{CONSOLE}/../README.md", timeout=30).status_code == 404
