"""Crash safety of the publisher over its real HTTP envelope: a delivery while another attempt
holds a live lease records nothing and answers 5xx; once the lease expires the redelivery
resumes the attempt without posting twice (the sandbox ledger is the proof); every recorded
outcome answers 2xx."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import requests

from infra.localenv import HOST
from sharecast.app import AppContext
from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.domain.statuses import Platform
from sharecast.platforms.base import PublishRequest
from sharecast.shares.outcome import sync_share_target
from sharecast.store import posts as posts_store
from sharecast.store.connections import get_connection
from sharecast.tasks import INTERNAL_AUTH_HEADER, PublishTask
from sharecast.timeutil import utcnow
from tests.conftest import PORTS
from tests.integration.publisher.conftest import new_post
from tests.support.sandbox import Sandbox

pytestmark = pytest.mark.usefixtures("clean_stack")


@pytest.fixture
def pub() -> AppContext:
    # Tasks of these posts go to a paused queue so only the test delivers them.
    settings = Settings(tasks_queue="publish-direct")
    clients = Clients(settings)
    from google.api_core.exceptions import NotFound as QueueMissing
    from google.cloud import tasks_v2

    try:
        clients.tasks.get_queue(name=settings.queue_path)
    except QueueMissing:
        parent = f"projects/{settings.google_cloud_project}/locations/{settings.tasks_location}"
        clients.tasks.create_queue(parent=parent, queue=tasks_v2.Queue(name=settings.queue_path))
    clients.tasks.pause_queue(name=settings.queue_path)
    clients.tasks.purge_queue(name=settings.queue_path)
    return AppContext(settings=settings, clients=clients, outcome_consumers=(sync_share_target,))


def deliver(task: PublishTask) -> requests.Response:
    configured = Settings().internal_auth_secret
    assert configured is not None
    secret = configured.get_secret_value()
    return requests.post(
        f"http://{HOST}:{PORTS.publisher}/",
        data=task.body(),
        headers={"Content-Type": "application/json", INTERNAL_AUTH_HEADER: secret},
        timeout=30,
    )


def recorded(pub: AppContext, post_id: str, user_id: str) -> tuple[dict, int, int]:
    """(target document, number of events, number of attempt-log rows) of the post."""
    target = posts_store.target_ref(pub.db, post_id, "facebook-0").get().to_dict() or {}
    events = len(list(pub.db.collection("users").document(user_id).collection("events").stream()))
    attempts = sum(
        1
        for d in pub.db.collection("attempts").stream()
        if (d.to_dict() or {}).get("post_id") == post_id
    )
    return target, events, attempts


def test_live_lease_records_nothing_then_expiry_resumes_without_a_second_post(pub, user_id):
    """A publisher posted to Facebook and died holding the lease. The redelivery during the
    lease is a 503 that changes nothing; after expiry it finds the post instead of sending."""
    sandbox = Sandbox.of_stack(PORTS)
    post, target = new_post(pub, user_id, platform="facebook", text=f"lease test {user_id}")
    conn = get_connection(pub.db, target.connection_id)
    started = utcnow()
    posted = pub.connectors[Platform.FACEBOOK].publish(
        PublishRequest(account_id=target.account_id, text=target.text, target_key="dead"),
        access_token=pub.vault.decrypt(conn.access_token_enc, context=conn.id),
    )
    ref = posts_store.target_ref(pub.db, post.id, target.id)
    ref.update(
        {
            "status": "PUBLISHING",
            "attempts": 1,
            "lease_id": "dead-publisher",
            "lease_until": utcnow() + timedelta(seconds=60),
            "attempt_started_at": started,
        }
    )
    before = recorded(pub, post.id, user_id)
    task = PublishTask(post_id=post.id, target_id=target.id, attempt=1)

    live = deliver(task)
    assert live.status_code == 503
    assert live.json()["action"] == "NOOP_LEASED"
    assert recorded(pub, post.id, user_id) == before

    ref.update({"lease_until": utcnow() - timedelta(seconds=1)})
    resumed = deliver(task)
    assert resumed.status_code == 200
    # The dead publisher's request may still be in flight: the check waits out the settle
    # window (the running stack's SETTLE_WINDOWS) from the lease's end, as its own step.
    assert (resumed.json()["action"], resumed.json()["status"]) == ("RESUME", "PUBLISHING")
    waiting, _, _ = recorded(pub, post.id, user_id)
    assert waiting["error"]["code"] == "UNCERTAIN"
    # The running publisher queued the check for the end of the window and runs it itself.
    deadline = time.monotonic() + 60
    while recorded(pub, post.id, user_id)[0]["status"] != "SUCCESS":
        assert time.monotonic() < deadline, "the check never ran"
        time.sleep(0.25)
    final, _, attempts = recorded(pub, post.id, user_id)
    assert final["external_id"] == posted.external_id
    assert attempts == 1
    assert len(sandbox.ledger(platform="facebook", account_id=target.account_id)) == 1
    assert deliver(task).json()["action"] == "NOOP_TERMINAL"


def test_recorded_outcomes_answer_2xx_and_no_ops_that_must_come_back_5xx(pub, user_id):
    sandbox = Sandbox.of_stack(PORTS)
    post, target = new_post(pub, user_id, platform="facebook", text=f"lease test {user_id}")
    early = PublishTask(post_id=post.id, target_id=target.id, attempt=1)
    posts_store.target_ref(pub.db, post.id, target.id).update(
        {"next_attempt_at": utcnow() + timedelta(hours=1)}
    )
    before = recorded(pub, post.id, user_id)
    response = deliver(early)
    assert (response.status_code, response.json()["action"]) == (503, "NOOP_EARLY")
    assert recorded(pub, post.id, user_id) == before

    posts_store.target_ref(pub.db, post.id, target.id).update({"next_attempt_at": utcnow()})
    sandbox.fault(platform="facebook", kind="permanent", times=1)
    failed = deliver(early)
    assert (failed.status_code, failed.json()["status"]) == (200, "FAILED")
    superseded = deliver(PublishTask(post_id=post.id, target_id=target.id, attempt=2, generation=7))
    assert (superseded.status_code, superseded.json()["action"]) == (200, "NOOP_TERMINAL")
