"""Multi-step networks through the real publisher path (Firestore, the paused Cloud Tasks queue,
the stack's sandbox, media in the storage emulator): an Instagram reel whose container is
processing returns Pending, is continued by its named task, and after a lost publish response
the next attempt finds the post through the saved container instead of posting again.

Posts with media are stored with :func:`sharecast.store.posts.create_post` directly: until the
media branch lands, ``POST /posts/multipost`` refuses ``media`` (the request path is covered by
the validation tests)."""

from __future__ import annotations

import dataclasses
import time
import uuid

import pytest
import requests

from sharecast.app import AppContext
from sharecast.domain.models import PostRecord, TargetMedia, TargetRecord
from sharecast.domain.statuses import Platform, PostStatus
from sharecast.platforms.registry import build_connectors
from sharecast.publisher.pipeline import run_attempt
from sharecast.store import connections as connections_store
from sharecast.store import posts as posts_store
from sharecast.tasks import PublishTask
from sharecast.timeutil import utcnow
from tests.integration.publisher.conftest import check_unknown_outcome
from tests.integration.publisher.test_attempt import load, task_exists
from tests.support.emulator_media import EmulatorMedia

pytestmark = pytest.mark.usefixtures("clean_stack")

MP4 = b"\x00\x00\x00\x18ftypmp42" + b"v" * 30000


@pytest.fixture
def ig_pub(pub: AppContext) -> AppContext:
    settings = pub.settings.model_copy(update={"container_poll_s": 0.2})
    connectors = build_connectors(settings, requests.Session(), media=EmulatorMedia())
    return dataclasses.replace(pub, settings=settings, platform_connectors=connectors)


def media_post(pub: AppContext, user_id: str, item) -> tuple[PostRecord, TargetRecord]:
    now = utcnow()
    conn = connections_store.ensure_sandbox_connection(
        pub.db, vault=pub.vault, user_id=user_id, platform=Platform.INSTAGRAM, now=now
    )
    post_id = uuid.uuid4().hex
    target = TargetRecord(
        id="instagram-0",
        post_id=post_id,
        user_id=user_id,
        platform=Platform.INSTAGRAM,
        account_id=conn.account_id,
        connection_id=conn.id,
        media_type="REELS",
        text="A reel #sharecast",
        media=[TargetMedia(**dataclasses.asdict(item))],
        max_attempts=4,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    post = PostRecord(
        id=post_id,
        user_id=user_id,
        content=target.text,
        media_ids=[item.media_id],
        status=PostStatus.PUBLISHING,
        target_ids=[target.id],
        created_at=now,
        updated_at=now,
    )
    posts_store.create_post(pub.db, post=post, targets=[target], events=[], outbox=pub.outbox)
    return post, target


def containers(sandbox) -> list[dict]:
    response = sandbox.http.get(f"{sandbox.base_url}/_sandbox/containers", timeout=5)
    return response.json()["containers"]


def step(pub: AppContext, post_id: str, target_id: str, attempt: int, n: int = 0):
    return run_attempt(
        pub, task=PublishTask(post_id=post_id, target_id=target_id, attempt=attempt, step=n)
    )


def test_processing_container_is_continued_then_published(ig_pub, sandbox, user_id):
    sandbox.settings(processing_polls=1)
    item = EmulatorMedia().put(MP4)
    post, target = media_post(ig_pub, user_id, item)

    first = step(ig_pub, post.id, target.id, 1)
    assert (first.action, first.status) == ("START", "PUBLISHING")
    _, waiting = load(ig_pub, post.id)
    assert waiting.step_state["container"] == containers(sandbox)[0]["id"]
    assert task_exists(ig_pub, f"{post.id}-{target.id}-1-s1")

    time.sleep(0.3)
    done = step(ig_pub, post.id, target.id, 1, 1)
    assert (done.action, done.status) == ("CONTINUE", "SUCCESS")
    post, final = load(ig_pub, post.id)
    assert post.status is PostStatus.PUBLISHED
    assert final.attempts == 1
    assert [p["id"] for p in sandbox.ledger("instagram")] == [final.external_id]
    assert len(containers(sandbox)) == 1
    assert containers(sandbox)[0]["media_bytes"] == len(MP4)


def test_lost_publish_response_is_reconciled_through_the_saved_container(ig_pub, sandbox, user_id):
    sandbox.settings(processing_polls=0)
    sandbox.fault(platform="instagram", kind="accept_then_drop", times=1)
    item = EmulatorMedia().put(MP4)
    post, target = media_post(ig_pub, user_id, item)

    first = step(ig_pub, post.id, target.id, 1)
    assert first.status == "PUBLISHING"  # the connection dropped after Instagram published
    _, unknown = load(ig_pub, post.id)
    assert unknown.error is not None
    assert unknown.error.code == "UNCERTAIN"
    assert unknown.uncertain_cause is not None
    assert unknown.uncertain_cause.code == "NETWORK"
    assert unknown.uncertain_since is not None
    assert len(sandbox.ledger("instagram")) == 1

    second = check_unknown_outcome(ig_pub, post.id, target.id)
    assert second.status == "SUCCESS"
    _, final = load(ig_pub, post.id)
    assert [p["id"] for p in sandbox.ledger("instagram")] == [final.external_id]
    assert len(containers(sandbox)) == 1  # the container was reused, nothing made twice
