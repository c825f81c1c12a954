"""The publisher's attempt cycle against real Firestore, Pub/Sub, Cloud Tasks emulators and the
platform sandbox. Tasks go to a paused queue so the running publisher never races the test."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import requests
from google.api_core.exceptions import NotFound as TaskNotFound
from google.cloud import tasks_v2

from sharecast.app import AppContext
from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.domain.statuses import Platform
from sharecast.platforms.base import PublishRequest
from sharecast.posts.create import create_post
from sharecast.posts.plan import PostInput, TargetInput
from sharecast.publisher.pipeline import run_attempt
from sharecast.store import posts as posts_store
from sharecast.store.connections import get_connection
from sharecast.tasks import PublishTask, enqueue_publish
from sharecast.timeutil import utcnow
from tests.conftest import PORTS
from tests.integration.publisher.conftest import check_unknown_outcome, new_post

pytestmark = pytest.mark.usefixtures("clean_stack")


def attempt(pub: AppContext, post_id: str, target_id: str, n: int):
    return run_attempt(pub, task=PublishTask(post_id=post_id, target_id=target_id, attempt=n))


def load(pub: AppContext, post_id: str):
    post, targets = posts_store.get_post(pub.db, post_id)
    return post, targets[0]


def events(pub: AppContext, user_id: str) -> list[dict]:
    docs = pub.db.collection("users").document(user_id).collection("events").order_by("id")
    return [d.to_dict() for d in docs.stream()]


def task_exists(pub: AppContext, task_id: str) -> bool:
    try:
        pub.tasks.get_task(name=f"{pub.settings.queue_path}/tasks/{task_id}")
    except TaskNotFound:
        return False
    return True


def test_success_records_ids_events_attempt_log_and_redelivery_is_noop(pub, sandbox, user_id):
    post, target = new_post(pub, user_id)
    report = attempt(pub, post.id, target.id, 1)
    assert (report.action, report.status) == ("START", "SUCCESS")
    post, target = load(pub, post.id)
    assert post.status.value == "PUBLISHED"
    ledger = sandbox.ledger(platform="x", account_id=target.account_id)
    assert [p["id"] for p in ledger] == [target.external_id]
    assert target.external_url
    assert target.external_id in target.external_url
    log = pub.db.collection("attempts").document(f"{post.id}-{target.id}-1").get().to_dict()
    assert log["outcome"] == "SUCCESS"
    assert log["duration_ms"] >= 0
    kinds = [(e["type"], e["data"]["status"]) for e in events(pub, user_id)]
    assert kinds == [
        ("post_status", "PUBLISHING"),
        ("target_status", "PENDING"),
        ("target_status", "PUBLISHING"),
        ("target_status", "SUCCESS"),
        ("post_status", "PUBLISHED"),
    ]
    assert all(e["published_at"] is not None for e in events(pub, user_id))
    versions = [e["data"]["version"] for e in events(pub, user_id) if e["type"] == "target_status"]
    assert versions == sorted(versions)
    again = attempt(pub, post.id, target.id, 1)
    assert again.action == "NOOP_TERMINAL"
    assert len(sandbox.ledger(platform="x", account_id=target.account_id)) == 1


def test_5xx_is_checked_then_retried_in_a_named_task(pub, sandbox, user_id):
    """A 5xx may come after the network stored the post: the attempt's outcome is unknown until
    the check after the settle window finds nothing; then the next attempt is queued."""
    post, target = new_post(pub, user_id)
    sandbox.fault(platform="x", account_id=target.account_id, kind="server_error", times=1)
    report = attempt(pub, post.id, target.id, 1)
    assert report.status == "PUBLISHING"
    _, target = load(pub, post.id)
    assert target.error is not None
    assert target.error.code == "UNCERTAIN"
    assert not task_exists(pub, f"{post.id}-{target.id}-2")
    assert check_unknown_outcome(pub, post.id, target.id).status == "RETRYING"
    _, target = load(pub, post.id)
    assert target.error is not None
    assert target.error.code == "PLATFORM_5XX"
    assert target.error.retryable is True
    assert (target.error.attempts, target.error.max_attempts) == (1, 4)
    assert task_exists(pub, f"{post.id}-{target.id}-2")
    time.sleep(0.3)  # next_attempt_at is 0.2 s ahead in these settings
    report = attempt(pub, post.id, target.id, 2)
    assert report.status == "SUCCESS"
    assert len(sandbox.ledger(platform="x", account_id=target.account_id)) == 1


def test_rate_limit_wait_hint_overrides_backoff(pub, sandbox, user_id):
    post, target = new_post(pub, user_id)
    sandbox.fault(
        platform="x", account_id=target.account_id, kind="rate_limit", times=1, retry_after_s=120
    )
    attempt(pub, post.id, target.id, 1)
    _, target = load(pub, post.id)
    assert target.error.code == "RATE_LIMITED"
    wait = (target.next_attempt_at - target.updated_at).total_seconds()
    assert 110 <= wait <= 125
    task = pub.tasks.get_task(name=f"{pub.settings.queue_path}/tasks/{post.id}-{target.id}-2")
    assert task.schedule_time.timestamp() == pytest.approx(
        target.next_attempt_at.timestamp(), abs=0.01
    )


def test_permanent_error_fails_without_retry(pub, sandbox, user_id):
    post, target = new_post(pub, user_id, platform="facebook")
    sandbox.fault(platform="facebook", account_id=target.account_id, kind="permanent", times=1)
    report = attempt(pub, post.id, target.id, 1)
    assert report.status == "FAILED"
    post, target = load(pub, post.id)
    assert post.status.value == "FAILED"
    assert target.error.retryable is False
    assert not task_exists(pub, f"{post.id}-{target.id}-2")


def test_attempts_are_bounded_by_max_attempts(pub, sandbox, user_id):
    post, target = new_post(pub, user_id)
    sandbox.fault(platform="x", account_id=target.account_id, kind="server_error")
    for n in range(1, 5):
        assert attempt(pub, post.id, target.id, n).status == "PUBLISHING"
        report = check_unknown_outcome(pub, post.id, target.id)
        time.sleep(0.2 * 2 ** (n - 1) + 0.05)
    assert report.status == "FAILED"
    _, target = load(pub, post.id)
    assert target.attempts == 4
    assert target.error.attempts == 4
    assert target.error.code == "PLATFORM_5XX"
    assert not task_exists(pub, f"{post.id}-{target.id}-5")


def test_live_lease_makes_redelivery_a_noop(pub, user_id):
    post, target = new_post(pub, user_id)
    posts_store.target_ref(pub.db, post.id, target.id).update(
        {
            "status": "PUBLISHING",
            "attempts": 1,
            "lease_id": "other",
            "lease_until": utcnow() + timedelta(seconds=60),
            "attempt_started_at": utcnow(),
        }
    )
    report = attempt(pub, post.id, target.id, 1)
    assert report.action == "NOOP_LEASED"
    assert report.redeliver is True  # the holder may have died: the queue must come back


def test_crash_after_platform_accepted_is_resolved_without_second_post(pub, sandbox, user_id):
    """A publisher died after the platform accepted the post: the lease expires, the task is
    redelivered, and reconciliation finds the post instead of posting again."""
    post, target = new_post(pub, user_id, platform="facebook")
    conn = get_connection(pub.db, target.connection_id)
    token = pub.vault.decrypt(conn.access_token_enc, context=conn.id)
    started = utcnow()
    posted = pub.connectors[Platform.FACEBOOK].publish(
        PublishRequest(account_id=target.account_id, text=target.text, target_key="crash"),
        access_token=token,
    )
    posts_store.target_ref(pub.db, post.id, target.id).update(
        {
            "status": "PUBLISHING",
            "attempts": 1,
            "lease_id": "dead-worker",
            "lease_until": utcnow() - timedelta(seconds=1),
            "attempt_started_at": started,
        }
    )
    report = attempt(pub, post.id, target.id, 1)
    assert (report.action, report.status) == ("RESUME", "SUCCESS")
    _, target = load(pub, post.id)
    assert target.external_id == posted.external_id
    assert len(sandbox.ledger(platform="facebook", account_id=target.account_id)) == 1


def test_lost_response_then_retry_finds_the_post(pub, sandbox, user_id):
    post, target = new_post(pub, user_id)
    sandbox.fault(platform="x", account_id=target.account_id, kind="accept_then_drop", times=1)
    first = attempt(pub, post.id, target.id, 1)
    assert first.status == "PUBLISHING"
    _, target = load(pub, post.id)
    assert target.uncertain_since is not None
    ledger = sandbox.ledger(platform="x", account_id=target.account_id)
    assert len(ledger) == 1
    assert check_unknown_outcome(pub, post.id, target.id).status == "SUCCESS"
    _, target = load(pub, post.id)
    assert target.external_id == ledger[0]["id"]
    assert len(sandbox.ledger(platform="x", account_id=target.account_id)) == 1


def test_duplicate_content_is_permanent(pub, sandbox, user_id):
    post, target = new_post(pub, user_id)
    sandbox.fault(platform="x", account_id=target.account_id, kind="duplicate", times=1)
    assert attempt(pub, post.id, target.id, 1).status == "FAILED"
    _, target = load(pub, post.id)
    assert target.error.code == "DUPLICATE_CONTENT"


def test_redelivered_failed_attempt_re_ensures_the_next_task(pub, sandbox, user_id):
    post, target = new_post(pub, user_id)
    sandbox.fault(platform="x", account_id=target.account_id, kind="server_error", times=1)
    attempt(pub, post.id, target.id, 1)
    check_unknown_outcome(pub, post.id, target.id)
    pub.tasks.delete_task(name=f"{pub.settings.queue_path}/tasks/{post.id}-{target.id}-2")
    # Cloud Tasks remembers deleted names, so the redelivery reports the task as existing:
    report = attempt(pub, post.id, target.id, 1)
    assert report.action == "ENSURE_NEXT"
    assert report.redeliver is False


def test_publisher_http_envelope(stack):
    url = f"http://127.0.0.1:{PORTS.publisher}/"
    settings = Settings()
    assert settings.internal_auth_secret is not None
    secret = settings.internal_auth_secret.get_secret_value()
    missing = requests.post(url, json={"post_id": "p", "target_id": "t", "attempt": 1}, timeout=5)
    assert missing.status_code == 401
    bad = requests.post(url, data="nope", headers={"X-Sharecast-Internal-Auth": secret}, timeout=5)
    assert bad.status_code == 400
    assert bad.headers["Content-Type"].startswith("application/problem+json")
    gone = requests.post(
        url,
        json={"post_id": "p", "target_id": "t", "attempt": 1},
        headers={"X-Sharecast-Internal-Auth": secret},
        timeout=5,
    )
    assert gone.status_code == 200
    assert gone.json()["action"] == "NOOP_MISSING"


def test_targets_finishing_together_roll_up_once(pub, sandbox, user_id):
    """Both targets of a post record at the same moment: the post ends PUBLISHED with exactly
    one PUBLISHED event, whichever rollup wins the race."""
    import threading

    post, targets = create_post(
        pub,
        user_id=user_id,
        request=PostInput(
            content="together",
            targets=[TargetInput(platform="facebook"), TargetInput(platform="x")],
            media_ids=[],
            schedule_at=None,
            draft=False,
        ),
        now=utcnow(),
    )
    reports = {}
    threads = [
        threading.Thread(target=lambda t=t: reports.update({t.id: attempt(pub, post.id, t.id, 1)}))
        for t in targets
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {r.status for r in reports.values()} == {"SUCCESS"}
    stored, _ = posts_store.get_post(pub.db, post.id)
    assert stored.status.value == "PUBLISHED"
    published = [
        e
        for e in events(pub, user_id)
        if e["type"] == "post_status" and e["data"]["status"] == "PUBLISHED"
    ]
    assert len(published) == 1


def test_redelivery_repairs_an_interrupted_rollup(pub, user_id):
    """A crash after the target was recorded but before the post was rolled up leaves the post
    PUBLISHING; the queue's redelivery (a no-op for the target) finishes the rollup."""
    post, target = new_post(pub, user_id)
    posts_store.target_ref(pub.db, post.id, target.id).update(
        {"status": "SUCCESS", "attempts": 1, "external_id": "1"}
    )
    report = attempt(pub, post.id, target.id, 1)
    assert report.action == "NOOP_TERMINAL"
    stored, _ = posts_store.get_post(pub.db, post.id)
    assert stored.status.value == "PUBLISHED"


def test_publisher_crash_mid_attempt_is_resumed_by_the_queue(pub, sandbox, user_id):
    """A publisher took the lease and died before it sent anything. The task's redelivery
    through the real Cloud Tasks emulator is answered 503 while the lease lives and resumes the
    attempt once it expires; its outcome is unknown, so it is checked after the settle window,
    found absent, and the next attempt publishes: exactly once, with no sweeper involved."""
    settings = Settings()  # the real "publish" queue, dispatched to the running publisher
    post, target = new_post(pub, user_id)
    posts_store.target_ref(pub.db, post.id, target.id).update(
        {
            "status": "PUBLISHING",
            "attempts": 1,
            "lease_id": "dead-publisher",
            "lease_until": utcnow() + timedelta(seconds=2),
            "attempt_started_at": utcnow(),
        }
    )
    enqueue_publish(
        pub.tasks,
        settings,
        PublishTask(post_id=post.id, target_id=target.id, attempt=1),
        schedule_at=None,
    )
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        _, current = load(pub, post.id)
        if current.status.value == "SUCCESS":
            break
        time.sleep(0.25)
    assert current.status.value == "SUCCESS"
    assert current.attempts == 2
    assert len(sandbox.ledger(platform="x", account_id=current.account_id)) == 1


def test_recorded_retry_whose_next_task_cannot_be_queued_answers_2xx_and_the_sweeper_repairs(
    pub, sandbox, user_id
):
    """docs/semantics.md#the-publisher: 5xx only when nothing was recorded. Cloud Tasks unreachable
    (a real client on a closed port) after the failure is recorded: 2xx, and the minutely sweep
    creates the task."""
    import dataclasses

    import grpc
    from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

    from sharecast.sweeper import steps
    from sharecast.sweeper.report import SweepReport

    post, target = new_post(pub, user_id)
    sandbox.fault(
        platform="x", account_id=target.account_id, kind="rate_limit", times=1, retry_after_s=0
    )
    dead = tasks_v2.CloudTasksClient(
        transport=CloudTasksGrpcTransport(channel=grpc.insecure_channel("127.0.0.1:9"))
    )
    clients = Clients(pub.settings)
    clients.tasks = dead  # the cached client replaced by one on a closed port
    report = attempt(dataclasses.replace(pub, clients=clients), post.id, target.id, 1)
    assert (report.status, report.redeliver) == ("RETRYING", False)
    assert "sweeper" in report.detail
    _, stored = load(pub, post.id)
    assert stored.status.value == "RETRYING"

    sweeper = AppContext(settings=pub.settings, clients=Clients(pub.settings))
    later = utcnow() + timedelta(seconds=pub.settings.sweep_grace_s + 30)
    swept = SweepReport(sweep="minutely")
    steps.resume_due_targets(sweeper, later, swept)
    assert swept.counts.get("retries_requeued") == 1, swept.counts
