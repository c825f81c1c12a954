"""Fixtures of the publisher's integration tests: a publisher on a paused queue of its own, so
the running publisher never races the test, and the sandbox's control API."""

from __future__ import annotations

import time

import pytest
from google.api_core.exceptions import NotFound as TaskNotFound
from google.cloud import tasks_v2

from sharecast.app import AppContext
from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.domain.statuses import Platform
from sharecast.posts.create import create_post
from sharecast.posts.plan import PostInput, TargetInput
from sharecast.publisher.pipeline import run_attempt
from sharecast.publisher.report import AttemptReport
from sharecast.shares.outcome import sync_share_target
from sharecast.store import posts as posts_store
from sharecast.tasks import PublishTask
from sharecast.timeutil import utcnow
from tests.conftest import PORTS
from tests.support.sandbox import Sandbox

QUEUE = "publish-direct"


#: The settle window after an unknown outcome in these tests, seconds: short, so a test can
#: deliver the existence check right after the attempt (tests of the window itself set theirs).
SETTLE_S = 0.2


@pytest.fixture
def settings() -> Settings:
    return Settings(
        tasks_queue=QUEUE,
        backoff_base_s=0.2,
        backoff_jitter=0,
        settle_windows={p.value: SETTLE_S for p in Platform},
    )


def check_unknown_outcome(pub: AppContext, post_id: str, target_id: str) -> AttemptReport:
    """Deliver the existence check of a target whose attempt ended with its outcome unknown
    (``PUBLISHING``, error ``UNCERTAIN``), once its settle window is over."""
    _, targets = posts_store.get_post(pub.db, post_id)
    target = next(t for t in targets if t.id == target_id)
    assert target.uncertain_cause is not None, target
    assert target.continue_at is not None, target
    delay = (target.continue_at - utcnow()).total_seconds()
    if delay > 0:
        time.sleep(delay + 0.05)
    task = PublishTask(
        post_id=post_id,
        target_id=target_id,
        attempt=target.attempts,
        generation=target.generation,
        step=target.step,
    )
    return run_attempt(pub, task=task)


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


def new_post(pub: AppContext, user_id: str, platform: str = "x", text: str | None = None):
    """Create and store a one-target post of ``user_id`` (no task queued); ``(post, target)``."""
    post, targets = create_post(
        pub,
        user_id=user_id,
        request=PostInput(
            content=text or f"hello from {user_id}",
            targets=[TargetInput(platform=platform)],
            media_ids=[],
            schedule_at=None,
            draft=False,
        ),
        now=utcnow(),
    )
    return post, targets[0]
