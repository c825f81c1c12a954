"""Optimistic writes: read, decide, commit a batch guarded by the ``update_time`` of every
document read; a lost race (a precondition failed) reads and decides again.

Why not Firestore transactions for user-driven changes: several requests that change one
document at once (six cancel/publish requests on one post) each read it and then write it.
In a transaction each read takes a lock; two readers that both go on to write wait on each
other until the database aborts one. Production Firestore aborts the younger quickly; the
emulator waits for its ~30 s lock timeout, and the client library then retries only 5 times
before raising ``ValueError("Failed to commit transaction in 5 attempts")``, which reached the
API as a 500 (20 of 36 parallel cancel/publish requests in a test). Reads outside a transaction
take no lock, and a batch whose preconditions fail is refused atomically with
``FailedPrecondition`` (or ``AlreadyExists`` for a create), so racing requests never wait on
each other: each loser reads again and usually ends in its own answer (a transition the new
state refuses). Serialization is the same as a transaction's for every document written, since
each write carries the ``update_time`` it was decided from.

:func:`until_committed` repeats an attempt after a short full-jitter backoff and raises
:class:`~sharecast.errors.Contention` (409 with ``Retry-After``) after :data:`ATTEMPTS` lost races.
https://cloud.google.com/firestore/docs/manage-data/transactions#batched-writes and
https://cloud.google.com/firestore/docs/reference/rest/v1/Precondition
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from google.api_core.exceptions import Conflict as AlreadyExists
from google.api_core.exceptions import FailedPrecondition
from google.api_core.exceptions import NotFound as GoogleNotFound

from sharecast.errors import Contention

T = TypeVar("T")

#: What a commit raises when a document changed (or appeared, or went) since it was read.
LOST_RACE = (FailedPrecondition, AlreadyExists, GoogleNotFound)

#: Attempts (read, decide, commit) before giving up with ``Contention``.
ATTEMPTS = 8
#: Pause before the second attempt (seconds); it doubles per attempt up to
#: :data:`BACKOFF_MAX_S`, and the actual pause is uniform in ``[0, that]``.
BACKOFF_BASE_S = 0.02
BACKOFF_MAX_S = 0.5


def backoff_s(attempt: int) -> float:
    """The longest pause before ``attempt`` (0-based; 0 for the first)."""
    return 0.0 if attempt == 0 else min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (attempt - 1))


def until_committed(
    attempt: Callable[[], T],
    *,
    what: str,
    attempts: int = ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``attempt()`` until it commits; returns its result.

    ``attempt`` reads what it needs, decides, and commits one batch whose writes carry
    preconditions (``db.write_option(last_update_time=...)``, or ``create`` for a document that
    did not exist). A failed precondition (``FailedPrecondition``, ``AlreadyExists``, or
    ``NotFound`` for an update of a document deleted since it was read) is a lost race: after
    a jittered pause (tens of milliseconds, under 2 s in all) the attempt runs again on fresh
    reads. Raises :class:`Contention` naming ``what`` after ``attempts`` lost races;
    anything else ``attempt`` raises propagates at once."""
    for n in range(attempts):
        if n:
            sleep(random.uniform(0, backoff_s(n)))
        try:
            return attempt()
        except LOST_RACE:
            continue
    raise Contention(f"{what} kept changing under concurrent requests; try again")
