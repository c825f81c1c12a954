"""Bad tokens of every kind, for the auth matrix (each must be refused with 401)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ATTACKER_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(sub: str, *, iss: str | None, aud: str | None, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    out: dict[str, Any] = {"sub": sub, "iat": now, "exp": now + 300, "role": "user"}
    if iss:
        out["iss"] = iss
    if aud:
        out["aud"] = aud
    out.update(extra)
    return {k: v for k, v in out.items() if v is not None}


def hs256_with_public_key(payload: dict[str, Any], public_pem: bytes, kid: str | None) -> str:
    """Algorithm confusion: HMAC-SHA256 keyed with an RSA public key (pyjwt refuses to make it)."""
    header: dict[str, Any] = {"alg": "HS256", "typ": "JWT"}
    if kid:
        header["kid"] = kid
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def bad_tokens(
    *,
    sign: Callable[[dict[str, Any]], str],
    public_pem: bytes | None,
    iss: str | None,
    aud: str | None,
    sub: str = "matrix-user",
) -> dict[str, str]:
    """Tokens that must all be refused, by case name. ``sign`` signs like the real issuer."""
    now = int(time.time())
    good = claims(sub, iss=iss, aud=aud)
    pem = public_pem or ATTACKER_RSA.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forged = sign(good).rsplit(".", 1)[0] + "." + b64(b"\x00" * 32)
    return {
        "expired": sign({**good, "exp": now - 3600, "iat": now - 7200}),
        "future_nbf": sign({**good, "nbf": now + 3600}),
        "wrong_issuer": sign({**good, "iss": "https://evil.example"}),
        "wrong_audience": sign({**good, "aud": "someone-else"}),
        "forged_signature": forged,
        "alg_none": jwt.encode(good, key="", algorithm="none"),
        "hs_rs_confusion": hs256_with_public_key(good, pem, "k1"),
        "rs256_from_attacker": jwt.encode(
            good, ATTACKER_RSA, algorithm="RS256", headers={"kid": "k1"}
        ),
        "unknown_kid": jwt.encode(
            good, ATTACKER_RSA, algorithm="RS256", headers={"kid": "no-such-kid"}
        ),
        "garbage": "not.a.jwt",
    }
