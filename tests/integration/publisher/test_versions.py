"""Versions tell a client whether it missed something: every version of a post or a
target that a client can see is the version of exactly one event, one apart, with nothing in
between. Checked on the event log (what the relay streams and replays) and on the stored
documents (what ``GET /posts/{id}`` answers), for a plain post and a multi-step one whose
connector saves its progress between events."""

from __future__ import annotations

import time

import pytest

from sharecast.app import AppContext
from sharecast.domain.statuses import PostStatus
from sharecast.posts.create import create_post
from sharecast.posts.plan import PostInput, TargetInput
from sharecast.store import posts as posts_store
from sharecast.timeutil import utcnow
from tests.integration.publisher.test_attempt import attempt
from tests.integration.publisher.test_network_steps import MP4, ig_pub, media_post, step
from tests.support.emulator_media import EmulatorMedia

pytestmark = pytest.mark.usefixtures("clean_stack")

__all__ = ["ig_pub"]  # the fixture, imported for this module's tests


def event_versions(pub: AppContext, user_id: str) -> dict[tuple[str, str], list[int]]:
    """Versions per resource, in event-id order: ``("post", id)`` / ``("target", id)``."""
    docs = pub.db.collection("users").document(user_id).collection("events").order_by("id")
    out: dict[tuple[str, str], list[int]] = {}
    for doc in docs.stream():
        event = doc.to_dict() or {}
        data = event["data"]
        key = ("post", data["post_id"]) if event["type"] == "post_status" else None
        if event["type"] == "target_status":
            key = ("target", f"{data['post_id']}/{data['target_id']}")
        if key is not None:
            out.setdefault(key, []).append(data["version"])
    return out


def assert_gapless(pub: AppContext, user_id: str, post_id: str) -> None:
    versions = event_versions(pub, user_id)
    post, targets = posts_store.get_post(pub.db, post_id)
    seen = versions[("post", post_id)]
    assert seen == list(range(1, len(seen) + 1)), f"post versions {seen}"
    assert post.version == seen[-1], "the stored post is at a version no event carries"
    for target in targets:
        got = versions[("target", f"{post_id}/{target.id}")]
        assert got == list(range(1, len(got) + 1)), f"{target.id} versions {got}"
        assert target.version == got[-1], f"{target.id} stored at a version no event carries"


def test_post_and_target_versions_have_no_gap(pub, user_id):
    post, targets = create_post(
        pub,
        user_id=user_id,
        request=PostInput(
            content=f"versions of {user_id}",
            targets=[TargetInput(platform="facebook"), TargetInput(platform="x")],
            media_ids=[],
            schedule_at=None,
            draft=False,
        ),
        now=utcnow(),
    )
    assert_gapless(pub, user_id, post.id)  # created and queued
    for target in targets:
        assert attempt(pub, post.id, target.id, 1).status == "SUCCESS"
    stored, _ = posts_store.get_post(pub.db, post.id)
    assert stored.status is PostStatus.PUBLISHED
    assert_gapless(pub, user_id, post.id)


def test_multi_step_progress_saves_do_not_skip_versions(ig_pub, sandbox, user_id):
    sandbox.settings(processing_polls=1)
    post, target = media_post(ig_pub, user_id, EmulatorMedia().put(MP4))
    step(ig_pub, post.id, target.id, 1)  # container created and saved, then "processing"
    time.sleep(0.3)
    assert step(ig_pub, post.id, target.id, 1, 1).status == "SUCCESS"
    versions = event_versions(ig_pub, user_id)[("target", f"{post.id}/{target.id}")]
    _, [final] = posts_store.get_post(ig_pub.db, post.id)
    # media_post stores the target without its creation event: the log starts at version 2.
    assert versions == list(range(2, final.version + 1)), versions
