"""The publisher's report back to a share record (``shares.outcome``) against the real
Firestore emulator: applied once however often it is delivered, and ignored for other rounds
and for ordinary posts."""

from __future__ import annotations

import pytest
from google.api_core.exceptions import NotFound
from google.cloud import tasks_v2

from sharecast.app import AppContext
from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.domain.shares import ShareMode, ShareStatus
from sharecast.domain.statuses import Platform, TargetStatus
from sharecast.posts.create import create_post
from sharecast.posts.plan import PostInput, TargetInput
from sharecast.shares.outcome import sync_share_target
from sharecast.shares.service import share_video
from sharecast.store import posts as posts_store
from sharecast.store import shares as shares_store
from sharecast.timeutil import utcnow

pytestmark = pytest.mark.usefixtures("clean_stack")


@pytest.fixture
def ctx() -> AppContext:
    # A queue nobody dispatches, so the running publisher never races the test.
    settings = Settings(tasks_queue="share-outcome-paused")
    clients = Clients(settings)
    parent = f"projects/{settings.google_cloud_project}/locations/{settings.tasks_location}"
    try:
        clients.tasks.get_queue(name=settings.queue_path)
    except NotFound:
        clients.tasks.create_queue(parent=parent, queue=tasks_v2.Queue(name=settings.queue_path))
    clients.tasks.pause_queue(name=settings.queue_path)
    return AppContext(settings=settings, clients=clients)


def test_outcome_is_applied_once_and_only_for_the_current_round(ctx: AppContext, user_id):
    [result] = share_video(
        ctx,
        user_id=user_id,
        video_id="vid1",
        platforms=[Platform.X],
        mode=ShareMode.SERVER_POST,
        force=False,
        message="hi",
        tags=[],
        now=utcnow(),
    )
    assert result.record_id is not None
    record = shares_store.get_shares(ctx.db, [result.record_id])[result.record_id]
    assert record.status is ShareStatus.PENDING
    assert record.post_id is not None
    _, [target] = posts_store.get_post(ctx.db, record.post_id)
    done = target.model_copy(
        update={
            "status": TargetStatus.SUCCESS,
            "attempts": 1,
            "external_id": "123",
            "version": target.version + 2,
        }
    )

    def sync(t) -> bool:
        return sync_share_target(ctx, t)

    def audit() -> list:
        return shares_store.list_audit(ctx.db, video_id="vid1", user_id=user_id, limit=50)

    before = len(audit())
    assert sync(done)
    assert sync(done)  # a redelivery
    assert sync(target)  # an older version arriving late
    after = shares_store.get_shares(ctx.db, [record.id])[record.id]
    assert (after.status, after.external_ref, after.attempt_count) == (
        ShareStatus.SUCCESS,
        "123",
        1,
    )
    assert len(audit()) == before + 1
    assert audit()[0].actor == "system"

    # a forced new round: the old round's target no longer touches the record
    share_video(
        ctx,
        user_id=user_id,
        video_id="vid1",
        platforms=[Platform.X],
        mode=ShareMode.SERVER_POST,
        force=True,
        message="again",
        tags=[],
        now=utcnow(),
    )
    forced = shares_store.get_shares(ctx.db, [record.id])[record.id]
    assert forced.status is ShareStatus.PENDING
    late = done.model_copy(update={"status": TargetStatus.FAILED, "version": done.version + 1})
    assert sync(late)
    assert shares_store.get_shares(ctx.db, [record.id])[record.id].status is ShareStatus.PENDING


def test_ordinary_posts_are_not_shares(ctx: AppContext, user_id):
    _, [target] = create_post(
        ctx,
        user_id=user_id,
        request=PostInput(
            content="plain post",
            targets=[TargetInput(platform="x")],
            media_ids=[],
            schedule_at=None,
            draft=False,
        ),
        now=utcnow(),
    )
    assert sync_share_target(ctx, target)
    assert list(ctx.db.collection("shares").stream()) == []
