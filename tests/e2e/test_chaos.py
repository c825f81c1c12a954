"""Chaos (issue 6): 200 posts x 3 targets through the whole stack while the sandbox injects
transient errors, permanent errors, latency and 429s with wait headers, the publisher is
SIGKILLed mid-attempt three times and the relay restarted; afterwards every target is terminal,
nothing was posted twice, every SUCCESS has the ledger's external id and every SSE client got
the final status of each of its targets. ``make bench`` runs a bigger one
(tests/bench/bench_chaos.py)."""

from __future__ import annotations

import json

import pytest

from infra.stack import Stack
from tests.conftest import PORTS
from tests.support.chaos import ChaosConfig, run_chaos

pytestmark = pytest.mark.usefixtures("clean_stack")


def test_chaos_every_target_terminal_nothing_posted_twice_every_client_told(stack: Stack):
    result = run_chaos(stack, PORTS, ChaosConfig(posts=200, users=4, publisher_kills=3))
    counts = result.counts()
    print("chaos:", json.dumps(counts))
    assert result.posts == 200
    assert len(result.targets) == 600
    assert result.kills == 3
    assert result.problems() == []
    statuses = counts["statuses"]
    # The faults really fired: retries happened, and some targets failed for good.
    assert counts["attempts"] > len(result.targets)
    assert statuses.get("SUCCESS", 0) > 400
    assert statuses.get("FAILED", 0) > 0
