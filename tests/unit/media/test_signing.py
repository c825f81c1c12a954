"""V4 signed URLs (sharecast.bucket.signing), verified independently: canonical request and
string-to-sign recomputed per https://cloud.google.com/storage/docs/access-control/signing-urls-manually
and the signature checked with the signer's public key."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import google.auth.transport.requests
import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from google.oauth2.credentials import Credentials as TokenCredentials

from infra.localenv import DEV_MEDIA_SIGNER_EMAIL, DEV_MEDIA_SIGNER_KEY
from sharecast.bucket.signing import UrlSigner
from tests.support.signed_urls import public_pem, verify_v4

PUBLIC = public_pem(DEV_MEDIA_SIGNER_KEY)
PATH = "media/videos/alice/20261121T120000Z-0123456789abcdef0123456789abcdef.mp4"


def client() -> storage.Client:
    return storage.Client(project="p", credentials=AnonymousCredentials())


def key_signer() -> UrlSigner:
    return UrlSigner(
        bucket="media-bucket",
        endpoint="https://storage.googleapis.com",
        signer_email=DEV_MEDIA_SIGNER_EMAIL,
        signer_key=DEV_MEDIA_SIGNER_KEY,
        client=client(),
    )


def put_url(signer: UrlSigner) -> str:
    return signer.sign(
        PATH,
        method="PUT",
        ttl_s=3600,
        content_type="video/mp4",
        headers={"x-goog-content-length-range": "1,2048"},
    )


def test_put_url_is_bound_to_type_length_range_and_one_hour():
    before = datetime.now(UTC).replace(microsecond=0)
    url = put_url(key_signer())
    sent = {"Content-Type": "video/mp4", "x-goog-content-length-range": "1,2048"}
    checked = verify_v4(url, method="PUT", headers=sent, public_key_pem=PUBLIC)
    assert checked.path == f"/media-bucket/{PATH}"
    assert checked.credential == DEV_MEDIA_SIGNER_EMAIL
    assert checked.signed_headers == {
        "content-type": "video/mp4",
        "host": "storage.googleapis.com",
        "x-goog-content-length-range": "1,2048",
    }
    assert before <= checked.signed_at <= datetime.now(UTC)
    assert checked.expires_at - checked.signed_at == timedelta(hours=1)


@pytest.mark.parametrize(
    ("method", "headers"),
    [
        ("PUT", {"Content-Type": "image/png", "x-goog-content-length-range": "1,2048"}),
        ("PUT", {"Content-Type": "video/mp4", "x-goog-content-length-range": "1,999999"}),
        ("GET", {"Content-Type": "video/mp4", "x-goog-content-length-range": "1,2048"}),
    ],
)
def test_changing_the_type_range_or_method_breaks_the_signature(method, headers):
    with pytest.raises(InvalidSignature):
        verify_v4(put_url(key_signer()), method=method, headers=headers, public_key_pem=PUBLIC)


def test_changing_the_path_breaks_the_signature():
    url = put_url(key_signer()).replace("alice", "mallory")
    sent = {"Content-Type": "video/mp4", "x-goog-content-length-range": "1,2048"}
    with pytest.raises(InvalidSignature):
        verify_v4(url, method="PUT", headers=sent, public_key_pem=PUBLIC)


def test_get_url_has_its_own_lifetime_and_endpoint():
    signer = UrlSigner(
        bucket="b",
        endpoint="http://127.0.0.1:9999",
        signer_email=DEV_MEDIA_SIGNER_EMAIL,
        signer_key=DEV_MEDIA_SIGNER_KEY,
        client=client(),
    )
    url = signer.sign(PATH, method="GET", ttl_s=6 * 3600)
    assert url.startswith(f"http://127.0.0.1:9999/b/{PATH}?")
    checked = verify_v4(url, method="GET", headers={}, public_key_pem=PUBLIC)
    assert checked.expires_at - checked.signed_at == timedelta(hours=6)
    assert checked.signed_headers == {"host": "127.0.0.1:9999"}


def test_a_key_needs_an_email():
    with pytest.raises(ValueError):
        UrlSigner(
            bucket="b",
            endpoint="https://x",
            signer_email=None,
            signer_key=DEV_MEDIA_SIGNER_KEY,
            client=client(),
        )


class FakeIamAdapter(requests.adapters.BaseAdapter):
    """Stands in for iamcredentials.googleapis.com ``signBlob``: checks the bearer token and
    signs with the account's key, as IAM does for a service account without a key file."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str]] = []

    def send(self, request, **kwargs):  # type: ignore[override]
        key = serialization.load_pem_private_key(DEV_MEDIA_SIGNER_KEY.encode(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        payload = base64.b64decode(json.loads(request.body)["payload"])
        self.calls.append((request.url, request.headers["Authorization"]))
        signature = key.sign(payload, padding.PKCS1v15(), hashes.SHA256())
        response = requests.Response()
        response.status_code = 200
        response._content = json.dumps(
            {"keyId": "k1", "signedBlob": base64.b64encode(signature).decode()}
        ).encode()
        response.url = request.url
        response.request = request
        return response

    def close(self) -> None:
        pass


def test_iam_signblob_path_signs_as_the_runtime_account(monkeypatch):
    adapter = FakeIamAdapter()
    real_session = requests.Session

    def session_with_fake_iam() -> requests.Session:
        session = real_session()
        session.mount("https://iamcredentials.googleapis.com/", adapter)
        return session

    monkeypatch.setattr(google.auth.transport.requests.requests, "Session", session_with_fake_iam)
    runtime = TokenCredentials(
        token="runtime-token", expiry=datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1)
    )
    signer = UrlSigner(
        bucket="media-bucket",
        endpoint="https://storage.googleapis.com",
        signer_email=DEV_MEDIA_SIGNER_EMAIL,
        signer_key=None,
        client=client(),
        credentials=runtime,
    )
    assert not signer.uses_key
    url = put_url(signer)
    sent = {"Content-Type": "video/mp4", "x-goog-content-length-range": "1,2048"}
    checked = verify_v4(url, method="PUT", headers=sent, public_key_pem=PUBLIC)
    assert checked.credential == DEV_MEDIA_SIGNER_EMAIL
    [(called, authorization)] = adapter.calls
    assert called.startswith(
        f"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
        f"{DEV_MEDIA_SIGNER_EMAIL}:signBlob"
    )
    assert authorization == "Bearer runtime-token"
