"""SSE frame encoding and Pub/Sub message decoding of the relay."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sharecast.config import Settings
from sharecast.domain.events import Event
from sharecast.domain.statuses import EventType
from sharecast.relay.sse import (
    PING,
    comment_frame,
    event_frame,
    frame_of,
    is_snapshot_cursor,
    retry_frame,
    snapshot_cursor,
    snapshot_frame,
)
from sharecast.relay.subscription import decode_message, instance_id, subscription_id

EVENT_ID = "01763740800000000-1a2b3c4d"


def test_event_frame_is_id_event_and_one_line_of_json() -> None:
    frame = event_frame(
        EVENT_ID, "target_status", {"post_id": "p1", "note": "two\nlines", "version": 3}
    )
    assert frame.id == EVENT_ID
    assert frame.payload == (
        b"id: 01763740800000000-1a2b3c4d\n"
        b"event: target_status\n"
        b'data: {"post_id":"p1","note":"two\\nlines","version":3}\n'
        b"\n"
    )


def test_event_frame_keeps_unicode_and_stringifies_other_values() -> None:
    frame = event_frame(EVENT_ID, "notification", {"text": "héllo", "at": datetime(2026, 1, 1)})
    data_line = frame.payload.decode().splitlines()[2]
    assert json.loads(data_line.removeprefix("data: ")) == {
        "text": "héllo",
        "at": "2026-01-01 00:00:00",
    }


@pytest.mark.parametrize(
    ("event_id", "event_type"),
    [
        ("not-an-id", "post_status"),
        ("01763740800000000-1a2b3c4d\nevent: x", "post_status"),
        (EVENT_ID, "unknown_type"),
    ],
)
def test_event_frame_rejects_malformed_ids_and_types(event_id: str, event_type: str) -> None:
    with pytest.raises(ValueError):
        event_frame(event_id, event_type, {"version": 1})


def test_control_frames() -> None:
    assert retry_frame(3000) == b"retry: 3000\n\n"
    assert PING == b": ping\n\n"
    assert comment_frame("hi") == b": hi\n\n"
    with pytest.raises(ValueError, match="CR, LF"):
        comment_frame("a\nb")
    cursor = snapshot_cursor(datetime(2026, 1, 1, tzinfo=UTC))
    assert cursor == "01767225600000000-snapshot"
    assert is_snapshot_cursor(cursor)
    assert not is_snapshot_cursor(EVENT_ID)
    assert not is_snapshot_cursor("x-snapshot")
    assert snapshot_frame(cursor, {"reason": "unknown", "posts": []}) == (
        b"id: 01767225600000000-snapshot\n"
        b'event: snapshot\ndata: {"reason":"unknown","posts":[]}\n\n'
    )


def test_frame_of_event_matches_the_live_frame() -> None:
    event = Event(
        id=EVENT_ID,
        user_id="u1",
        type=EventType.POST_STATUS,
        data={"post_id": "p1", "version": 2},
        created_at=datetime.now(UTC),
    )
    body = json.dumps(event.wire()).encode()
    user_id, live = decode_message(body, {"user_id": "u1", "type": "post_status"})
    assert user_id == "u1"
    assert live == frame_of(event)


def test_decode_message_routes_by_attribute_or_body() -> None:
    body = {"id": EVENT_ID, "type": "share_status", "user_id": "u2", "data": {"version": 1}}
    assert decode_message(json.dumps(body).encode(), {})[0] == "u2"
    body.pop("user_id")
    assert decode_message(json.dumps(body).encode(), {"user_id": "u3"})[0] == "u3"


@pytest.mark.parametrize(
    ("body", "attributes"),
    [
        (b"not json", {"user_id": "u1"}),
        (b"[]", {"user_id": "u1"}),
        (json.dumps({"id": EVENT_ID, "type": "post_status", "data": {}}).encode(), {}),
        (
            json.dumps(
                {"id": EVENT_ID, "type": "post_status", "user_id": "u1", "data": {}}
            ).encode(),
            {"user_id": "u2"},
        ),
        (json.dumps({"id": EVENT_ID, "type": "post_status", "data": 1}).encode(), {"user_id": "u"}),
    ],
)
def test_decode_message_rejects_malformed_messages(body: bytes, attributes: dict) -> None:
    with pytest.raises(ValueError):
        decode_message(body, attributes)


def test_instance_and_subscription_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    assert instance_id(Settings(relay_instance_id="fixed")) == "fixed"
    monkeypatch.setenv("K_REVISION", "relay-00007-abc")
    generated = instance_id(Settings(relay_instance_id=None))
    assert generated.startswith("relay-00007-abc-")
    assert generated != instance_id(Settings(relay_instance_id=None))
    assert subscription_id("rev/1 x") == "relay-rev-1-x"
    assert len(subscription_id("x" * 400)) == 255
