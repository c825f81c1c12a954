"""Chaos: 200 posts x 3 targets through the whole stack while the sandbox injects 5xx,
permanent errors, latency, 429s with wait headers and the unknown outcomes (accept-then-drop,
accept-then-hang and a network slower than the client timeout, with the sandbox's duplicate
filter off), the publisher is SIGKILLed mid-attempt three times and the relay restarted, and
every user's webhook receiver fails 30 % of deliveries; afterwards nothing was posted twice, no
target is FAILED while its post exists, nothing is lost, every SUCCESS has the ledger's external
id, every SSE client got the final status of each of its targets and every event reached its
user's webhook, verified, at least once. ``make bench`` runs a bigger one
(tests/bench/bench_chaos.py)."""

from __future__ import annotations

import json
import os

import pytest

from infra.stack import Stack
from tests.conftest import PORTS, STACK_ENV
from tests.support.chaos import ChaosConfig, run_chaos

pytestmark = pytest.mark.usefixtures("clean_stack")

#: 200 by default (the issue's floor); a smaller number only to debug the run itself.
POSTS = int(os.environ.get("SHARECAST_CHAOS_POSTS", "200"))


@pytest.mark.timeout(1200)  # minutes on a loaded 2-core machine, not seconds
def test_chaos_every_target_terminal_nothing_posted_twice_every_client_told(stack: Stack):
    # Generous: the webhook deliveries (and their 30 % failures) double the emulators' work,
    # and the 2-core machine is shared.
    cfg = ChaosConfig(
        posts=POSTS,
        users=4,
        publisher_kills=3,
        client_timeout_s=float(STACK_ENV["PLATFORM_HTTP_TIMEOUT_S"]),
        timeout_s=600,
    )
    result = run_chaos(stack, PORTS, cfg)
    counts = result.counts()
    print("chaos:", json.dumps(counts))
    assert result.posts == POSTS
    assert len(result.targets) == 3 * POSTS
    assert result.kills == 3
    assert result.problems() == []
    assert result.figures() == {"duplicates_on_ledger": 0, "failed_but_posted": 0, "lost": 0}
    # The unknown outcomes really happened, and posts whose answer was lost were found.
    fired = counts["faults_fired"]
    assert fired["accept_then_drop"] > 0
    assert fired["accept_then_hang"] > 0
    assert fired["slow_network"] > 0
    assert counts["ledger_posts_whose_answer_was_lost"] > 0
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
