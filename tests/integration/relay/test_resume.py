"""Resume after ``Last-Event-ID`` (issue 18, issue 14 item 4): no event the client already has
is sent again, nothing is skipped, and an unknown, ancient or too-far-behind id gets a
``snapshot`` instead of a long replay. Real SSE clients over HTTP, real emulators."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from google.cloud import pubsub_v1

from sharecast.clients import Clients
from sharecast.domain.events import Event, new_event_id
from sharecast.domain.statuses import EventType
from sharecast.outbox import Outbox
from sharecast.timeutil import utcnow
from tests.conftest import PORTS
from tests.integration.relay.kit import (
    RETRY_MS,
    RelayServer,
    SseClient,
    bearer,
    emit,
    make_settings,
    new_user,
)
from tests.support.api import ApiClient


def resume(relay: RelayServer, sse: Callable[..., SseClient], user: str, last_id: str) -> SseClient:
    stream = sse(relay.base_url, headers=bearer(relay.token(user)) | {"Last-Event-ID": last_id})
    assert stream.next() == {"retry": str(RETRY_MS)}
    return stream


def store_and_publish(clients: Clients, events: list[Event]) -> None:
    """Commit ``events`` in one batch, then publish them (as the functions do)."""
    outbox = Outbox(db=clients.firestore, pubsub=clients.pubsub, settings=clients.settings)
    batch = clients.firestore.batch()
    outbox.add(batch, events)
    batch.commit()
    outbox.flush(events)


def store_only(clients: Clients, events: list[Event]) -> None:
    """Commit ``events`` to the event log without publishing them (as if Pub/Sub lost them)."""
    outbox = Outbox(db=clients.firestore, pubsub=clients.pubsub, settings=clients.settings)
    batch = clients.firestore.batch()
    outbox.add(batch, events)
    batch.commit()


def status_event(user: str, n: int, *, at_offset_s: float = 0.0) -> Event:
    at = utcnow() + timedelta(seconds=at_offset_s)
    return Event(
        id=new_event_id(at),
        user_id=user,
        type=EventType.TARGET_STATUS,
        data={"post_id": "p1", "target_id": f"t{n}", "status": "SUCCESS", "version": n},
        created_at=at,
    )


def test_a_twelve_event_run_resumes_without_a_single_resend(
    relay: RelayServer, clients: Clients, sse: Callable[..., SseClient]
) -> None:
    # Issue 18: a 12-event run showed 4-6 duplicates after a reconnect (a 10 s overlap window
    # was replayed whole). Events here are committed one after another, as attempts are.
    user = new_user()
    first = sse(relay.base_url, headers=bearer(relay.token(user)))
    assert first.next() == {"retry": str(RETRY_MS)}
    sent = [emit(clients, user, 1)[0] for _ in range(6)]
    got = [f["id"] for f in first.events(6)]
    first.close()
    assert got == [e.id for e in sent]

    sent += [emit(clients, user, 1)[0] for _ in range(6)]  # while the client is away
    second = resume(relay, sse, user, got[-1])
    got += [f["id"] for f in second.events(6)]
    got += [f["id"] for f in second.quiet_for(1.0) if "id" in f]
    assert got == [e.id for e in sent]  # every event once, in order

    caught_up = resume(relay, sse, user, got[-1])
    assert caught_up.quiet_for(1.0) == []


def test_events_of_one_commit_after_the_last_id_are_replayed_and_before_it_are_not(
    relay: RelayServer, clients: Clients, sse: Callable[..., SseClient]
) -> None:
    user = new_user()
    batch = emit(clients, user, 5)  # one commit, published in one call
    stream = resume(relay, sse, user, batch[2].id)
    assert [f["id"] for f in stream.events(2)] == [e.id for e in batch[3:]]
    assert stream.quiet_for(1.0) == []


def test_an_earlier_id_committed_after_the_last_id_is_still_replayed(
    relay: RelayServer, clients: Clients, sse: Callable[..., SseClient]
) -> None:
    # Two transactions: `late` is stamped first but commits after `last` (a slower attempt).
    # A client that got `last` may not have `late`: it must come in the replay.
    user = new_user()
    late = status_event(user, 1, at_offset_s=-0.5)
    last = status_event(user, 2)
    store_and_publish(clients, [last])
    store_and_publish(clients, [late])
    assert late.id < last.id
    stream = resume(relay, sse, user, last.id)
    assert [f["id"] for f in stream.events(1)] == [late.id]
    assert stream.quiet_for(1.0) == []


def _snapshot(stream: SseClient) -> tuple[str, dict]:
    frame = stream.next(timeout_s=20)
    assert frame["event"] == "snapshot", frame
    assert frame["id"].endswith("-snapshot")
    return frame["id"], json.loads(frame["data"])


def test_an_unknown_last_event_id_gets_a_snapshot_of_current_state(
    stack: object, relay: RelayServer, clients: Clients, sse: Callable[..., SseClient]
) -> None:
    user = new_user()
    api = ApiClient(PORTS, user)
    created = api.post(
        "/posts/multipost",
        json={"content": "snapshot me", "draft": True, "platforms": [{"platform": "facebook"}]},
    )
    assert created.status_code in (201, 202), created.text
    post_id = created.json()["postId"]

    unknown = new_event_id(utcnow() - timedelta(seconds=30))  # well-formed, never written
    stream = resume(relay, sse, user, unknown)
    cursor, data = _snapshot(stream)
    assert data["reason"] == "unknown"
    assert data["more"] is False
    (post,) = data["posts"]
    assert post["post_id"] == post_id
    assert post["version"] >= 1
    assert [t["platform"] for t in post["targets"]] == ["facebook"]
    stream.close()

    # The snapshot's id is a cursor: resuming from it replays what was committed after it.
    later = emit(clients, user, 2)
    after = resume(relay, sse, user, cursor)
    got = after.events(2) + after.quiet_for(1.0)
    assert [f["id"] for f in got][-2:] == [e.id for e in later]
    # Before them, at most the post's own events committed within the snapshot's clock-skew
    # margin (SNAPSHOT_SKEW_S): versioned states the client's version check absorbs.
    assert all(json.loads(f["data"])["post_id"] == post_id for f in got[:-2])

    # Another user's event id is unknown here too: a snapshot of my own posts, nothing else.
    other = emit(clients, new_user(), 1)[0]
    mine = resume(relay, sse, user, other.id)
    assert [p["post_id"] for p in _snapshot(mine)[1]["posts"]] == [post_id]


def test_an_ancient_or_malformed_last_event_id_gets_a_snapshot(
    relay: RelayServer, sse: Callable[..., SseClient]
) -> None:
    user = new_user()
    ancient = new_event_id(utcnow() - timedelta(hours=2))
    assert _snapshot(resume(relay, sse, user, ancient))[1] == {
        "reason": "too_old",
        "posts": [],
        "more": False,
    }
    assert _snapshot(resume(relay, sse, user, "not-an-id"))[1]["reason"] == "unknown"


def test_more_events_than_the_replay_limit_get_a_snapshot_instead(
    relay: RelayServer,
    clients: Clients,
    sse: Callable[..., SseClient],
) -> None:
    user = new_user()
    # Only in the log: published copies could reach the relay after the stream opened, and a
    # live copy after a snapshot is allowed (the client keeps the highest version); this test
    # is about what the relay reads from the log.
    history = [status_event(user, n) for n in range(1, 7)]
    store_only(clients, history)
    relay.settings.relay_replay_limit = 3
    try:
        stream = resume(relay, sse, user, history[0].id)
        cursor, data = _snapshot(stream)
    finally:
        relay.settings.relay_replay_limit = make_settings().relay_replay_limit
    assert data["reason"] == "truncated"
    assert cursor.endswith("-snapshot")
    assert stream.quiet_for(1.0) == []  # no event of the log after the snapshot
    (live,) = emit(clients, user, 1)
    assert [f["id"] for f in stream.events(1)] == [live.id]


def test_a_new_stream_gets_no_event_from_before_its_time(
    relay: RelayServer, clients: Clients, sse: Callable[..., SseClient]
) -> None:
    # Issue 18: a 60-second-old event (a republished or redelivered one) reached a new stream.
    user = new_user()
    stream = sse(relay.base_url, headers=bearer(relay.token(user)))
    assert stream.next() == {"retry": str(RETRY_MS)}
    old = status_event(user, 1, at_offset_s=-60)
    store_and_publish(clients, [old])
    fresh = emit(clients, user, 1)[0]
    assert [f["id"] for f in stream.events(1)] == [fresh.id]
    assert stream.quiet_for(0.5) == []


def test_a_stale_instance_subscription_is_recreated_without_its_backlog(
    emulators: dict[str, str], clients: Clients, sse: Callable[..., SseClient]
) -> None:
    # Issue 18: a killed local relay left `relay-local-8090` behind; the restarted relay found
    # it and streamed its backlog (old events) to new streams as if live.
    instance = f"stale-{uuid.uuid4().hex[:8]}"
    settings = make_settings(relay_instance_id=instance)
    subscriber = pubsub_v1.SubscriberClient()
    path = subscriber.subscription_path(settings.google_cloud_project, f"relay-{instance}")
    subscriber.create_subscription(request={"name": path, "topic": settings.topic_path})
    user = new_user()
    emit(clients, user, 3)  # the backlog, retained by the stale subscription

    server = RelayServer(settings).start()
    try:
        stream = sse(server.base_url, headers=bearer(server.token(user)))
        assert stream.next() == {"retry": str(RETRY_MS)}
        marker = emit(clients, user, 1)[0]
        assert [f["id"] for f in stream.events(1)] == [marker.id]
        deadline = time.monotonic() + 10
        while server.relay.subscription.received < 1:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert server.relay.subscription.received == 1  # the marker, no backlog
    finally:
        server.stop()


def test_a_late_live_copy_of_an_event_the_client_has_is_not_sent(
    emulators: dict[str, str], clients: Clients, sse: Callable[..., SseClient]
) -> None:
    # The live delivery of an event can trail its commit by seconds (a busy Pub/Sub): a stream
    # resumed in between must not forward the late copy of an event the client already had.
    server = RelayServer(make_settings()).start()
    try:
        user = new_user()
        server.relay.subscription.stop()  # hold live delivery back, as a slow Pub/Sub does
        batch = emit(clients, user, 4)  # committed and published; delivered only later
        stream = resume(server, sse, user, batch[1].id)
        assert [f["id"] for f in stream.events(2)] == [e.id for e in batch[2:]]
        server.relay.subscription.start()  # now the live copies of all four arrive
        # The emulator may keep them on the stopped pull until their ack deadline runs out,
        # more than once on a busy machine: a generous bound.
        deadline = time.monotonic() + 120
        while server.relay.subscription.received < 4:
            assert time.monotonic() < deadline, "live copies never arrived"
            time.sleep(0.05)
        assert stream.quiet_for(1.0) == []
    finally:
        server.stop()
