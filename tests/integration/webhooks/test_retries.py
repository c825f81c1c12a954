"""Webhook retries with the Cloud Tasks emulator dispatching every attempt to the
webhook_delivery function (docs/webhooks.md#delivery): backoff, Retry-After, no retry on 4xx,
410 and long failures disable the endpoint with a notification, a slow endpoint delays no one,
and events the fan-out missed are caught up by the sweeper.

The test stack retries in half-seconds (``WEBHOOK_BACKOFF_BASE_S=0.5``, capped at 2 s) and
disables after 30 s of failures (``tests/conftest.py``)."""

from __future__ import annotations

import itertools

import pytest
import requests

from infra.localenv import HOST
from sharecast.app import AppContext
from sharecast.config import Settings
from sharecast.domain.events import Event
from sharecast.domain.statuses import EventType
from sharecast.tasks import INTERNAL_AUTH_HEADER
from sharecast.webhooks import fanout
from tests.conftest import PORTS
from tests.support.api import ApiClient
from tests.support.webhooks import Receiver, wait_until

pytestmark = pytest.mark.usefixtures("clean_stack")


@pytest.fixture
def api(user_id: str) -> ApiClient:
    return ApiClient(PORTS, user_id)


def register(api: ApiClient, receiver: Receiver, **body) -> tuple[str, list[str]]:
    """Register ``receiver`` and tell it the secret; ``(endpoint id, [secret])``."""
    response = api.post("/webhooks", json={"url": receiver.url, **body})
    assert response.status_code == 201, response.text
    secrets = [response.json()["secret"]]
    receiver.configure(secrets=secrets)
    return response.json()["endpoint"]["id"], secrets


def delivery(api: ApiClient, endpoint_id: str, delivery_id: str) -> dict:
    response = api.get(f"/webhooks/{endpoint_id}/deliveries/{delivery_id}")
    assert response.status_code == 200, response.text
    return response.json()


def test_failures_are_retried_with_backoff_and_the_same_webhook_id(api):
    receiver = Receiver(PORTS)
    endpoint_id, secrets = register(api, receiver)
    receiver.configure(secrets=secrets, fail_rate=1.0)
    ping = api.post(f"/webhooks/{endpoint_id}/ping").json()
    failing = receiver.wait_for(lambda d: len(d) >= 4, what="four failed attempts")
    receiver.configure(secrets=secrets, fail_rate=0.0)
    done = wait_until(
        lambda: (d := delivery(api, endpoint_id, ping["id"]))["status"] == "SUCCEEDED" and d,
        what="the delivery to succeed",
    )
    got = receiver.deliveries()
    assert {d["webhook_id"] for d in got} == {ping["messageId"]}
    assert all(d["verified"] for d in got)
    assert [d["answered"] for d in failing[:4]] == [503] * 4
    assert got[-1]["answered"] == 200
    assert done["attempts"] == len(got)
    assert [a["outcome"] for a in done["history"]][:4] == ["RETRYING"] * 4
    assert done["history"][0]["statusCode"] == 503
    assert done["history"][0]["error"] == "HTTP 503"
    # Backoff: 0.5 s, 1 s, 2 s (±20 %), capped at 2 s; each gap at least the smallest of them.
    times = [d["received_at"] for d in got]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap >= 0.35 for gap in gaps), gaps
    assert gaps[2] >= 1.5, gaps  # the third wait is 2 s (capped) ±20 %


def test_retry_after_is_honoured(api):
    receiver = Receiver(PORTS)
    endpoint_id, secrets = register(api, receiver)
    receiver.configure(secrets=secrets, fail_rate=1.0, retry_after="3")
    ping = api.post(f"/webhooks/{endpoint_id}/ping").json()
    receiver.wait_for(lambda d: len(d) >= 1)
    receiver.configure(secrets=secrets)
    got = receiver.wait_for(lambda d: len(d) >= 2 and d[-1]["answered"] == 200)
    assert got[1]["received_at"] - got[0]["received_at"] >= 2.9
    logged = delivery(api, endpoint_id, ping["id"])
    assert logged["history"][0]["outcome"] == "RETRYING"


def test_other_4xx_are_not_retried(api):
    receiver = Receiver(PORTS)
    endpoint_id, secrets = register(api, receiver)
    receiver.configure(secrets=secrets, status=400)
    ping = api.post(f"/webhooks/{endpoint_id}/ping").json()
    failed = wait_until(
        lambda: (d := delivery(api, endpoint_id, ping["id"]))["status"] == "FAILED" and d,
        what="the delivery to fail",
    )
    assert failed["attempts"] == 1
    assert failed["nextAttemptAt"] is None
    assert failed["lastError"] == "HTTP 400: not retried"
    assert len(receiver.deliveries()) == 1
    endpoint = api.get(f"/webhooks/{endpoint_id}").json()
    assert endpoint["enabled"] is True
    assert endpoint["failingSince"] is not None


def test_410_disables_the_endpoint_and_tells_its_owner(api, user_id):
    gone, watcher = Receiver(PORTS), Receiver(PORTS)
    endpoint_id, secrets = register(api, gone)
    register(api, watcher, eventTypes=["notification:webhook_endpoint_disabled"])
    gone.configure(secrets=secrets, status=410)
    api.post(f"/webhooks/{endpoint_id}/ping")
    got = watcher.wait_for(lambda d: len(d) == 1, what="the notification webhook")
    note = got[0]["body"]
    assert got[0]["verified"] is True
    assert note["type"] == "notification"
    assert note["user_id"] == user_id
    assert note["data"]["kind"] == "webhook_endpoint_disabled"
    assert note["data"]["endpoint_id"] == endpoint_id
    endpoint = api.get(f"/webhooks/{endpoint_id}").json()
    assert endpoint["enabled"] is False
    assert endpoint["disabledReason"] == "the endpoint answered 410 Gone"
    assert len(gone.deliveries()) == 1
    enabled = api.request("PATCH", f"/webhooks/{endpoint_id}", json={"enabled": True})
    assert enabled.json()["disabledReason"] is None
    assert enabled.json()["failingSince"] is None


def test_an_endpoint_failing_too_long_is_disabled(api):
    receiver, watcher = Receiver(PORTS), Receiver(PORTS)
    endpoint_id, secrets = register(api, receiver)
    register(api, watcher, eventTypes=["notification"])
    receiver.configure(secrets=secrets, fail_rate=1.0)
    ping = api.post(f"/webhooks/{endpoint_id}/ping").json()
    endpoint = wait_until(
        lambda: not (e := api.get(f"/webhooks/{endpoint_id}").json())["enabled"] and e,
        timeout=150,
        what="the endpoint to be disabled after 30 s of failures",
    )
    assert endpoint["disabledReason"].startswith("every delivery failed since ")
    note = watcher.wait_for(lambda d: len(d) == 1, what="the notification")[0]["body"]
    assert note["data"]["kind"] == "webhook_endpoint_disabled"
    stopped = wait_until(
        lambda: (d := delivery(api, endpoint_id, ping["id"]))["status"] == "FAILED" and d,
        what="the delivery to stop",
    )
    assert stopped["nextAttemptAt"] is None


def test_a_slow_endpoint_delays_neither_another_nor_the_publisher(api):
    slow, fast = Receiver(PORTS), Receiver(PORTS)
    _, secrets = register(api, slow)
    register(api, fast)
    slow.configure(secrets=secrets, delay_s=12.0)
    post = api.post(
        "/posts/multipost", json={"content": "slow and fast", "platforms": [{"platform": "x"}]}
    )
    assert post.status_code == 202, post.text

    def published(deliveries: list[dict]) -> bool:
        return any(d["body"]["data"].get("status") == "PUBLISHED" for d in deliveries)

    fast.wait_for(published, timeout=60, what="every event at the fast endpoint")
    # The slow endpoint answers each delivery 12 s after it arrived: none has been answered yet.
    assert slow.deliveries() == []
    assert api.get(f"/posts/{post.json()['postId']}").json()["status"] == "PUBLISHED"
    count = len(fast.deliveries())
    slow.wait_for(lambda d: len(d) == count, timeout=120, what="the slow endpoint to catch up")


def test_events_the_fan_out_missed_are_caught_up_by_the_sweeper(api, user_id):
    receiver = Receiver(PORTS)
    register(api, receiver)
    # A context whose fan-out fails (its queue does not exist): the event stays unmarked.
    broken = Settings().model_copy(update={"webhook_queue": "no-such-queue"})
    ctx = AppContext.build(broken, event_consumers=(fanout.consumer,))
    event = Event.new(
        user_id=user_id,
        type=EventType.NOTIFICATION,
        data={"kind": "target_failed", "message": "caught up", "version": 1},
    )
    batch = ctx.db.batch()
    ctx.outbox.add(batch, [event])
    batch.commit()
    ctx.outbox.flush([event])
    stored = ctx.db.document(f"users/{user_id}/events/{event.id}").get().to_dict() or {}
    assert stored["webhooks_at"] is None
    assert stored["published_at"] is not None
    secret = Settings().internal_auth_secret
    assert secret is not None

    def sweep() -> dict:
        response = requests.post(
            f"http://{HOST}:{PORTS.sweeper}/",
            json={"sweep": "minutely"},
            headers={INTERNAL_AUTH_HEADER: secret.get_secret_value()},
            timeout=60,
        )
        assert response.status_code in (200, 503), response.text
        return response.json()["counts"]

    counts = wait_until(
        lambda: (c := sweep()).get("webhooks_caught_up") and c, what="the sweeper's catch-up"
    )
    assert counts["webhooks_pending_found"] >= 1
    got = receiver.wait_for(lambda d: len(d) == 1, what="the caught-up delivery")
    assert got[0]["body"]["id"] == event.id
    assert got[0]["body"]["data"]["message"] == "caught up"
    marked = ctx.db.document(f"users/{user_id}/events/{event.id}").get().to_dict() or {}
    assert marked["webhooks_at"] is not None
