"""The auth matrix: every declared route, every way a caller can be refused.

Generated from ``sharecast.api.routes.REGISTRY``, so a new route is in the matrix the moment it
is declared. A route with a path parameter needs a factory in ``RESOURCE_FACTORIES`` (a real
resource owned by someone else) and fails ``test_every_path_parameter_has_a_factory`` until
it has one. Runs against the stack's api over real HTTP (HS256, issuer and audience set), and
against an app configured for RS256 through a JWKS served over real HTTP.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

import sharecast.api  # noqa: F401 - declares every route
from sharecast.api import create_app
from sharecast.api.routes import REGISTRY, Route
from sharecast.app import AppContext
from sharecast.auth import ROLES
from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.vault import TokenVault
from tests.conftest import PORTS
from tests.support.api import ApiClient
from tests.support.tokens import bad_tokens

pytestmark = pytest.mark.usefixtures("clean_stack")

PROTECTED = [r for r in REGISTRY if not r.public]


def _ids(route: Route) -> str:
    return f"{route.method} {route.path}"


def make_post(owner: ApiClient) -> str:
    response = owner.post(
        "/posts/multipost",
        json={"content": "matrix", "platforms": [{"platform": "x"}], "draft": True},
    )
    assert response.status_code == 201, response.text
    return response.json()["postId"]


def make_connection(owner: ApiClient) -> str:
    from sharecast.domain.statuses import Platform
    from sharecast.store.connections import ensure_sandbox_connection
    from sharecast.timeutil import utcnow

    settings = Settings()
    record = ensure_sandbox_connection(
        Clients(settings).firestore,
        vault=TokenVault.from_settings(settings),
        user_id=owner.user_id,
        platform=Platform.X,
        now=utcnow(),
    )
    return record.id


def make_media(owner: ApiClient) -> str:
    response = owner.post(
        "/media/upload-url",
        json={"fileName": "a.jpg", "mimeType": "image/jpeg", "size": 1000, "kind": "IMAGE"},
    )
    assert response.status_code == 201, response.text
    return response.json()["mediaId"]


#: Each owner's webhook endpoint and the delivery of its test ping (made once per owner).
_WEBHOOKS: dict[str, tuple[str, str]] = {}


def make_webhook(owner: ApiClient) -> tuple[str, str]:
    """A webhook endpoint of ``owner`` (at the sandbox's receiver) and one of its deliveries."""
    if owner.user_id not in _WEBHOOKS:
        url = f"http://127.0.0.1:{PORTS.sandbox}/_sandbox/webhooks/matrix"
        created = owner.post("/webhooks", json={"url": url})
        assert created.status_code == 201, created.text
        endpoint_id = created.json()["endpoint"]["id"]
        ping = owner.post(f"/webhooks/{endpoint_id}/ping")
        assert ping.status_code == 202, ping.text
        _WEBHOOKS[owner.user_id] = (endpoint_id, ping.json()["id"])
    return _WEBHOOKS[owner.user_id]


#: Path parameter => a function creating a resource of that kind owned by the given client.
RESOURCE_FACTORIES: dict[str, Callable[[ApiClient], str]] = {
    "post_id": make_post,
    "media_id": make_media,
    "conn_id": make_connection,
    "endpoint_id": lambda owner: make_webhook(owner)[0],
    "delivery_id": lambda owner: make_webhook(owner)[1],
}
#: Path parameters that name no one's resource (the same for every caller), with a value:
#: a target is only reached through its post (``post_id``, owned), a dead letter only by
#: admins (who act on everyone's), a video is a public YouTube id (shares are per caller).
SHARED_PARAMS = {
    "platform": "x",
    "target_id": "matrix-target",
    "target_path": "matrix-post:matrix-target",
    "video_id": "dQw4w9WgXcQ",
}


def url_of(route: Route, values: dict[str, str] | None = None) -> str:
    values = values or {}
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "matrix-id"), route.path)


def call(client: ApiClient, route: Route, path: str, token: str | None):
    kwargs: dict = {"token": token}
    if route.body is not None:
        kwargs["json"] = {}
    return client.request(route.method, path, **kwargs)


def assert_problem(response, status: int) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.json()["status"] == status


def test_every_path_parameter_has_a_factory():
    params = {p for r in PROTECTED for p in r.path_params}
    known = set(RESOURCE_FACTORIES) | set(SHARED_PARAMS)
    assert params <= known, f"add factories for {params - known}"


@pytest.fixture(scope="module")
def local_bad_tokens() -> dict[str, str]:
    settings = Settings()
    secret = settings.jwt_secret.get_secret_value()  # type: ignore[union-attr]
    return bad_tokens(
        sign=lambda c: jwt.encode(c, secret, algorithm="HS256"),
        public_pem=None,
        iss=settings.jwt_issuer,
        aud=settings.jwt_audience,
    )


@pytest.mark.parametrize("route", PROTECTED, ids=_ids)
def test_refused_without_a_valid_token(route: Route, local_bad_tokens, user_id):
    client = ApiClient(PORTS, user_id)
    response = call(client, route, url_of(route), token="")
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    for case, token in local_bad_tokens.items():
        response = call(client, route, url_of(route), token=token)
        assert response.status_code == 401, (case, response.text)
        assert "eyJ" not in response.text, "a problem must never echo the token"


@pytest.mark.parametrize("route", PROTECTED, ids=_ids)
def test_roles_not_declared_get_403(route: Route, user_id):
    others = [r for r in ROLES if r not in route.roles]
    if not others:
        pytest.skip("every role may call this route")
    for role in others:
        response = call(ApiClient(PORTS, user_id, role=role), route, url_of(route), token=None)
        assert_problem(response, 403)


OWNED = [r for r in PROTECTED if set(r.path_params) & set(RESOURCE_FACTORIES)]


@pytest.mark.parametrize("route", OWNED, ids=_ids)
def test_someone_elses_resource_is_404(route: Route, user_id):
    role = "user" if "user" in route.roles else sorted(route.roles)[0]
    owner = ApiClient(PORTS, f"owner-{uuid.uuid4().hex[:8]}", role="user")
    values = {
        p: RESOURCE_FACTORIES[p](owner) if p in RESOURCE_FACTORIES else SHARED_PARAMS[p]
        for p in route.path_params
    }
    intruder = ApiClient(PORTS, user_id, role=role)
    response = call(intruder, route, url_of(route, values), token=None)
    assert_problem(response, 404)
    assert response.json()["code"] == "NOT_FOUND"
    if route.method == "GET":
        mine = owner.request(route.method, url_of(route, values))
        assert mine.status_code == 200, mine.text


# --- the same matrix with RS256 user tokens verified through a JWKS over real HTTP ------------

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


@pytest.fixture(scope="module")
def jwks_app() -> Iterator:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = Settings(
        jwt_secret=None,
        jwt_jwks_url=f"http://127.0.0.1:{server.server_address[1]}/jwks.json",
        jwt_algorithms=["RS256"],
        jwt_issuer="https://idp.example",
        jwt_audience="sharecast",
        sse_token_secret=SecretStr("relay-secret-" * 4),
    )
    app = create_app(AppContext(settings=settings, clients=Clients(settings)))
    yield app
    server.shutdown()


@pytest.mark.parametrize("route", PROTECTED, ids=_ids)
def test_jwks_matrix(route: Route, jwks_app):
    client = jwks_app.test_client()
    tokens = bad_tokens(
        sign=lambda c: jwt.encode(c, KEY, algorithm="RS256", headers={"kid": "k1"}),
        public_pem=PUBLIC_PEM,
        iss="https://idp.example",
        aud="sharecast",
    )
    body: dict[str, Any] | None = {} if route.body is not None else None
    for case, token in tokens.items():
        response = client.open(
            url_of(route),
            method=route.method,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 401, (case, response.get_data(as_text=True))
    good = jwt.encode(
        {
            "sub": "jwks-user",
            "iss": "https://idp.example",
            "aud": "sharecast",
            "exp": 2**31,
            "role": "user",
        },
        KEY,
        algorithm="RS256",
        headers={"kid": "k1"},
    )
    response = client.open(
        url_of(route), method=route.method, json=body, headers={"Authorization": f"Bearer {good}"}
    )
    assert response.status_code not in (401, 500), response.get_data(as_text=True)
