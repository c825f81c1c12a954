"""Verifying V4 signed URLs ourselves (the Storage emulator ignores signatures,
docs/local-stack.md).

Recomputes the canonical request and the string-to-sign exactly as documented in
https://cloud.google.com/storage/docs/access-control/signing-urls-manually and checks the
RSA-SHA256 signature with the signer's public key (cryptography). Independent of
google-cloud-storage's signing code.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


@dataclass(frozen=True)
class SignedUrl:
    """What a verified URL says."""

    method: str
    path: str
    credential: str
    signed_at: datetime
    expires_at: datetime
    signed_headers: dict[str, str]


def _encode(value: str) -> str:
    return quote(value, safe="-_.~")


def verify_v4(url: str, *, method: str, headers: dict[str, str], public_key_pem: str) -> SignedUrl:
    """Check ``url``'s signature for a request with ``method`` and ``headers`` (the headers the
    client will send; ``host`` is taken from the URL). Raises ``AssertionError`` or
    ``cryptography.exceptions.InvalidSignature``."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    params = dict(query)
    assert params["X-Goog-Algorithm"] == "GOOG4-RSA-SHA256"
    signature = bytes.fromhex(params.pop("X-Goog-Signature"))
    signed_names = params["X-Goog-SignedHeaders"].split(";")
    sent = {k.lower(): " ".join(v.split()) for k, v in headers.items()}
    sent["host"] = parts.netloc
    assert signed_names == sorted(signed_names)
    assert set(signed_names) <= set(sent), f"signed {signed_names}, sent {sorted(sent)}"
    canonical_query = "&".join(
        f"{_encode(k)}={_encode(v)}" for k, v in sorted(params.items(), key=lambda kv: kv[0])
    )
    canonical_headers = "".join(f"{name}:{sent[name]}\n" for name in signed_names)
    canonical_request = "\n".join(
        [
            method,
            parts.path,
            canonical_query,
            canonical_headers,
            ";".join(signed_names),
            "UNSIGNED-PAYLOAD",
        ]
    )
    credential = params["X-Goog-Credential"]
    email, date, location, service, kind = credential.split("/")
    assert (location, service, kind) == ("auto", "storage", "goog4_request")
    stamp = params["X-Goog-Date"]
    assert stamp.startswith(date)
    string_to_sign = "\n".join(
        [
            "GOOG4-RSA-SHA256",
            stamp,
            f"{date}/{location}/{service}/{kind}",
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = serialization.load_pem_public_key(public_key_pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(signature, string_to_sign.encode(), padding.PKCS1v15(), hashes.SHA256())
    signed_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return SignedUrl(
        method=method,
        path=parts.path,
        credential=email,
        signed_at=signed_at,
        expires_at=signed_at + timedelta(seconds=int(params["X-Goog-Expires"])),
        signed_headers={name: sent[name] for name in signed_names},
    )


def public_pem(private_key_pem: str) -> str:
    """The PEM public key of a PEM private key."""
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
