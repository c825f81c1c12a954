"""What one publish attempt costs against the real emulators, counted by wrapping the clients'
gRPC channels (tests/support/cost.py): one read and one commit to claim, one commit to record
with the post's rollup and the claim's published marks, one commit marking the record's
events; Pub/Sub publishes once per commit with events (issue 15 item 2)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from sharecast.app import AppContext
from sharecast.clients import Clients
from sharecast.posts.create import create_post
from sharecast.posts.plan import PostInput, TargetInput
from sharecast.publisher.pipeline import run_attempt
from sharecast.shares.outcome import sync_share_target
from sharecast.store import posts as posts_store
from sharecast.tasks import PublishTask
from sharecast.timeutil import utcnow
from tests.support.cost import Tally, counting_channels

pytestmark = pytest.mark.usefixtures("clean_stack")


@pytest.fixture
def counted(pub: AppContext) -> Iterator[tuple[AppContext, Tally]]:
    """A context on fresh clients whose channels count their calls (the Firestore client opens
    its channel on its first call, so the counting stays on for the whole test)."""
    tally = Tally()
    with counting_channels(tally):
        clients = Clients(pub.settings)
        yield (
            AppContext(
                settings=pub.settings, clients=clients, outcome_consumers=(sync_share_target,)
            ),
            tally,
        )


def two_target_post(ctx: AppContext, user_id: str):
    post, targets = create_post(
        ctx,
        user_id=user_id,
        request=PostInput(
            content=f"round trips of {user_id}",
            targets=[TargetInput(platform="facebook"), TargetInput(platform="x")],
            media_ids=[],
            schedule_at=None,
            draft=False,
        ),
        now=utcnow(),
    )
    return post, targets


def test_one_attempt_claims_and_records_in_one_commit_each(counted, user_id):
    ctx, tally = counted
    post, targets = two_target_post(ctx, user_id)
    for target in targets:
        before = tally.snapshot()
        task = PublishTask.next_for(target)  # as queued: it names the target's connection
        assert run_attempt(ctx, task=task).status == "SUCCESS"
        spent = tally.snapshot()
        spent.subtract(before)
        # claim: read target, post and connection at once, commit; record: commit (no read);
        # the record's events marked published: commit. The last target's record carries the
        # post's rollup (PUBLISHED) in the same commit.
        assert spent["fs_commits"] == 3, spent
        assert spent["fs_round_trips"] == 4, spent
        assert spent["fs_reads"] == 3, spent
        assert spent["pubsub_publishes"] == 2, spent
        assert spent["tasks_calls"] == 0, spent
    stored, _ = posts_store.get_post(ctx.db, post.id)
    assert stored.status.value == "PUBLISHED"


def test_targets_finishing_together_contend_without_failing(counted, user_id):
    """Both targets of a post record at the same moment: the post document is written by both
    (each ends its target), one wins and the other reads again and commits; neither fails, and
    the post ends PUBLISHED with exactly one PUBLISHED event."""
    ctx, _ = counted
    post, targets = two_target_post(ctx, user_id)
    reports = {}
    threads = [
        threading.Thread(
            target=lambda t=t: reports.update(
                {t.id: run_attempt(ctx, task=PublishTask(post.id, t.id, 1))}
            )
        )
        for t in targets
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {r.status for r in reports.values()} == {"SUCCESS"}
    stored, _ = posts_store.get_post(ctx.db, post.id)
    assert stored.status.value == "PUBLISHED"
    events = ctx.db.collection("users").document(user_id).collection("events").stream()
    published = [
        e.to_dict()
        for e in events
        if e.to_dict()["type"] == "post_status" and e.to_dict()["data"]["status"] == "PUBLISHED"
    ]
    assert len(published) == 1
