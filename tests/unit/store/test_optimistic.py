"""The one retry loop of optimistic writes: which errors are lost races, how long it pauses, and
when it gives up (pure logic: the commits are stood in by functions that raise what Firestore
raises; the loop's use against the emulator is covered by the contention tests)."""

from __future__ import annotations

import pytest
from google.api_core.exceptions import Conflict, FailedPrecondition, NotFound, PermissionDenied

from sharecast.errors import Contention
from sharecast.store.optimistic import ATTEMPTS, BACKOFF_MAX_S, backoff_s, until_committed


@pytest.mark.parametrize(
    "lost",
    [
        FailedPrecondition("update_time mismatch"),
        Conflict("document already exists"),
        NotFound("no document to update"),
    ],
)
def test_a_lost_race_is_decided_again_on_fresh_reads(lost: Exception) -> None:
    calls: list[int] = []
    pauses: list[float] = []

    def attempt() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise lost
        return "committed"

    assert until_committed(attempt, what="thing", sleep=pauses.append) == "committed"
    assert len(calls) == 3
    assert len(pauses) == 2
    assert all(0 <= p <= backoff_s(n + 1) for n, p in enumerate(pauses))


def test_gives_up_with_contention_naming_what() -> None:
    calls: list[int] = []

    def attempt() -> None:
        calls.append(1)
        raise FailedPrecondition("again")

    with pytest.raises(Contention, match="post p1 kept changing"):
        until_committed(attempt, what="post p1", sleep=lambda _: None)
    assert len(calls) == ATTEMPTS


def test_other_errors_propagate_at_once() -> None:
    calls: list[int] = []

    def attempt() -> None:
        calls.append(1)
        raise PermissionDenied("no")

    with pytest.raises(PermissionDenied):
        until_committed(attempt, what="x", sleep=lambda _: None)
    assert len(calls) == 1


def test_backoff_doubles_to_its_cap_and_sums_under_two_seconds() -> None:
    pauses = [backoff_s(n) for n in range(ATTEMPTS)]
    assert pauses[0] == 0.0
    assert pauses[1] < pauses[2] < pauses[3]
    assert max(pauses) == BACKOFF_MAX_S
    assert sum(pauses) < 2.0
