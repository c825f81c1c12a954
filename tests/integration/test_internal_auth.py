"""Internal callers of the publisher (and sweeper): Google OIDC tokens verified against a
certificates endpoint served over real HTTP on loopback, and the local shared secret against
the stack's publisher."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from sharecast.config import Settings
from sharecast.errors import Unauthenticated
from sharecast.internal_auth import verify_internal_caller
from sharecast.tasks import INTERNAL_AUTH_HEADER
from tests.conftest import PORTS

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
AUDIENCE = "https://us-central1-p.cloudfunctions.net/publisher"
ACCOUNT = "sharecast-tasks-invoker@p.iam.gserviceaccount.com"


@pytest.fixture(scope="module")
def certs_url() -> Iterator[str]:
    """Google's v1 certs format: ``{kid: PEM}``."""
    pem = KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    body = json.dumps({"k1": pem.decode()}).encode()

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
    yield f"http://127.0.0.1:{server.server_address[1]}/oauth2/v1/certs"
    server.shutdown()


@pytest.fixture
def settings(certs_url: str) -> Settings:
    return Settings(
        internal_oidc_service_accounts=[ACCOUNT],
        google_oidc_certs_url=certs_url,
        internal_auth_secret=None,
        jwt_leeway_s=0,
    )


def id_token(key=KEY, kid: str = "k1", **overrides: object) -> str:
    now = int(time.time())
    claims = {
        "iss": "https://accounts.google.com",
        "aud": AUDIENCE,
        "sub": "1234567890",
        "email": ACCOUNT,
        "email_verified": True,
        "iat": now,
        "exp": now + 600,
        **overrides,
    }
    return jwt.encode(
        {k: v for k, v in claims.items() if v is not None}, key, "RS256", headers={"kid": kid}
    )


def request_with(headers: dict[str, str]) -> Request:
    return Request(EnvironBuilder(method="POST", path="/", headers=headers).get_environ())


def test_valid_google_oidc_token_is_accepted(settings):
    caller = verify_internal_caller(
        request_with({"Authorization": f"Bearer {id_token()}"}), settings, audience=AUDIENCE
    )
    assert caller == f"oidc:{ACCOUNT}"


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda: id_token(aud="https://elsewhere"), id="wrong-audience"),
        pytest.param(lambda: id_token(email="someone@p.iam.gserviceaccount.com"), id="account"),
        pytest.param(lambda: id_token(email_verified=False), id="unverified-email"),
        pytest.param(lambda: id_token(iss="https://evil.example"), id="wrong-issuer"),
        pytest.param(lambda: id_token(exp=int(time.time()) - 10), id="expired"),
        pytest.param(lambda: id_token(key=OTHER), id="forged"),
        pytest.param(lambda: id_token(kid="unknown"), id="unknown-kid"),
        pytest.param(lambda: jwt.encode({"aud": AUDIENCE}, None, "none"), id="alg-none"),
        pytest.param(lambda: "", id="missing"),
    ],
)
def test_bad_oidc_tokens_are_refused(settings, token):
    value = token()
    headers = {"Authorization": f"Bearer {value}"} if value else {}
    with pytest.raises(Unauthenticated):
        verify_internal_caller(request_with(headers), settings, audience=AUDIENCE)


def test_the_shared_secret_is_not_enough_once_oidc_is_configured(settings):
    both = settings.model_copy(update={"internal_auth_secret": Settings().internal_auth_secret})
    secret = both.internal_auth_secret.get_secret_value()  # type: ignore[union-attr]
    with pytest.raises(Unauthenticated):
        verify_internal_caller(
            request_with({INTERNAL_AUTH_HEADER: secret}), both, audience=AUDIENCE
        )


@pytest.mark.usefixtures("stack")
def test_the_stack_publisher_requires_the_shared_secret():
    url = f"http://127.0.0.1:{PORTS.publisher}/"
    body = {"post_id": "p", "target_id": "t", "attempt": 1}
    for headers in ({}, {INTERNAL_AUTH_HEADER: "wrong"}):
        response = requests.post(url, json=body, headers=headers, timeout=20)
        assert response.status_code == 401, response.text
        assert response.headers["Content-Type"].startswith("application/problem+json")
    secret = Settings().internal_auth_secret.get_secret_value()  # type: ignore[union-attr]
    response = requests.post(url, json=body, headers={INTERNAL_AUTH_HEADER: secret}, timeout=20)
    assert response.status_code != 401, response.text


def test_the_publisher_expects_the_tasks_invoker_identity(certs_url):
    from sharecast.publisher.envelope import check_internal_auth

    prod = Settings(
        tasks_invoker_service_account=ACCOUNT,
        publisher_url=AUDIENCE,
        google_oidc_certs_url=certs_url,
        internal_auth_secret=None,
    )
    check_internal_auth(request_with({"Authorization": f"Bearer {id_token()}"}), prod)
    with pytest.raises(Unauthenticated):
        check_internal_auth(request_with({}), prod)
    other = id_token(email="sharecast-scheduler-invoker@p.iam.gserviceaccount.com")
    with pytest.raises(Unauthenticated):
        check_internal_auth(request_with({"Authorization": f"Bearer {other}"}), prod)
