"""Chaos: 200 posts x 3 targets through the whole stack while the sandbox injects
transient errors, permanent errors, latency and 429s with wait headers, the publisher is
SIGKILLed mid-attempt three times and the relay restarted, and every user's webhook receiver
fails 30 % of deliveries; afterwards every target is terminal, nothing was posted twice, every
SUCCESS has the ledger's external id, every SSE client got the final status of each of its
targets and every event reached its user's webhook, verified, at least once. ``make bench``
runs a bigger one (tests/bench/bench_chaos.py)."""

from __future__ import annotations

import json
import os

import pytest

from infra.stack import Stack
from tests.conftest import PORTS
from tests.support.chaos import ChaosConfig, run_chaos

pytestmark = pytest.mark.usefixtures("clean_stack")

#: 200 by default (the issue's floor); a smaller number only to debug the run itself.
POSTS = int(os.environ.get("SHARECAST_CHAOS_POSTS", "200"))


@pytest.mark.timeout(1200)  # minutes on a loaded 2-core machine, not seconds
def test_chaos_every_target_terminal_nothing_posted_twice_every_client_told(stack: Stack):
    # Generous: the webhook deliveries (and their 30 % failures) double the emulators' work,
    # and the 2-core machine is shared.
    cfg = ChaosConfig(posts=POSTS, users=4, publisher_kills=3, timeout_s=600)
    result = run_chaos(stack, PORTS, cfg)
    counts = result.counts()
    print("chaos:", json.dumps(counts))
    assert result.posts == POSTS
    assert len(result.targets) == 3 * POSTS
    assert result.kills == 3
    assert result.problems() == []
    statuses = counts["statuses"]
    # The faults really fired: retries happened, and some targets failed for good.
    assert counts["attempts"] > len(result.targets)
    assert statuses.get("SUCCESS", 0) > 2 * POSTS
    assert statuses.get("FAILED", 0) > 0
    # The receivers really failed deliveries, and retries made up for every one of them.
    webhooks = counts["webhooks"]
    assert webhooks["events"] > 3 * POSTS
    assert webhooks["answered_503"] > 0.15 * webhooks["requests"]
    assert webhooks["unverified"] == 0
