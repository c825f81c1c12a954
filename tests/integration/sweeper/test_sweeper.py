"""The sweeper function over real HTTP, against the emulators, the running publisher and the
sandbox: Cloud Tasks down at creation, lost tasks, MISSED, a publisher killed mid-attempt,
and the outbox. The test stack runs no scheduler: each test sweeps when it wants."""

from __future__ import annotations

import json
import signal
import time
from datetime import timedelta
from typing import Any

import pytest
import requests
from google.cloud import pubsub_v1

from infra.localenv import DEV_INTERNAL_SECRET, HOST
from infra.stack import Stack
from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.domain.models import TargetRecord
from sharecast.domain.statuses import Platform, TargetStatus
from sharecast.store import posts as posts_store
from sharecast.store.connections import sandbox_account_id
from sharecast.tasks import INTERNAL_AUTH_HEADER
from sharecast.timeutil import utcnow
from tests.conftest import PORTS
from tests.support.api import ApiClient
from tests.support.context import outbox_for
from tests.support.media import upload
from tests.support.sandbox import Sandbox

pytestmark = pytest.mark.usefixtures("clean_stack")

SWEEPER = f"http://{HOST}:{PORTS.sweeper}/"
AUTH = {INTERNAL_AUTH_HEADER: DEV_INTERNAL_SECRET}


def sweep(kind: str = "minutely") -> dict[str, Any]:
    response = requests.post(
        SWEEPER,
        json={"sweep": kind},
        headers=AUTH,
        timeout=60,
    )
    assert response.status_code in (200, 503), response.text
    return response.json()


def counts(report: dict[str, Any]) -> dict[str, int]:
    return report["counts"]


@pytest.fixture
def db():
    return Clients(Settings()).firestore


@pytest.fixture
def api(user_id: str) -> ApiClient:
    return ApiClient(PORTS, user_id)


def create(api: ApiClient, text: str, **extra: Any) -> dict[str, Any]:
    response = api.post(
        "/posts/multipost",
        json={"content": text, "platforms": [{"platform": "facebook"}, {"platform": "x"}], **extra},
    )
    assert response.status_code == 202, response.text
    return response.json()


def wait_post(api: ApiClient, post_id: str, statuses: set[str], timeout: float = 45) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = api.get(f"/posts/{post_id}").json()
        if body["status"] in statuses:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.3)


def scheduled_then_lost(api: ApiClient, text: str, **extra: Any) -> dict[str, Any]:
    """A post scheduled an hour ahead whose tasks are then lost (queue purged)."""
    at = (utcnow() + timedelta(hours=1)).isoformat()
    created = create(api, text, scheduleAt=at, **extra)
    settings = Settings()
    Clients(settings).tasks.purge_queue(name=settings.queue_path)
    return created


def make_due(db, post_id: str, *, ago: timedelta) -> None:
    """Time passes for the post's targets: their next attempt was due ``ago`` ago."""
    _, targets = posts_store.get_post(db, post_id)
    for target in targets:

        def mutate(t: TargetRecord) -> tuple[TargetRecord, None]:
            return t.model_copy(
                update={"next_attempt_at": utcnow() - ago, "version": t.version + 1}
            ), None

        posts_store.change_target(
            db, post_id=post_id, target_id=target.id, mutate=mutate, outbox=outbox_for(db)
        )


def assert_posted_once(sandbox: Sandbox, user_id: str, body: dict[str, Any]) -> None:
    for target in body["targets"]:
        account = sandbox_account_id(user_id, Platform(target["platform"]))
        ledger = sandbox.ledger(platform=target["platform"], account_id=account)
        assert len(ledger) == 1, ledger
        assert target["status"] == "SUCCESS"
        assert target["external_id"] == ledger[0]["id"]


# --- the envelope ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "body", "status", "code"),
    [
        ({}, {"sweep": "minutely"}, 401, "UNAUTHENTICATED"),
        ({INTERNAL_AUTH_HEADER: "wrong"}, {"sweep": "minutely"}, 401, "UNAUTHENTICATED"),
        (AUTH, {"sweep": "hourly"}, 400, "BAD_REQUEST"),
        (AUTH, {"sweep": 1}, 400, "BAD_REQUEST"),
        (
            {INTERNAL_AUTH_HEADER: DEV_INTERNAL_SECRET},
            {"sweep": "daily", "x": 1},
            400,
            "BAD_REQUEST",
        ),
        (AUTH, [], 400, "BAD_REQUEST"),
        (AUTH, "{not json", 400, "BAD_REQUEST"),
    ],
)
def test_sweeper_refuses_unauthenticated_and_malformed_calls(headers, body, status, code):
    data = body if isinstance(body, str) else json.dumps(body)
    response = requests.post(
        SWEEPER, data=data, headers={"Content-Type": "application/json", **headers}, timeout=10
    )
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == code


def test_empty_sweeps_report_zero_and_daily_runs():
    minutely = sweep()
    assert minutely["errors"] == {}
    assert minutely["truncated"] == []
    assert set(counts(minutely).values()) == {0}
    daily = sweep("daily")
    assert daily["sweep"] == "daily"
    assert daily["errors"] == {}
    assert counts(daily) == {"media_deleted": 0, "media_kept": 0, "uploads_failed": 0}


def test_daily_sweep_deletes_expired_media(api: ApiClient):
    media_id = upload(api, b"\x89PNG\r\n\x1a\n" + b"e" * 64)
    settings = Settings()
    clients = Clients(settings)
    ref = clients.firestore.collection("media").document(media_id)
    path = (ref.get().to_dict() or {})["object_path"]
    ref.update({"expires_at": utcnow() - timedelta(minutes=1)})
    daily = sweep("daily")
    assert daily["errors"] == {}
    assert counts(daily)["media_deleted"] == 1
    assert (ref.get().to_dict() or {})["status"] == "DELETED"
    assert clients.storage.bucket(settings.media_bucket).get_blob(path) is None
    assert counts(sweep("daily"))["media_deleted"] == 0  # idempotent


# --- Cloud Tasks down at creation --------------------------------------------------------------


def test_post_created_while_tasks_is_down_is_enqueued_by_a_sweep_and_published_once(
    stack: Stack, api: ApiClient, user_id: str
):
    sandbox = Sandbox.of_stack(PORTS)
    stack.stop_service("tasks")
    try:
        created = create(api, "saved while Cloud Tasks was down")
        assert created["enqueuePending"] is True
        assert created["status"] == "PUBLISHING"
        got = api.get(f"/posts/{created['postId']}")
        assert got.status_code == 200, got.text
        stored = got.json()
        assert stored["enqueuePending"] is True
        assert {t["status"] for t in stored["targets"]} == {"PENDING"}
        failing = sweep()  # Tasks still down: reported, nothing lost
        assert "enqueue_pending_posts" in failing["errors"]
    finally:
        stack.start_service("tasks")
    # The sweeper's gRPC channel may still be backing off from the outage: the next runs retry.
    deadline = time.monotonic() + 30
    while True:
        report = sweep()
        if counts(report).get("posts_enqueued"):
            break
        assert time.monotonic() < deadline, report
        time.sleep(1)
    assert counts(report)["tasks_created"] == 2
    body = wait_post(api, created["postId"], {"PUBLISHED", "PARTIAL", "FAILED"})
    assert body["status"] == "PUBLISHED"
    assert body["enqueuePending"] is False
    assert_posted_once(sandbox, user_id, body)
    again = sweep()
    assert not counts(again).get("posts_enqueued")
    assert counts(again)["enqueue_pending_found"] == 0


# --- lost tasks and MISSED ---------------------------------------------------------------------


def test_due_target_whose_task_was_lost_gets_one_fresh_task(db, api: ApiClient, user_id: str):
    created = scheduled_then_lost(api, "the task of this post was lost")
    assert sweep()["counts"]["due_targets_found"] == 0  # not due yet: nothing to do
    settings = Settings()
    tasks = Clients(settings).tasks
    tasks.pause_queue(name=settings.queue_path)  # the fresh tasks wait: the second sweep races none
    try:
        make_due(db, created["postId"], ago=timedelta(seconds=30))
        first = sweep()
        assert counts(first)["retries_requeued"] == 2
        second = sweep()  # the same unchanged targets: the same task names, nothing doubled
        assert not counts(second).get("retries_requeued")
        assert counts(second)["tasks_already_there"] == 2
    finally:
        tasks.resume_queue(name=settings.queue_path)
    body = wait_post(api, created["postId"], {"PUBLISHED", "PARTIAL", "FAILED"})
    assert body["status"] == "PUBLISHED"
    assert_posted_once(Sandbox.of_stack(PORTS), user_id, body)


def test_target_overdue_beyond_the_window_fails_as_missed(db, api: ApiClient, user_id: str):
    created = scheduled_then_lost(api, "this post missed its time")
    make_due(db, created["postId"], ago=timedelta(hours=2))
    report = sweep()
    assert counts(report)["targets_missed"] == 2
    body = api.get(f"/posts/{created['postId']}").json()
    assert body["status"] == "FAILED"
    for target in body["targets"]:
        assert target["status"] == "FAILED"
        error = target["error"]
        assert error["code"] == "MISSED"
        assert error["retryable"] is False
        assert {"message", "attempts", "max_attempts", "retry_after_s"} <= error.keys()
    assert Sandbox.of_stack(PORTS).ledger() == []
    assert not counts(sweep()).get("targets_missed")


def test_post_allowing_late_publishing_is_published_however_late(db, api: ApiClient, user_id: str):
    created = scheduled_then_lost(api, "late is better than never", allowLate=True)
    assert api.get(f"/posts/{created['postId']}").json()["allowLate"] is True
    make_due(db, created["postId"], ago=timedelta(hours=2))
    report = sweep()
    assert not counts(report).get("targets_missed")
    assert counts(report)["retries_requeued"] == 2
    body = wait_post(api, created["postId"], {"PUBLISHED", "PARTIAL", "FAILED"})
    assert body["status"] == "PUBLISHED"
    assert_posted_once(Sandbox.of_stack(PORTS), user_id, body)


def test_allow_late_must_be_a_boolean(api: ApiClient):
    response = api.post(
        "/posts/multipost",
        json={"content": "x", "platforms": [{"platform": "x"}], "allowLate": "maybe"},
    )
    assert response.status_code == 422, response.text


# --- a publisher killed mid-attempt ------------------------------------------------------------


def test_publisher_killed_mid_attempt_is_resumed_after_its_lease_without_posting_twice(
    stack: Stack, api: ApiClient, user_id: str
):
    sandbox = Sandbox.of_stack(PORTS)
    x_account = sandbox_account_id(user_id, Platform.X)
    sandbox.fault(platform="x", account_id=x_account, kind="latency", latency_ms=3000, times=1)
    created = create(api, "the publisher dies while X thinks")
    deadline = time.monotonic() + 30
    while True:  # the X attempt holds its lease (LEASE_S=10) and X is sitting on the request
        body = api.get(f"/posts/{created['postId']}").json()
        x_target = next(t for t in body["targets"] if t["platform"] == "x")
        if x_target["status"] == "PUBLISHING":
            break
        assert time.monotonic() < deadline, body
        time.sleep(0.1)
    time.sleep(0.5)
    stack.restart_service("publisher", sig=signal.SIGKILL)
    deadline = time.monotonic() + 60
    while True:
        body = api.get(f"/posts/{created['postId']}").json()
        if body["status"] in {"PUBLISHED", "PARTIAL", "FAILED"}:
            break
        assert time.monotonic() < deadline, body
        sweep()  # resumes the expired lease (the queue's own redelivery may win the race)
        time.sleep(1)
    assert body["status"] == "PUBLISHED", body
    assert_posted_once(sandbox, user_id, body)
    x_target = next(t for t in body["targets"] if t["platform"] == "x")
    assert x_target["attempts"] == 1  # the same attempt, resumed and reconciled with X


# --- the outbox --------------------------------------------------------------------------------


def test_events_never_published_are_republished_by_the_sweeper(db, api: ApiClient, user_id: str):
    settings = Settings()
    subscriber = pubsub_v1.SubscriberClient()
    subscription = f"projects/{settings.google_cloud_project}/subscriptions/sweep-{user_id}"
    subscriber.create_subscription(name=subscription, topic=settings.topic_path)
    try:
        created = scheduled_then_lost(api, "its next event is committed, never published")
        post_id = created["postId"]
        target_id = created["results"][0]["targetId"]

        def touch(t: TargetRecord) -> tuple[TargetRecord, None]:
            return t.model_copy(update={"version": t.version + 1, "updated_at": utcnow()}), None

        # The real store path: the change and its event commit; the process "dies" before
        # publishing (the outbox is never flushed).
        change = posts_store.change_target(
            db, post_id=post_id, target_id=target_id, mutate=touch, outbox=outbox_for(db)
        )
        (event,) = change.events
        time.sleep(1.5)  # older than OUTBOX_GRACE_S
        report = sweep()
        assert counts(report)["events_republished"] >= 1
        seen: dict[str, dict] = {}
        deadline = time.monotonic() + 20
        while event.id not in seen:
            assert time.monotonic() < deadline, sorted(seen)
            pulled = subscriber.pull(subscription=subscription, max_messages=100, timeout=5)
            for message in pulled.received_messages:
                body = json.loads(message.message.data)
                seen[body["id"]] = body
                assert message.message.attributes["user_id"] == body["user_id"]
            if pulled.received_messages:
                subscriber.acknowledge(
                    subscription=subscription,
                    ack_ids=[m.ack_id for m in pulled.received_messages],
                )
        assert seen[event.id]["data"]["status"] == TargetStatus.PENDING.value
        assert seen[event.id]["data"]["version"] == change.target.version
        assert counts(sweep())["unpublished_events_found"] == 0  # marked published
    finally:
        subscriber.delete_subscription(subscription=subscription)
