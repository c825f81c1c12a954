"""Posts scheduled beyond Cloud Tasks' 30-day limit: saved without a task (and without
blocking anything), then given their task by the sweeper once they come within the horizon.
Against the real emulators; our Cloud Tasks emulator refuses schedule times past 30 days like
production does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from google.api_core.exceptions import NotFound as TaskNotFound

from sharecast.app import AppContext
from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.store import posts as posts_store
from sharecast.sweeper import steps
from sharecast.sweeper.report import SweepReport
from sharecast.tasks import SCHEDULE_HORIZON, PublishTask
from sharecast.timeutil import utcnow
from tests.conftest import PORTS
from tests.support.api import ApiClient

pytestmark = pytest.mark.usefixtures("clean_stack")


def task_exists(clients: Clients, settings: Settings, task: PublishTask) -> bool:
    try:
        clients.tasks.get_task(name=f"{settings.queue_path}/tasks/{task.task_id}")
    except TaskNotFound:
        return False
    return True


def create(api: ApiClient, at) -> dict:
    response = api.post(
        "/posts/multipost",
        json={
            "content": "far ahead",
            "platforms": [{"platform": "x"}],
            "scheduleAt": at.isoformat(),
        },
    )
    assert response.status_code == 202, response.text
    return response.json()


def test_a_post_beyond_the_horizon_is_saved_without_a_task_and_without_enqueue_pending(
    user_id: str,
):
    api = ApiClient(PORTS, user_id)
    far = create(api, utcnow() + timedelta(days=60))
    near = create(api, utcnow() + timedelta(days=2))
    assert far["enqueuePending"] is False
    assert near["enqueuePending"] is False
    settings = Settings()
    clients = Clients(settings)
    for created, exists in ((far, False), (near, True)):
        _, targets = posts_store.get_post(clients.firestore, created["postId"])
        assert task_exists(clients, settings, PublishTask.next_for(targets[0])) is exists
    # Nothing is left for the enqueue-pending sweep, so no far post can block it.
    report = SweepReport(sweep="minutely")
    steps.enqueue_pending_posts(AppContext(settings=settings, clients=clients), utcnow(), report)
    assert report.counts.get("enqueue_pending_found", 0) == 0


def test_the_sweeper_creates_the_task_when_the_target_comes_within_the_horizon(user_id: str):
    api = ApiClient(PORTS, user_id)
    at = utcnow() + SCHEDULE_HORIZON + timedelta(hours=12)  # < 30 days: the emulator accepts it
    created = create(api, at)
    settings = Settings()
    clients = Clients(settings)
    sweeper = AppContext(settings=settings, clients=clients)
    _, targets = posts_store.get_post(clients.firestore, created["postId"])
    task = PublishTask.next_for(targets[0])
    assert not task_exists(clients, settings, task)

    not_yet = SweepReport(sweep="minutely")
    steps.enqueue_upcoming_targets(sweeper, at - SCHEDULE_HORIZON - timedelta(hours=1), not_yet)
    assert not_yet.counts.get("upcoming_enqueued", 0) == 0
    assert not task_exists(clients, settings, task)

    crossing = at - SCHEDULE_HORIZON + timedelta(minutes=1)
    report = SweepReport(sweep="minutely")
    steps.enqueue_upcoming_targets(sweeper, crossing, report)
    assert report.counts["upcoming_enqueued"] == 1
    got = clients.tasks.get_task(name=f"{settings.queue_path}/tasks/{task.task_id}")
    assert abs(got.schedule_time.timestamp() - at.timestamp()) < 1

    again = SweepReport(sweep="minutely")
    steps.enqueue_upcoming_targets(sweeper, crossing + timedelta(minutes=1), again)
    assert again.counts.get("upcoming_enqueued", 0) == 0
    assert again.counts["tasks_already_there"] == 1
