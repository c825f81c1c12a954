"""RS256 user tokens verified through a JWKS endpoint served over real HTTP on loopback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sharecast.auth import verify_user_token
from sharecast.config import Settings
from sharecast.errors import Unauthenticated

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**public, "kid": kid, "use": "sig", "alg": "RS256"}


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    body = json.dumps({"keys": [jwk(KEY, "k1")]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()


@pytest.fixture
def settings(jwks_url: str) -> Settings:
    return Settings(
        jwt_jwks_url=jwks_url,
        jwt_algorithms=["RS256"],
        jwt_issuer="https://idp.example",
        jwt_audience="sharecast",
        jwt_secret=None,
    )


def claims(**extra: object) -> dict:
    now = int(time.time())
    return {
        "sub": "alice",
        "iss": "https://idp.example",
        "aud": "sharecast",
        "exp": now + 300,
        "iat": now,
        **extra,
    }


def test_valid_rs256_token_from_jwks(settings):
    token = jwt.encode(claims(role="monitor"), KEY, algorithm="RS256", headers={"kid": "k1"})
    principal = verify_user_token(token, settings)
    assert (principal.user_id, principal.role) == ("alice", "monitor")


def test_unknown_kid_refused(settings):
    token = jwt.encode(claims(), OTHER, algorithm="RS256", headers={"kid": "nope"})
    with pytest.raises(Unauthenticated):
        verify_user_token(token, settings)


def test_right_kid_wrong_key_refused(settings):
    token = jwt.encode(claims(), OTHER, algorithm="RS256", headers={"kid": "k1"})
    with pytest.raises(Unauthenticated):
        verify_user_token(token, settings)


def test_hs256_signed_with_the_public_key_is_refused(settings):
    """Algorithm confusion: an HS256 token whose HMAC key is the RSA public key (which anyone can
    fetch from the JWKS). The algorithm comes from settings, never from the token header. pyjwt
    refuses to HMAC-sign with a PEM key, so the token is assembled by hand."""
    public_pem = KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    payload = b64(json.dumps(claims()).encode())
    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    with pytest.raises(Unauthenticated):
        verify_user_token(f"{header}.{payload}.{b64(signature)}", settings)


def test_wrong_audience_refused(settings):
    token = jwt.encode(claims(aud="someone-else"), KEY, algorithm="RS256", headers={"kid": "k1"})
    with pytest.raises(Unauthenticated):
        verify_user_token(token, settings)
