"""Token vault: platform credentials encrypted at rest with AES-256-GCM (``cryptography``).

Ciphertext format: ``v1.{kid}.{base64url(nonce(12) || ciphertext+tag)}``; the associated data
binds a ciphertext to its connection id, so a token copied to another record fails to decrypt.
Keys come from ``TOKEN_ENCRYPTION_KEYS`` as ``kid:base64url(32 bytes)`` pairs; the first one
encrypts, all of them decrypt, so keys can rotate.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sharecast.config import Settings
from sharecast.errors import InternalError


class VaultError(InternalError):
    """A ciphertext could not be decrypted (unknown key id, tampering, wrong record)."""

    code = "VAULT"

    def __str__(self) -> str:
        return self.detail


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenVault:
    """Encrypts and decrypts tokens. ``keys`` maps key id → 32-byte key; ``active`` encrypts."""

    def __init__(self, keys: dict[str, bytes], active: str) -> None:
        if active not in keys:
            raise ValueError("active key id not among keys")
        for kid, key in keys.items():
            if len(key) != 32 or "." in kid:
                raise ValueError(f"key {kid!r} must be 32 bytes and its id must not contain '.'")
        self._keys = {kid: AESGCM(key) for kid, key in keys.items()}
        self._active = active

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenVault:
        """Build from ``TOKEN_ENCRYPTION_KEYS``. Raises ``ValueError`` when unset or malformed."""
        if settings.token_encryption_keys is None:
            raise ValueError("TOKEN_ENCRYPTION_KEYS is not set")
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for pair in settings.token_encryption_keys.get_secret_value().split(","):
            kid, _, b64 = pair.strip().partition(":")
            keys[kid] = _b64d(b64)
            order.append(kid)
        return cls(keys, order[0])

    @staticmethod
    def generate_key() -> str:
        """A new random key, base64url-encoded, for ``TOKEN_ENCRYPTION_KEYS``."""
        return base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode().rstrip("=")

    def encrypt(self, plaintext: str, *, context: str) -> str:
        """Encrypt ``plaintext`` bound to ``context`` (the connection id)."""
        nonce = os.urandom(12)
        sealed = self._keys[self._active].encrypt(nonce, plaintext.encode(), context.encode())
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"v1.{self._active}.{body}"

    def decrypt(self, ciphertext: str, *, context: str) -> str:
        """Decrypt a value made by :meth:`encrypt` with the same ``context``.

        Raises :class:`VaultError` on any failure; the message never contains key material.
        """
        try:
            version, kid, body = ciphertext.split(".", 2)
            if version != "v1" or kid not in self._keys:
                raise VaultError(f"unknown key id {kid!r}")
            raw = _b64d(body)
            return self._keys[kid].decrypt(raw[:12], raw[12:], context.encode()).decode()
        except (ValueError, InvalidTag) as exc:
            raise VaultError("token cannot be decrypted") from exc
