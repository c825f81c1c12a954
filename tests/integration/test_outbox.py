"""The outbox against the real Firestore and Pub/Sub emulators: events exist exactly when the
transaction that wrote them commits, ``flush`` publishes them (body and attributes as the relay
reads them) and marks them, and what Pub/Sub refused is left unmarked for ``republish``."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta

import pytest
from google.cloud import firestore, pubsub_v1

from sharecast.app import AppContext
from sharecast.config import Settings
from sharecast.domain.events import Event
from sharecast.domain.statuses import EventType
from sharecast.outbox import event_ref
from sharecast.timeutil import utcnow

pytestmark = pytest.mark.usefixtures("clean_stack")


@pytest.fixture
def ctx() -> AppContext:
    return AppContext.build(Settings())


@pytest.fixture
def subscription(ctx: AppContext):
    """A subscription of our own on the events topic, deleted after the test."""
    subscriber = pubsub_v1.SubscriberClient()
    path = subscriber.subscription_path(ctx.settings.google_cloud_project, f"t-{uuid.uuid4().hex}")
    subscriber.create_subscription(name=path, topic=ctx.settings.topic_path)
    yield subscriber, path
    subscriber.delete_subscription(subscription=path)


def events_of(user_id: str, n: int) -> list[Event]:
    return [
        Event.new(user_id=user_id, type=EventType.TARGET_STATUS, data={"n": i, "version": 1})
        for i in range(n)
    ]


def stored(ctx: AppContext, event: Event) -> dict | None:
    return event_ref(ctx.db, event.user_id, event.id).get().to_dict()


def test_events_exist_only_when_their_transaction_commits(ctx: AppContext, user_id: str):
    kept, dropped = events_of(user_id, 1), events_of(user_id, 1)
    batch = ctx.db.batch()
    ctx.outbox.add(batch, kept)
    batch.commit()

    @firestore.transactional
    def fails(txn: firestore.Transaction) -> None:
        ctx.outbox.add(txn, dropped)
        raise RuntimeError("the change is refused")

    with pytest.raises(RuntimeError):
        fails(ctx.db.transaction())
    doc = stored(ctx, kept[0])
    assert doc is not None
    assert doc["published_at"] is None
    assert doc["expire_at"] == kept[0].created_at + ctx.outbox.ttl
    assert stored(ctx, dropped[0]) is None


def test_flush_publishes_what_the_relay_reads_and_marks_it(ctx, subscription, user_id):
    subscriber, path = subscription
    events = events_of(user_id, 3)
    batch = ctx.db.batch()
    ctx.outbox.add(batch, events)
    batch.commit()
    assert ctx.outbox.flush(events) == 3
    for event in events:
        assert (stored(ctx, event) or {})["published_at"] is not None
    received: dict[str, tuple[dict, dict]] = {}
    deadline = time.monotonic() + 30
    while len(received) < 3 and time.monotonic() < deadline:
        answer = subscriber.pull(subscription=path, max_messages=10, timeout=10)
        for message in answer.received_messages:
            body = json.loads(message.message.data)
            received[body["id"]] = (body, dict(message.message.attributes))
        if answer.received_messages:
            subscriber.acknowledge(
                subscription=path, ack_ids=[m.ack_id for m in answer.received_messages]
            )
    assert set(received) == {e.id for e in events}
    body, attributes = received[events[0].id]
    assert body == events[0].wire()
    assert attributes == {"user_id": user_id, "type": "target_status"}


def test_refused_events_stay_unmarked_until_republished(ctx: AppContext, user_id: str):
    events = events_of(user_id, 2)
    batch = ctx.db.batch()
    ctx.outbox.add(batch, events)
    batch.commit()
    nowhere = AppContext.build(Settings(pubsub_topic=f"missing-{uuid.uuid4().hex}"))
    assert nowhere.outbox.flush(events) == 0  # logged, never raised
    assert all((stored(ctx, e) or {})["published_at"] is None for e in events)

    found, published = ctx.outbox.republish(before=utcnow() + timedelta(seconds=1), limit=100)
    assert found >= 2
    assert published == found
    assert all((stored(ctx, e) or {})["published_at"] is not None for e in events)
