"""Lifecycle operations when Cloud Tasks is unreachable: the new state is saved, the post is
marked ``enqueue_pending`` and the operation still succeeds; enqueueing later (what the sweeper
does) creates the task of the new generation. Real Firestore; a real Cloud Tasks client aimed at
a port where nothing listens."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest

from sharecast.app import AppContext
from sharecast.config import Settings
from sharecast.posts.create import create_post
from sharecast.posts.edit import PostEdit, edit_post, publish_post
from sharecast.posts.plan import PostInput, TargetInput
from sharecast.posts.queue import enqueue_targets
from sharecast.store import posts as posts_store
from sharecast.tasks import PublishTask
from sharecast.timeutil import utcnow

pytestmark = pytest.mark.usefixtures("clean_stack")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def services(settings: Settings) -> AppContext:
    return AppContext.build(settings)


@pytest.fixture
def working() -> AppContext:
    return services(Settings())


@pytest.fixture
def broken() -> AppContext:
    return services(Settings(cloud_tasks_emulator_host=f"127.0.0.1:{closed_port()}"))


def draft(svc: AppContext, user_id: str, **changes) -> str:
    request = PostInput(
        content="queued later",
        targets=[TargetInput(platform="x")],
        media_ids=[],
        schedule_at=None,
        draft=True,
    )
    post, _ = create_post(
        svc,
        user_id=user_id,
        request=request,
        now=utcnow(),
    )
    return post.id


def task_exists(svc: AppContext, task: PublishTask) -> bool:
    from google.api_core.exceptions import NotFound

    try:
        svc.tasks.get_task(name=f"{svc.settings.queue_path}/tasks/{task.task_id}")
    except NotFound:
        return False
    return True


def test_publish_now_with_cloud_tasks_down_is_saved_for_the_sweeper(working, broken, user_id):
    post_id = draft(working, user_id)
    change = publish_post(broken, post_id=post_id, user_id=user_id, now=utcnow())
    assert change.requeued is True
    assert (change.post.status.value, change.post.enqueue_pending) == ("PUBLISHING", True)
    stored, [target] = posts_store.get_post(working.db, post_id)
    assert stored.enqueue_pending is True
    assert stored.status.value == "PUBLISHING"
    assert target.generation == 1
    assert target.next_attempt_at is not None
    # What the sweeper does later: enqueue the next task of each target, in its generation.
    assert enqueue_targets(working, post=stored, targets=[target], now=utcnow())
    assert task_exists(working, PublishTask.next_for(target))
    assert posts_store.get_post(working.db, post_id)[0].enqueue_pending is False


def test_reschedule_with_cloud_tasks_down_keeps_the_new_schedule(working, broken, user_id):
    post_id = draft(working, user_id)
    at = utcnow() + timedelta(hours=1)
    edit = PostEdit(schedule_at=at, schedule_given=True, draft=False)
    change = edit_post(broken, post_id=post_id, user_id=user_id, edit=edit, now=utcnow())
    assert change.post.status.value == "SCHEDULED"
    stored, [target] = posts_store.get_post(working.db, post_id)
    assert (stored.schedule_at, stored.enqueue_pending) == (at, True)
    assert target.next_attempt_at == at
