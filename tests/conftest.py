"""Shared fixtures. The local stack (same code as ``make run``) starts once per session, on
ports offset by ``SHARECAST_TEST_PORT_OFFSET`` (default 10000) so a running ``make run`` does not
clash, and only when a test asks for it. State is reset between tests that use it. Importing this
module changes nothing: the environment that points clients at the stack's emulators is set by
the session fixture :func:`stack_environment` and restored after the session."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.localenv import SETTLE_NETWORKS, Ports, service_env
from infra.stack import Stack
from tests.support.sandbox import Sandbox

_OFFSET = int(os.environ.get("SHARECAST_TEST_PORT_OFFSET", "10000"))
PORTS = Ports.from_env(offset=_OFFSET)

# Windows shortened so tests need not wait minutes: the sweeper's (tests call the sweeper
# themselves: the test stack runs no scheduler loop) and the publisher's lease, which must stay
# well above the platform timeout (an attempt may not outlive its lease while it is sending).
# The settle window after an unknown outcome is shortened the same way, yet stays above what the
# chaos run's slow-network faults add beyond the client timeout (tests/support/chaos.py).
STACK_ENV = {
    "SWEEP_GRACE_S": "2",
    "OUTBOX_GRACE_S": "1",
    "LEASE_S": "10",
    "PLATFORM_HTTP_TIMEOUT_S": "4",
    # Webhook retries in seconds rather than minutes (docs/webhooks.md#delivery), and an endpoint
    # disabled after 30 s of failures rather than 5 days.
    "WEBHOOK_BACKOFF_BASE_S": "0.5",
    "WEBHOOK_BACKOFF_MAX_S": "2",
    "WEBHOOK_DISABLE_AFTER_S": "30",
    "SETTLE_WINDOWS": json.dumps({p: 8 for p in SETTLE_NETWORKS}),
}

_stack: Stack | None = None


@pytest.fixture(scope="session", autouse=True)
def stack_environment() -> Iterator[dict[str, str]]:
    """The environment of the stack's services, set for the whole session (restored after),
    so ``Settings()`` and the clients tests build talk to the test stack's emulators."""
    env = service_env(PORTS)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        yield env


@pytest.fixture(scope="session")
def stack(
    stack_environment: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The running local stack (emulators, Cloud Tasks emulator, sandbox, functions, relay)."""
    global _stack
    instance = Stack(PORTS, workdir=Path(tmp_path_factory.mktemp("stack")), extra_env=STACK_ENV)
    instance.start()
    _stack = instance
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture
def clean_stack(stack: Stack) -> Stack:
    """The stack with Firestore emptied, both queues purged and the sandbox reset."""
    from sharecast.clients import Clients
    from sharecast.config import Settings

    settings = Settings()
    tasks = Clients(settings).tasks
    tasks.purge_queue(name=settings.queue_path)
    tasks.purge_queue(name=settings.webhook_queue_path)
    stack.reset_firestore()
    Sandbox.of_stack(PORTS).reset()
    return stack


@pytest.fixture
def user_id() -> str:
    """A fresh user id per test, so tests never see each other's data."""
    return f"user-{uuid.uuid4().hex[:12]}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int) -> None:
    """On failure, show the tail of every service log of the stack (CI has nothing else)."""
    if exitstatus == 0 or _stack is None:
        return
    for log_file in sorted(_stack.logs.glob("*.log")):
        lines = log_file.read_text(errors="replace").splitlines()[-25:]
        terminalreporter.section(f"stack log: {log_file.name} (last {len(lines)} lines)")
        for line in lines:
            terminalreporter.write_line(line[:400])
