from datetime import UTC, datetime, timedelta

import pytest

from sharecast.domain.events import Event, event_id_floor, event_id_time, new_event_id
from sharecast.domain.statuses import EventType

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def test_ids_sort_by_time_and_roundtrip():
    ids = [new_event_id(T0 + timedelta(microseconds=n)) for n in (5, 1, 1000000, 3)]
    assert sorted(ids) == [ids[1], ids[3], ids[0], ids[2]]
    assert event_id_time(ids[2]) == T0 + timedelta(seconds=1)


def test_floor_is_below_every_id_of_that_instant():
    event_id = new_event_id(T0)
    assert event_id_floor(T0) < event_id
    assert event_id_floor(T0 + timedelta(microseconds=1)) > event_id


@pytest.mark.parametrize("bad", ["", "abc", "123-abcdefgh", "1" * 17 + "-xyz"])
def test_malformed_ids_are_rejected(bad):
    with pytest.raises(ValueError):
        event_id_time(bad)


def test_wire_shape():
    event = Event.new(user_id="u", type=EventType.TARGET_STATUS, data={"version": 2})
    assert event.wire() == {
        "id": event.id,
        "type": "target_status",
        "user_id": "u",
        "data": {"version": 2},
    }
