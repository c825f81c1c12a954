"""Unknown outcomes against the real emulators and the sandbox
(docs/semantics.md#exactly-once-and-uncertain): a network slower than the client timeout, a
response lost after the network stored the post, an unknown outcome on the last allowed attempt,
a crash, and a duplicate answer that names the post. Tasks go to a paused queue; the test
delivers each one itself, so every step is explicit.

The settle window is short here (``SETTLE``) and the client timeout 1 s, so a latency fault of
2.5 s lands the post after the publisher gave up and before the check."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from sharecast.app import AppContext
from sharecast.config import Settings
from sharecast.domain.statuses import Platform
from sharecast.platforms.base import MemoryStepLog, PublishRequest
from sharecast.publisher.pipeline import run_attempt
from sharecast.store import posts as posts_store
from sharecast.store.connections import get_connection
from sharecast.tasks import PublishTask
from sharecast.timeutil import utcnow
from tests.integration.publisher.conftest import QUEUE, new_post
from tests.support.sandbox import Sandbox

pytestmark = pytest.mark.usefixtures("clean_stack")

#: Seconds the publisher waits after an unknown outcome before it checks the network.
SETTLE = 3.0


@pytest.fixture
def settings() -> Settings:
    return Settings(
        tasks_queue=QUEUE,
        backoff_base_s=0.2,
        backoff_jitter=0,
        platform_http_timeout_s=1.0,
        settle_windows={p.value: SETTLE for p in Platform},
    )


def deliver(pub: AppContext, post_id: str, target_id: str, attempt: int, step: int = 0):
    task = PublishTask(post_id=post_id, target_id=target_id, attempt=attempt, step=step)
    return run_attempt(pub, task=task)


def load(pub: AppContext, post_id: str):
    post, targets = posts_store.get_post(pub.db, post_id)
    return post, targets[0]


def target_events(pub: AppContext, user_id: str) -> list[dict]:
    docs = pub.db.collection("users").document(user_id).collection("events").order_by("id")
    return [d.to_dict()["data"] for d in docs.stream() if d.to_dict()["type"] == "target_status"]


def wait_until(moment, slack_s: float = 0.3) -> None:
    """Sleep until ``moment`` (UTC) has passed: the check is due only then."""
    delay = (moment - utcnow()).total_seconds() + slack_s
    if delay > 0:
        time.sleep(delay)


def test_network_slower_than_the_client_timeout_gets_the_post_once(pub, sandbox, user_id):
    """Issue 14 item 1: the first attempt times out while the network is still working on it;
    the post lands after the publisher gave up. The target waits out the settle window, then
    finds the post instead of sending it again."""
    sandbox.reset(duplicate_detection=False)  # nothing but Sharecast stands between us and a double
    post, target = new_post(pub, user_id)
    sandbox.fault(
        platform="x", account_id=target.account_id, kind="latency", latency_ms=2500, times=1
    )
    first = deliver(pub, post.id, target.id, 1)
    assert first.status == "PUBLISHING"  # the attempt goes on: its outcome is unknown
    _, waiting = load(pub, post.id)
    assert waiting.error is not None
    assert waiting.error.code == "UNCERTAIN"
    assert waiting.error.retryable is True
    assert waiting.continue_at is not None
    assert waiting.continue_at >= waiting.updated_at + timedelta(seconds=SETTLE - 0.01)
    early = deliver(pub, post.id, target.id, 1, step=waiting.step)
    assert early.action == "NOOP_EARLY"  # no check before the settle window ends
    wait_until(waiting.continue_at)
    done = deliver(pub, post.id, target.id, 1, step=waiting.step)
    assert (done.action, done.status) == ("CONTINUE", "SUCCESS")
    ledger = sandbox.ledger(platform="x", account_id=target.account_id)
    assert len(ledger) == 1
    _, final = load(pub, post.id)
    assert final.external_id == ledger[0]["id"]
    assert final.attempts == 1
    assert final.error is None


def test_the_uncertain_wait_is_shown_live(pub, sandbox, user_id):
    """The user sees the unknown outcome as it happens: a target_status event with the target
    still PUBLISHING and error UNCERTAIN saying when it checks, then SUCCESS. Every version
    from the first to the last has its event (no gap)."""
    post, target = new_post(pub, user_id)
    sandbox.fault(platform="x", account_id=target.account_id, kind="accept_then_drop", times=1)
    deliver(pub, post.id, target.id, 1)
    _, waiting = load(pub, post.id)
    wait_until(waiting.continue_at)
    assert deliver(pub, post.id, target.id, 1, step=waiting.step).status == "SUCCESS"
    seen = target_events(pub, user_id)
    uncertain = [e for e in seen if (e["error"] or {}).get("code") == "UNCERTAIN"]
    assert uncertain
    assert uncertain[0]["status"] == "PUBLISHING"
    assert uncertain[0]["error"]["retry_after_s"] == pytest.approx(SETTLE)
    assert seen[-1]["status"] == "SUCCESS"
    versions = [e["version"] for e in seen]
    assert versions == list(range(1, len(versions) + 1))


def test_unknown_outcome_on_the_last_attempt_is_checked_not_failed(pub, sandbox, user_id):
    """Issue 13 item 8: the only allowed attempt lost its response after the network stored the
    post. The target must not end FAILED while the post exists: the check finds it."""
    pub = AppContext(
        settings=pub.settings.model_copy(update={"max_attempts": 1}),
        clients=pub.clients,
        outcome_consumers=pub.outcome_consumers,
    )
    post, target = new_post(pub, user_id, platform="facebook")
    assert target.max_attempts == 1
    sandbox.fault(
        platform="facebook", account_id=target.account_id, kind="accept_then_drop", times=1
    )
    first = deliver(pub, post.id, target.id, 1)
    assert first.status == "PUBLISHING"
    _, waiting = load(pub, post.id)
    wait_until(waiting.continue_at)
    assert deliver(pub, post.id, target.id, 1, step=waiting.step).status == "SUCCESS"
    stored, final = load(pub, post.id)
    assert stored.status.value == "PUBLISHED"
    ledger = sandbox.ledger(platform="facebook", account_id=target.account_id)
    assert [p["id"] for p in ledger] == [final.external_id]


def test_unknown_outcome_on_the_last_attempt_without_a_post_fails_with_its_cause(
    pub, sandbox, user_id
):
    """The network answered 5xx to the last attempt and stored nothing: after the settle window
    the check finds nothing, and only then the target fails, with the 5xx as its error."""
    pub = AppContext(
        settings=pub.settings.model_copy(update={"max_attempts": 1}),
        clients=pub.clients,
        outcome_consumers=pub.outcome_consumers,
    )
    post, target = new_post(pub, user_id)
    sandbox.fault(platform="x", account_id=target.account_id, kind="server_error", times=1)
    assert deliver(pub, post.id, target.id, 1).status == "PUBLISHING"
    _, waiting = load(pub, post.id)
    wait_until(waiting.continue_at)
    assert deliver(pub, post.id, target.id, 1, step=waiting.step).status == "FAILED"
    _, final = load(pub, post.id)
    assert final.error is not None
    assert final.error.code == "PLATFORM_5XX"
    assert "no post" in final.error.message
    assert sandbox.ledger(platform="x", account_id=target.account_id) == []


def test_a_check_that_finds_nothing_lets_the_next_attempt_send(pub, sandbox, user_id):
    """Attempts remain: the unknown attempt is resolved as failed after the check, and the next
    attempt (which looks once more first) sends the post."""
    post, target = new_post(pub, user_id)
    sandbox.fault(platform="x", account_id=target.account_id, kind="server_error", times=1)
    deliver(pub, post.id, target.id, 1)
    _, waiting = load(pub, post.id)
    wait_until(waiting.continue_at)
    assert deliver(pub, post.id, target.id, 1, step=waiting.step).status == "RETRYING"
    _, retrying = load(pub, post.id)
    wait_until(retrying.next_attempt_at)
    assert deliver(pub, post.id, target.id, 2).status == "SUCCESS"
    assert len(sandbox.ledger(platform="x", account_id=target.account_id)) == 1


def test_a_crashed_attempt_is_checked_only_after_the_settle_window(pub, sandbox, user_id):
    """A publisher died mid-request; the lease just expired, but the network may still be
    processing what it sent. The resumed delivery waits out the settle window (counted from the
    lease's end) before it looks."""
    post, target = new_post(pub, user_id, platform="facebook")
    conn = get_connection(pub.db, target.connection_id)
    token = pub.vault.decrypt(conn.access_token_enc, context=conn.id)
    expired = utcnow() - timedelta(seconds=0.5)
    posts_store.target_ref(pub.db, post.id, target.id).update(
        {
            "status": "PUBLISHING",
            "attempts": 1,
            "lease_id": "dead-publisher",
            "lease_until": expired,
            "attempt_started_at": expired - timedelta(seconds=5),
        }
    )
    resumed = deliver(pub, post.id, target.id, 1)
    assert (resumed.action, resumed.status) == ("RESUME", "PUBLISHING")
    _, waiting = load(pub, post.id)
    assert waiting.error is not None
    assert waiting.error.code == "UNCERTAIN"
    assert waiting.continue_at >= expired + timedelta(seconds=SETTLE - 0.01)
    # The dead publisher's request lands late, inside the settle window.
    posted = pub.connectors[Platform.FACEBOOK].publish(
        PublishRequest(account_id=target.account_id, text=target.text, target_key="late"),
        access_token=token,
        steps=MemoryStepLog(),
    )
    wait_until(waiting.continue_at)
    assert deliver(pub, post.id, target.id, 1, step=waiting.step).status == "SUCCESS"
    _, final = load(pub, post.id)
    assert final.external_id == posted.external_id
    assert len(sandbox.ledger(platform="facebook", account_id=target.account_id)) == 1


def test_duplicate_answer_naming_the_post_after_an_unknown_outcome_is_success(
    pub, sandbox: Sandbox, user_id
):
    """LinkedIn names the post a duplicate repeats. After an earlier attempt whose outcome was
    unknown, that answer means "already posted, here it is": SUCCESS with that post."""
    post, target = new_post(pub, user_id, platform="linkedin", text=f"dup of {user_id}")
    conn = get_connection(pub.db, target.connection_id)
    token = pub.vault.decrypt(conn.access_token_enc, context=conn.id)
    earlier = pub.connectors[Platform.LINKEDIN].publish(
        PublishRequest(account_id=target.account_id, text=target.text, target_key="earlier"),
        access_token=token,
        steps=MemoryStepLog(),
    )
    # Attempt 1 ended with its outcome unknown before it reached the post call (nothing saved
    # in its steps), and its check found nothing: attempt 2 sends, and LinkedIn refuses it.
    posts_store.target_ref(pub.db, post.id, target.id).update(
        {
            "status": "RETRYING",
            "attempts": 1,
            "uncertain_since": utcnow() - timedelta(seconds=30),
            "next_attempt_at": utcnow(),
        }
    )
    report = deliver(pub, post.id, target.id, 2)
    assert report.status == "SUCCESS"
    _, final = load(pub, post.id)
    assert final.external_id == earlier.external_id
    assert final.external_url
    posted = [p for p in sandbox.ledger(platform="linkedin") if p["text"] == target.text]
    assert [p["id"] for p in posted] == [earlier.external_id]
