"""Who a bearer token belongs to, for networks whose create call names no account (X...).

The sandbox has no user database. A token ``sandbox:<id>`` or ``sandbox:<id>:<anything>`` belongs
to user ``<id>`` (letters, digits, ``_`` and ``-``), so a local stack can choose its account ids;
any other token belongs to a stable 19-digit id derived from its SHA-256.
"""

from __future__ import annotations

import hashlib
import re

_SANDBOX_TOKEN = re.compile(r"^sandbox:([A-Za-z0-9_-]{1,64})(?::.*)?$", re.DOTALL)


def user_id_for_token(token: str) -> str:
    """The user id the sandbox attributes ``token`` to."""
    match = _SANDBOX_TOKEN.match(token)
    if match:
        return match.group(1)
    digest = hashlib.sha256(token.encode()).digest()
    return str(10**18 + int.from_bytes(digest[:8], "big") % (9 * 10**18))


def bearer_token(authorization: str | None, schemes: tuple[str, ...] = ("bearer",)) -> str | None:
    """The credential of an ``Authorization: <scheme> <token>`` header, if the scheme is allowed."""
    if not authorization:
        return None
    scheme, _, credential = authorization.strip().partition(" ")
    if scheme.lower() not in schemes or not credential.strip():
        return None
    return credential.strip()
