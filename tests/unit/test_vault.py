import pytest
from pydantic import SecretStr

from sharecast.config import Settings
from sharecast.vault import TokenVault, VaultError


def make(keys: str) -> TokenVault:
    return TokenVault.from_settings(Settings(token_encryption_keys=SecretStr(keys)))


def test_roundtrip_and_ciphertext_hides_token():
    key = TokenVault.generate_key()
    vault = make(f"k1:{key}")
    sealed = vault.encrypt("access-token-123", context="conn-1")
    assert "access-token-123" not in sealed
    assert sealed.startswith("v1.k1.")
    assert vault.decrypt(sealed, context="conn-1") == "access-token-123"
    assert vault.encrypt("same", context="c") != vault.encrypt("same", context="c")


def test_bound_to_context():
    vault = make(f"k1:{TokenVault.generate_key()}")
    sealed = vault.encrypt("t", context="conn-1")
    with pytest.raises(VaultError):
        vault.decrypt(sealed, context="conn-2")


def test_tampering_detected():
    vault = make(f"k1:{TokenVault.generate_key()}")
    sealed = vault.encrypt("t", context="c")
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(VaultError):
        vault.decrypt(tampered, context="c")


def test_rotation_old_key_still_decrypts_new_key_encrypts():
    old, new = TokenVault.generate_key(), TokenVault.generate_key()
    sealed_old = make(f"k1:{old}").encrypt("t", context="c")
    rotated = make(f"k2:{new},k1:{old}")
    assert rotated.decrypt(sealed_old, context="c") == "t"
    assert rotated.encrypt("t", context="c").startswith("v1.k2.")
    with pytest.raises(VaultError):
        make(f"k2:{new}").decrypt(sealed_old, context="c")


def test_bad_keys_refused():
    with pytest.raises(ValueError):
        make("k1:c2hvcnQ")
    with pytest.raises(ValueError):
        TokenVault.from_settings(Settings(token_encryption_keys=None))
