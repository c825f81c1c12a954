"""Multi-step publishing through the real publisher path: a step that answers "still
processing" keeps the attempt, saves its state on the target, and is continued by a named
continuation task on the (paused) real queue; saves are refused once the lease is gone.

The connector here wraps the real X connector (over HTTP to the sandbox) with one preparatory
step, the shape of a container or an upload session.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime

import pytest

from sharecast.app import AppContext
from sharecast.domain.statuses import Platform
from sharecast.platforms.base import Pending, PublishRequest, PublishResult, StepLog
from sharecast.publisher.pipeline import run_attempt
from sharecast.publisher.step_log import LeaseLost, TargetSteps
from sharecast.store import posts as posts_store
from sharecast.tasks import PublishTask
from tests.integration.publisher.test_attempt import attempt, load, new_post, task_exists

pytestmark = pytest.mark.usefixtures("clean_stack")


@dataclasses.dataclass
class PreparedX:
    """X with a preparatory step: the first call saves a session and asks to come back."""

    inner: object
    platform: str = "x"
    calls: int = 0

    def publish(
        self, request: PublishRequest, *, access_token: str, steps: StepLog
    ) -> PublishResult | Pending:
        self.calls += 1
        if "session" not in steps.state:
            steps.save(session=f"s-{request.target_key}")
            return Pending(wait_s=0.2, reason="processing")
        return self.inner.publish(request, access_token=access_token)  # type: ignore[attr-defined]

    def find_existing(
        self, request: PublishRequest, *, access_token: str, since: datetime, steps: StepLog
    ) -> PublishResult | None:
        return self.inner.find_existing(request, access_token=access_token, since=since)  # type: ignore[attr-defined]


@pytest.fixture
def stepped(pub: AppContext) -> AppContext:
    connector = PreparedX(inner=pub.connectors[Platform.X])
    return dataclasses.replace(pub, platform_connectors={Platform.X: connector})


def test_pending_step_keeps_the_attempt_and_queues_its_continuation(stepped, sandbox, user_id):
    post, target = new_post(stepped, user_id)
    report = attempt(stepped, post.id, target.id, 1)
    assert (report.action, report.status, report.redeliver) == (
        "START",
        "PUBLISHING",
        False,
    )
    _, waiting = load(stepped, post.id)
    assert (waiting.attempts, waiting.step, waiting.lease_id) == (1, 1, None)
    assert waiting.step_state == {"session": f"s-{post.id}/{target.id}"}
    assert waiting.continue_at is not None
    assert task_exists(stepped, f"{post.id}-{target.id}-1-s1")
    assert (
        stepped.db.collection("attempts").document(f"{post.id}-{target.id}-1").get().exists is False
    )

    # The first task delivered again: the step is recorded, so it only re-ensures the
    # continuation (idempotent on the task name) and calls nothing.
    again = attempt(stepped, post.id, target.id, 1)
    assert again.action == "ENSURE_CONTINUATION"
    assert stepped.connectors[Platform.X].calls == 1

    time.sleep(0.3)
    done = run_attempt(
        stepped, task=PublishTask(post_id=post.id, target_id=target.id, attempt=1, step=1)
    )
    assert (done.action, done.status) == ("CONTINUE", "SUCCESS")
    post, final = load(stepped, post.id)
    assert post.status.value == "PUBLISHED"
    assert final.attempts == 1
    assert [p["id"] for p in sandbox.ledger(platform="x")] == [final.external_id]
    log = stepped.db.collection("attempts").document(f"{post.id}-{target.id}-1").get().to_dict()
    assert log["outcome"] == "SUCCESS"

    # Late duplicates of either task change nothing.
    for step in (0, 1):
        late = run_attempt(
            stepped, task=PublishTask(post_id=post.id, target_id=target.id, attempt=1, step=step)
        )
        assert late.action == "NOOP_TERMINAL"
    assert len(sandbox.ledger(platform="x")) == 1


def test_early_continuation_comes_back_later(stepped, user_id):
    post, target = new_post(stepped, user_id)
    attempt(stepped, post.id, target.id, 1)
    stepped.db.document(f"posts/{post.id}/targets/{target.id}").update(
        {"continue_at": datetime(2100, 1, 1, tzinfo=UTC)}
    )
    early = run_attempt(
        stepped, task=PublishTask(post_id=post.id, target_id=target.id, attempt=1, step=1)
    )
    assert (early.action, early.redeliver) == ("NOOP_EARLY", True)


def test_a_save_without_the_lease_is_refused(stepped, user_id):
    post, _ = new_post(stepped, user_id)
    fresh = posts_store.read_target(stepped.db, post.id, "x-0")
    steps = TargetSteps(
        stepped.db, known=fresh, lease_id="not-the-holder", lease_s=30, outbox=stepped.outbox
    )
    with pytest.raises(LeaseLost):
        steps.save(session="x")
    assert load(stepped, post.id)[1].step_state == {}


def test_a_list_changed_in_place_and_saved_again_is_stored(stepped, user_id):
    """A connector that appends to the list it saved and saves it again (X's chunked upload
    does) gets the new list stored: the save compares against the record, which must not share
    the connector's objects (an X video was finalized with no segment appended)."""
    post, _ = new_post(stepped, user_id)
    stepped.db.document(f"posts/{post.id}/targets/x-0").update({"lease_id": "mine"})
    steps = TargetSteps(
        stepped.db,
        known=posts_store.read_target(stepped.db, post.id, "x-0"),
        lease_id="mine",
        lease_s=30,
        outbox=stepped.outbox,
    )
    entries = [{"segment": 0}]
    steps.save(uploads=entries)
    entries[0] = {"segment": 1}
    entries.append({"segment": 0})
    steps.save(uploads=entries)
    assert load(stepped, post.id)[1].step_state == {"uploads": [{"segment": 1}, {"segment": 0}]}
    state = steps.state
    state["uploads"].append({"segment": 9})
    assert steps.state == {"uploads": [{"segment": 1}, {"segment": 0}]}
