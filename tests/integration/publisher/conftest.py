"""Fixtures of the publisher's integration tests: a publisher on a paused queue of its own, so
the running publisher never races the test, and the sandbox's control API."""

from __future__ import annotations

import pytest
from google.api_core.exceptions import NotFound as TaskNotFound
from google.cloud import tasks_v2

from sharecast.app import AppContext
from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.shares.outcome import sync_share_target
from tests.conftest import PORTS
from tests.support.sandbox import Sandbox

QUEUE = "publish-direct"


@pytest.fixture
def settings() -> Settings:
    return Settings(tasks_queue=QUEUE, backoff_base_s=0.2, backoff_jitter=0)


@pytest.fixture
def pub(settings: Settings) -> AppContext:
    clients = Clients(settings)
    parent = f"projects/{settings.google_cloud_project}/locations/{settings.tasks_location}"
    try:
        clients.tasks.get_queue(name=settings.queue_path)
    except TaskNotFound:
        clients.tasks.create_queue(parent=parent, queue=tasks_v2.Queue(name=settings.queue_path))
    clients.tasks.pause_queue(name=settings.queue_path)
    clients.tasks.purge_queue(name=settings.queue_path)
    return AppContext(settings=settings, clients=clients, outcome_consumers=(sync_share_target,))


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox.of_stack(PORTS)
