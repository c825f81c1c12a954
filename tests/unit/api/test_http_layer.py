"""What every API answer gets, checked on the app in-process (no dependency is touched by
these requests): CORS for allowlisted origins only, security headers, 405 with Allow, strict
JSON parsing."""

from __future__ import annotations

import re

import pytest
from pydantic import SecretStr

from sharecast.api import SECURITY_HEADERS, create_app
from sharecast.api.context import parse_strict_json
from sharecast.app import AppContext
from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.errors import BadRequest
from sharecast.idempotency import fingerprint

ORIGIN = "https://app.example"


@pytest.fixture(scope="module")
def client():
    settings = Settings(jwt_secret=SecretStr("x" * 40), cors_allowed_origins=[ORIGIN])
    app = create_app(AppContext(settings=settings, clients=Clients(settings)))
    return app.test_client()


def test_security_headers_on_success_and_error(client):
    for response in (client.get("/healthz"), client.get("/nope")):
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value


def test_cors_only_for_allowlisted_origins(client):
    allowed = client.get("/healthz", headers={"Origin": ORIGIN})
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "RateLimit-Remaining" in allowed.headers["Access-Control-Expose-Headers"]
    other = client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    assert "Origin" in other.headers["Vary"]


def test_preflight(client):
    response = client.options(
        "/posts/multipost",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Idempotency-Key" in response.headers["Access-Control-Allow-Headers"]
    denied = client.options("/posts/multipost", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Methods" not in denied.headers


def test_wrong_method_is_405_problem_with_allow(client):
    response = client.delete("/posts/multipost")
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert "POST" in response.headers["Allow"]


def test_unauthenticated_before_anything_else(client):
    response = client.post("/posts/multipost", data="not json", content_type="text/plain")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b'{"a": 1, "a": 2}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a": "\xff"}',
        b"",
    ],
)
def test_strict_json_refuses(raw):
    with pytest.raises(BadRequest):
        parse_strict_json(raw)


def test_fingerprint_ignores_key_order_not_values():
    assert fingerprint("/p", b'{"a": 1, "b": [1, 2]}') == fingerprint("/p", b'{"b":[1,2],"a":1}')
    assert fingerprint("/p", b'{"a": 1}') != fingerprint("/p", b'{"a": 2}')
    assert fingerprint("/p", b'{"a": 1}') != fingerprint("/q", b'{"a": 1}')


def test_docs_page_renders_the_document_from_local_assets_only(client):
    page = client.get("/docs")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "http://" not in html
    assert "https://" not in html  # no CDN
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    for src in re.findall(r'(?:src|href)="([^"]+)"', html):
        asset = client.get(src)
        assert asset.status_code == 200, src
    bundle = client.get("/docs/assets/swagger-ui-bundle.js").get_data(as_text=True)
    assert "SwaggerUIBundle" in bundle
    init = client.get("/docs/init.js")
    assert init.mimetype == "text/javascript"
    assert '"/openapi.json"' in init.get_data(as_text=True)
