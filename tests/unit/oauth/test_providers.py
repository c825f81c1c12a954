import base64
import hashlib
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from pydantic import SecretStr

from sharecast.config import Settings
from sharecast.domain.statuses import Platform
from sharecast.oauth.errors import OAuthNotConfigured
from sharecast.oauth.providers import (
    UNSET_SECRET,
    TokenSet,
    _error_of,
    build_providers,
    pkce_challenge,
    pkce_pair,
)

# model_construct: defaults only, not the test stack's environment (tests/conftest.py).
CONFIGURED = Settings.model_construct(
    x_client_id="xid",
    x_client_secret=SecretStr("xsecret"),
    youtube_client_id="yid",
    youtube_client_secret=SecretStr("ysecret"),
    facebook_client_id="fid",
    facebook_client_secret=SecretStr(UNSET_SECRET),
)


def providers():
    return build_providers(CONFIGURED, requests.Session())


def test_pkce_pair_is_s256():
    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128
    digest = hashlib.sha256(verifier.encode()).digest()
    assert challenge == base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert pkce_challenge(verifier) == challenge
    assert pkce_pair()[0] != verifier


def test_x_authorization_url_carries_pkce_and_offline_access():
    url = providers()[Platform.X].authorization_url(
        state="s1", redirect_uri="https://app.example/cb", code_challenge="c" * 43
    )
    assert url.startswith("https://x.com/i/oauth2/authorize?")
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"] == ["c" * 43]
    assert "offline.access" in query["scope"][0].split(" ")
    assert query["state"] == ["s1"]
    assert query["response_type"] == ["code"]


def test_youtube_asks_for_offline_access():
    url = providers()[Platform.YOUTUBE].authorization_url(
        state="s", redirect_uri="https://app.example/cb", code_challenge="c" * 43
    )
    query = parse_qs(urlsplit(url).query)
    assert query["access_type"] == ["offline"]
    assert query["prompt"] == ["consent"]


def test_unset_placeholder_and_missing_credentials_mean_not_configured():
    p = providers()
    assert p[Platform.X].configured
    assert not p[Platform.FACEBOOK].configured  # secret is the Terraform placeholder
    assert not p[Platform.INSTAGRAM].configured  # same Meta app
    assert not p[Platform.THREADS].configured
    with pytest.raises(OAuthNotConfigured):
        p[Platform.THREADS].authorization_url(state="s", redirect_uri="r", code_challenge=None)


def test_token_set_repr_hides_tokens():
    tokens = TokenSet("secret-access", "secret-refresh", datetime(2030, 1, 1, tzinfo=UTC))
    assert "secret" not in repr(tokens)
    assert "secret" not in str(tokens)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"error": "invalid_grant", "error_description": "revoked"}, ("invalid_grant", "revoked")),
        (
            {"error": {"message": "expired", "type": "OAuthException", "code": 190}},
            ("OAuthException/190", "expired"),
        ),
        ({"title": "Unauthorized", "detail": "no"}, ("Unauthorized", "no")),
        ("not json", ("", "")),
    ],
)
def test_error_bodies_of_every_family(body, expected):
    assert _error_of(body) == expected
