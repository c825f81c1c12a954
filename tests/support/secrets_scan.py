"""Patterns of credentials that must never appear in any log line."""

from __future__ import annotations

import re
from pathlib import Path

from infra.localenv import DEV_INTERNAL_SECRET, DEV_JWT_SECRET, DEV_TOKEN_KEY

PATTERNS = {
    "jwt": re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
    "bearer": re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]{12,}"),
    "sandbox_access_token": re.compile(r"sandbox:[A-Za-z0-9_-]{1,64}:[A-Za-z0-9_-]{16,}"),
    "signed_url": re.compile(r"(?i)x-goog-signature=[0-9a-f]{16,}"),
    "dev_secret": re.compile(
        "|".join(re.escape(s) for s in (DEV_JWT_SECRET, DEV_INTERNAL_SECRET, DEV_TOKEN_KEY))
    ),
}


def find_secrets(text: str) -> list[tuple[str, str]]:
    """``(pattern name, matched text shortened)`` for every credential found in ``text``."""
    return [
        (name, m.group(0)[:24] + "…") for name, rx in PATTERNS.items() for m in rx.finditer(text)
    ]


#: Logs not written by Sharecast code: the third-party Cloud Storage emulator prints every
#: request line (signed URLs included) to stdout; in production that is Google's own service.
NOT_OURS = {"storage.log"}


def scan_logs(directory: Path) -> dict[str, list[tuple[str, str]]]:
    """Credentials found in each ``*.log`` file of ``directory`` (file name => findings)."""
    found = {}
    for path in sorted(directory.glob("*.log")):
        if path.name in NOT_OURS:
            continue
        hits = find_secrets(path.read_text(errors="replace"))
        if hits:
            found[path.name] = hits[:5]
    return found
