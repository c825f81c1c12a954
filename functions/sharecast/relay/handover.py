"""What an ended stream had delivered, for the reconnect that follows it on this instance.

A client resuming with ``Last-Event-ID`` holds exactly what its previous stream wrote up to that
id (one TCP connection delivers in order). Nothing in the event log says what that was: Pub/Sub
delivers without order, so an event published before the client's last one may still have been
on its way when the stream ended. The relay therefore remembers, per ended stream, the ids it
wrote (and those its own replay knew the client had), keyed by the user and the last id written.
A resume whose ``Last-Event-ID`` is that key skips exactly those; any other resume (another
instance, a restart, a client that missed the tail of its stream) gets no entry and the replay
re-sends its whole overlap window, which the client's id check absorbs. Never a loss, and no
re-send in the common case (a stream ended by its credential's expiry or a deploy reconnects
within seconds).

Memory: at most ``max_entries`` entries of at most ``RecentIds`` capacity ids each, forgotten
``ttl_s`` seconds after the stream ended.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable
from typing import Protocol


class Delivering(Protocol):
    """An open stream as the handover sees it: the last event id written to it and the ids it
    delivered."""

    @property
    def last_id(self) -> str | None:
        """The last event id written to the stream (or the one it resumed after)."""

    @property
    def delivered(self) -> Iterable[str]:
        """Ids the stream delivered (and those its client was known to hold)."""


class Handover:
    """Ids delivered by ended streams, keyed by ``(user_id, last id written)``.

    ``ttl_s``: seconds an entry is kept; ``max_entries``: bound on entries (oldest dropped).
    Not thread-safe: used on the relay's event loop only.
    """

    def __init__(self, *, ttl_s: float, max_entries: int) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str], tuple[float, frozenset[str]]] = OrderedDict()
        self._open: dict[str, set[Delivering]] = {}

    def opened(self, user_id: str, stream: Delivering) -> None:
        """Track ``stream`` of ``user_id`` while it is open (see :meth:`recall`)."""
        self._open.setdefault(user_id, set()).add(stream)

    def ended(self, user_id: str, stream: Delivering) -> None:
        """``stream`` ended: stop tracking it and :meth:`remember` what it delivered."""
        streams = self._open.get(user_id)
        if streams is not None:
            streams.discard(stream)
            if not streams:
                del self._open[user_id]
        if stream.last_id:
            self.remember(user_id, stream.last_id, stream.delivered)

    def __len__(self) -> int:
        return len(self._entries)

    def remember(self, user_id: str, last_id: str, delivered: Iterable[str]) -> None:
        """Record that a stream of ``user_id`` whose last written event was ``last_id`` had
        delivered ``delivered``. Two streams ending on the same id keep what both had."""
        now = time.monotonic()
        key = (user_id, last_id)
        ids = frozenset(delivered) | {last_id}
        previous = self._entries.pop(key, None)
        if previous is not None and previous[0] > now:
            ids &= previous[1]
        self._entries[key] = (now + self.ttl_s, ids)
        self._trim(now)

    def recall(
        self, user_id: str, last_id: str, *, exclude: Delivering | None = None
    ) -> frozenset[str] | None:
        """The ids a client resuming after ``last_id`` surely holds, or ``None`` if unknown:
        an ended stream's entry, or else a stream of ``user_id`` still open here (its end not
        noticed yet; other than ``exclude``) whose last written id is ``last_id``."""
        entry = self._entries.get((user_id, last_id))
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        for other in self._open.get(user_id, ()):
            if other is not exclude and other.last_id == last_id:
                return frozenset(other.delivered) | {last_id}
        return None

    def _trim(self, now: float) -> None:
        entries = self._entries
        while entries and (
            len(entries) > self.max_entries or next(iter(entries.values()))[0] <= now
        ):
            entries.popitem(last=False)
