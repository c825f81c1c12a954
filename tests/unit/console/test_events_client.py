"""The console's stream client (``console/lib/sharecast-events.js``): its unit tests run under
node's built-in test runner (``node --test``, no npm package needed)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def test_sharecast_events_unit_tests_pass_under_node():
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed for console/tests (Node.js 18+ from Debian or nodejs.org)")
    result = subprocess.run(
        [node, "--test", "console/tests/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout
