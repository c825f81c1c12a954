"""``make run`` keeps the stack up: a service that dies is restarted with a line saying so, and a
relay killed without a chance to clean up leaves no subscription behind and comes back with a
new one of its own (as a new Cloud Run instance would)."""

from __future__ import annotations

import io
import os
import signal
import time

import google.cloud.pubsub_v1 as pubsub_v1
import requests

from infra.__main__ import Supervisor
from infra.logtail import LogFollower
from infra.stack import Stack
from sharecast.relay.subscription import subscription_id


def relay_subscriptions(stack: Stack) -> set[str]:
    """Subscription ids on the status topic whose name marks them as a relay's."""
    client = pubsub_v1.PublisherClient()
    topic = client.topic_path(stack.project, "post-status")
    names = client.list_topic_subscriptions(request={"topic": topic}, timeout=30)
    return {name.rsplit("/", 1)[-1] for name in names if "/subscriptions/relay-" in name}


def test_a_killed_relay_is_restarted_with_a_fresh_subscription(stack: Stack) -> None:
    relay = stack.services["relay"]
    assert relay.process is not None
    assert relay.instance is not None
    before = relay.instance
    assert subscription_id(before) in relay_subscriptions(stack)

    out = io.StringIO()
    supervisor = Supervisor(stack, LogFollower(stack.logs, ["relay"], out=out))
    os.killpg(relay.process.pid, signal.SIGKILL)  # no SIGTERM: the relay cannot clean up
    relay.process.wait(timeout=30)
    assert stack.dead() == ["relay"]

    supervisor.check()  # restarts and waits until ready

    lines = out.getvalue()
    assert "exited with code -9; restarting" in lines
    assert f"restarted, ready on {relay.url}" in lines
    assert stack.dead() == []
    assert relay.instance is not None
    assert relay.instance != before
    assert requests.get(f"{relay.url}/healthz", timeout=30).status_code == 200
    # The relay creates its subscription while starting; the killed one's is gone.
    deadline = time.monotonic() + 60
    while subscription_id(relay.instance) not in relay_subscriptions(stack):
        assert time.monotonic() < deadline, "the new relay has no subscription"
        time.sleep(0.2)
    assert subscription_id(before) not in relay_subscriptions(stack)


def test_a_service_that_cannot_start_is_retried_later_not_fatal(stack: Stack) -> None:
    """A restart that fails is reported and retried with a delay; the stack keeps running."""
    sweeper = stack.services["sweeper"]
    assert sweeper.process is not None
    out = io.StringIO()
    supervisor = Supervisor(stack, LogFollower(stack.logs, ["sweeper"], out=out))
    argv = sweeper.argv
    sweeper.argv = ["false"]  # exits at once: the start fails
    try:
        os.killpg(sweeper.process.pid, signal.SIGKILL)
        sweeper.process.wait(timeout=30)
        supervisor.check()
        assert "restart failed" in out.getvalue()
        assert supervisor.failures == {"sweeper": 1}
        assert supervisor.not_before["sweeper"] > time.monotonic()
    finally:
        sweeper.argv = argv
    supervisor.not_before.clear()
    supervisor.check()
    assert "restarted, ready on" in out.getvalue()
    assert stack.dead() == []
    assert supervisor.failures == {}
