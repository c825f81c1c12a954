"""Signing secrets and signatures in the Standard Webhooks format, with the ``standardwebhooks``
library (https://github.com/standard-webhooks/standard-webhooks, ``libraries/python``).

A secret is ``whsec_`` + base64 of 32 random bytes (the specification asks for 24 to 64). It is
shown once, when the endpoint is created or its secret rotated, and stored only encrypted by the
token vault (AES-GCM, bound to the endpoint id). Each delivery attempt carries:

- ``webhook-id``: the delivery's message id (the same on every retry);
- ``webhook-timestamp``: the attempt's time, integer seconds since the epoch;
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` for every
  signing secret, space separated: the current one and, during a rotation's grace period,
  the previous one, so receivers verify with either.
"""

from __future__ import annotations

import base64
import math
import secrets
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks import Webhook

from sharecast.domain.webhooks import SigningSecret
from sharecast.vault import TokenVault

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    """A new signing secret (``whsec_...``)."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def seal(vault: TokenVault, secret: str, *, endpoint_id: str, now: datetime) -> SigningSecret:
    """``secret`` encrypted for storage on endpoint ``endpoint_id``."""
    return SigningSecret(
        ciphertext=vault.encrypt(secret, context=_context(endpoint_id)), created_at=now
    )


def unseal(vault: TokenVault, sealed: SigningSecret, *, endpoint_id: str) -> str:
    """The plain secret of ``sealed``. Raises ``sharecast.vault.VaultError`` when it cannot be
    decrypted (a missing key, or a record moved to another endpoint)."""
    return vault.decrypt(sealed.ciphertext, context=_context(endpoint_id))


def _context(endpoint_id: str) -> str:
    return f"webhook:{endpoint_id}"


def headers(
    *, message_id: str, timestamp: datetime, body: str, secrets: Sequence[str]
) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt of ``body`` signed with every secret of
    ``secrets`` (at least one), plus ``Content-Type: application/json``."""
    if not secrets:
        raise ValueError("a delivery needs a signing secret")
    signatures = [
        Webhook(s).sign(msg_id=message_id, timestamp=timestamp, data=body) for s in secrets
    ]
    return {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(math.floor(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
