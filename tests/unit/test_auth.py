import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from sharecast.auth import (
    issue_dev_token,
    issue_sse_token,
    verify_sse_token,
    verify_user_token,
)
from sharecast.config import Settings
from sharecast.errors import Unauthenticated

SECRET = "test-secret-that-is-long-enough-for-hs256!!"


@pytest.fixture
def settings() -> Settings:
    return Settings(jwt_secret=SecretStr(SECRET), jwt_leeway_s=0)


def token(claims: dict, key: str = SECRET, alg: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=alg)


def test_valid_token(settings):
    principal = verify_user_token(issue_dev_token(settings, user_id="alice"), settings)
    assert (principal.user_id, principal.role) == ("alice", "user")


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "a", "exp": int(time.time()) - 10},  # expired
        {"sub": "a", "exp": int(time.time()) + 60, "nbf": int(time.time()) + 60},  # future nbf
        {"sub": "a"},  # no exp
        {"exp": int(time.time()) + 60},  # no sub
        {"sub": "a", "exp": int(time.time()) + 60, "role": "superuser"},  # unknown role
        {"sub": "a/b", "exp": int(time.time()) + 60},  # unusable sub
    ],
)
def test_rejected_claims(settings, claims):
    with pytest.raises(Unauthenticated):
        verify_user_token(token(claims), settings)


def test_forged_signature_and_alg_none(settings):
    claims = {"sub": "a", "exp": int(time.time()) + 60}
    with pytest.raises(Unauthenticated):
        verify_user_token(token(claims, key="another-secret-another-secret-123456"), settings)
    unsigned = jwt.encode(claims, key="", algorithm="none")
    with pytest.raises(Unauthenticated):
        verify_user_token(unsigned, settings)


def test_rs256_token_refused_when_hs256_configured(settings):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = {"sub": "a", "exp": int(time.time()) + 60}
    with pytest.raises(Unauthenticated):
        verify_user_token(jwt.encode(claims, key, algorithm="RS256"), settings)


def test_issuer_and_audience_checked():
    s = Settings(jwt_secret=SecretStr(SECRET), jwt_issuer="https://idp", jwt_audience="sharecast")
    good = issue_dev_token(s, user_id="a")
    assert verify_user_token(good, s).user_id == "a"
    wrong = token(
        {"sub": "a", "exp": int(time.time()) + 60, "iss": "https://evil", "aud": "sharecast"}
    )
    with pytest.raises(Unauthenticated):
        verify_user_token(wrong, s)


def test_sse_token_roundtrip_and_not_usable_as_user_token(settings):
    principal = verify_user_token(issue_dev_token(settings, user_id="bob"), settings)
    sse, expires = issue_sse_token(principal, settings)
    assert verify_sse_token(sse, settings).user_id == "bob"
    assert expires.tzinfo is not None
    with pytest.raises(Unauthenticated):
        verify_user_token(sse, settings)
    with pytest.raises(Unauthenticated):
        verify_sse_token(issue_dev_token(settings, user_id="bob"), settings)
