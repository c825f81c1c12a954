"""What ended streams delivered, recalled for their reconnects (``sharecast.relay.handover``)."""

from __future__ import annotations

import time

from sharecast.relay.handover import Handover


def test_a_reconnect_after_the_last_written_id_recalls_what_was_delivered() -> None:
    handover = Handover(ttl_s=60, max_entries=10)
    handover.remember("u", "e3", ["e1", "e2"])
    assert handover.recall("u", "e3") == {"e1", "e2", "e3"}


def test_another_id_or_user_recalls_nothing() -> None:
    # A client that missed the tail of its stream comes back with an earlier id: unknown.
    handover = Handover(ttl_s=60, max_entries=10)
    handover.remember("u", "e3", ["e1", "e2"])
    assert handover.recall("u", "e2") is None
    assert handover.recall("v", "e3") is None


def test_two_streams_ending_on_the_same_id_keep_only_what_both_had() -> None:
    handover = Handover(ttl_s=60, max_entries=10)
    handover.remember("u", "e3", ["e1", "e2"])
    handover.remember("u", "e3", ["e2"])
    assert handover.recall("u", "e3") == {"e2", "e3"}


def test_entries_expire_and_are_bounded() -> None:
    handover = Handover(ttl_s=0.05, max_entries=2)
    handover.remember("u", "a", [])
    handover.remember("u", "b", [])
    handover.remember("u", "c", [])
    assert len(handover) == 2
    assert handover.recall("u", "a") is None
    deadline = time.monotonic() + 30
    while handover.recall("u", "c") is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert handover.recall("u", "c") is None
