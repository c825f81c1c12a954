"""In-process fan-out of live events to the SSE connections of each user. No I/O here.

The Pub/Sub callback hands every decoded event to :meth:`Hub.publish` on the event loop; the hub
appends the event's pre-encoded frame to the bounded buffer of each connection of that user. A
connection whose buffer is full (its client reads slower than events arrive) is closed with
:attr:`CloseReason.OVERFLOW` instead of being waited for, so one slow client never delays
another; the browser reconnects with ``Last-Event-ID`` and the relay replays what it missed
from the Firestore event log. See https://html.spec.whatwg.org/multipage/server-sent-events.html
for the reconnect behaviour this relies on.

Heartbeats: instead of one timer per stream, the hub keeps connections on a wheel of
``ping_slots`` slots; :meth:`Hub.tick` (called every ``heartbeat / ping_slots`` seconds) asks the
connections of the next slot to send a ping, so 10,000 idle streams cost a few dozen wake-ups per
tick rather than one timer each or a burst of 10,000 writes.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Frame:
    """One event ready for the wire: ``id`` is the event id, ``payload`` the encoded SSE frame,
    ``received`` the ``time.monotonic()`` at which the relay got it from Pub/Sub (0 for frames
    read from the event log)."""

    id: str
    payload: bytes
    received: float = 0.0


#: What :meth:`Connection.next` returns when a heartbeat is due (never buffered).
PING = Frame(id="", payload=b": ping\n\n")


class CloseReason(StrEnum):
    """Why the relay ended a stream (logged; the client reconnects in every case)."""

    OVERFLOW = "overflow"  # the client's buffer filled up
    MAX_DURATION = "max_duration"  # relay_max_stream_s reached (before Cloud Run's timeout)
    EXPIRED = "expired"  # the stream's credential reached its ``exp``
    SUPERSEDED = "superseded"  # the user opened more streams than the per-user cap
    SHUTDOWN = "shutdown"  # SIGTERM or lifespan shutdown
    RESUBSCRIBE = "resubscribe"  # the Pub/Sub subscription was recreated: live events were lost
    DISCONNECT = "disconnect"  # the client went away or the stream ended on its own


class Connection:
    """The live side of one SSE stream: a bounded FIFO of frames for one user.

    ``capacity`` is the most frames held for the stream before it is closed as too slow.
    Not thread-safe: every method must be called on the event loop that runs the stream.
    The buffer is allocated only while frames wait (an idle stream holds no deque).
    """

    __slots__ = (
        "_closed",
        "_on_close",
        "_ping",
        "_queue",
        "_waiter",
        "capacity",
        "slot",
        "user_id",
    )

    def __init__(self, user_id: str, capacity: int, slot: int = 0) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.user_id = user_id
        self.capacity = capacity
        self.slot = slot
        self._queue: deque[Frame] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._closed: CloseReason | None = None
        self._on_close: Callable[[CloseReason], None] | None = None
        self._ping = False

    @property
    def closed(self) -> CloseReason | None:
        """The reason the connection was closed, or ``None`` while it is open."""
        return self._closed

    @property
    def pending(self) -> int:
        """How many frames wait in the buffer."""
        return len(self._queue) if self._queue else 0

    def on_close(self, callback: Callable[[CloseReason], None] | None) -> None:
        """Call ``callback(reason)`` once when the connection closes (replaces any previous one)."""
        self._on_close = callback

    def offer(self, frame: Frame) -> bool:
        """Buffer ``frame``; on a full buffer close the connection instead. True if buffered."""
        if self._closed is not None:
            return False
        queue = self._queue
        if queue is None:
            queue = self._queue = deque()
        elif len(queue) >= self.capacity:
            self.close(CloseReason.OVERFLOW)
            return False
        queue.append(frame)
        self._wake()
        return True

    def ping(self) -> None:
        """Ask for a heartbeat: :meth:`next` returns :data:`PING` when nothing else waits."""
        if self._closed is None:
            self._ping = True
            self._wake()

    def close(self, reason: CloseReason) -> None:
        """Close the connection (first reason wins): drop the buffer and wake the reader."""
        if self._closed is not None:
            return
        self._closed = reason
        self._queue = None
        self._wake()
        callback, self._on_close = self._on_close, None
        if callback is not None:
            callback(reason)

    async def next(self) -> Frame | None:
        """The next buffered frame (or :data:`PING`), waiting for one; ``None`` once closed.

        A closed connection returns ``None`` at once even if frames were buffered: whatever the
        client did not get is replayed on its reconnect.
        """
        while True:
            if self._closed is not None:
                return None
            queue = self._queue
            if queue:
                frame = queue.popleft()
                if not queue:
                    self._queue = None
                self._ping = False  # any write keeps the connection alive
                return frame
            if self._ping:
                self._ping = False
                return PING
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                self._waiter = None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


@dataclass
class HubStats:
    """Counters since start: frames buffered, streams closed for overflow, streams closed by
    the per-user cap."""

    delivered: int = 0
    overflows: int = 0
    superseded: int = 0


class Hub:
    """user_id → open connections. ``capacity`` is each new connection's buffer (frames);
    ``ping_slots`` the size of the heartbeat wheel (see the module docstring)."""

    def __init__(self, capacity: int, *, ping_slots: int = 1) -> None:
        self.capacity = capacity
        self.stats = HubStats()
        self._by_user: dict[str, list[Connection]] = {}
        self._count = 0
        self._slots: list[set[Connection]] = [set() for _ in range(max(1, ping_slots))]
        self._next_slot = 0
        self._tick = 0

    def __len__(self) -> int:
        """The number of open connections."""
        return self._count

    @property
    def users(self) -> int:
        """The number of users with at least one open connection."""
        return len(self._by_user)

    @property
    def ping_slots(self) -> int:
        """The number of slots of the heartbeat wheel."""
        return len(self._slots)

    def has_user(self, user_id: str) -> bool:
        """True if ``user_id`` has an open connection. Safe to call from another thread (a
        single dict lookup); a stale answer is covered by the stream's replay."""
        return user_id in self._by_user

    def connections(self, user_id: str) -> frozenset[Connection]:
        """The open connections of ``user_id``."""
        return frozenset(self._by_user.get(user_id, ()))

    def subscribe(self, user_id: str, *, limit: int | None = None) -> Connection:
        """Open a connection for ``user_id``; it receives every frame published from now on.

        With ``limit``, the user's oldest connections are closed as
        :attr:`CloseReason.SUPERSEDED` so that at most ``limit`` stay open, the new one included.
        """
        conns = self._by_user.setdefault(user_id, [])
        while limit is not None and conns and len(conns) >= limit:
            oldest = conns[0]
            self._discard(oldest)
            oldest.close(CloseReason.SUPERSEDED)
            self.stats.superseded += 1
            conns = self._by_user.setdefault(user_id, [])
        slot = self._next_slot
        self._next_slot = (slot + 1) % len(self._slots)
        conn = Connection(user_id, self.capacity, slot)
        conns.append(conn)
        self._slots[slot].add(conn)
        self._count += 1
        return conn

    def unsubscribe(self, conn: Connection) -> None:
        """Forget ``conn`` (idempotent) and close it as disconnected if it is still open."""
        self._discard(conn)
        conn.close(CloseReason.DISCONNECT)

    def publish(self, user_id: str, frame: Frame) -> int:
        """Buffer ``frame`` for every connection of ``user_id``; returns how many took it.

        Connections whose buffer overflows are closed and removed; never blocks.
        """
        conns = self._by_user.get(user_id)
        if not conns:
            return 0
        taken = 0
        for conn in tuple(conns):
            if conn.offer(frame):
                taken += 1
            else:
                self.stats.overflows += 1
                self._discard(conn)
        self.stats.delivered += taken
        return taken

    def tick(self) -> int:
        """Ping the connections of the next wheel slot; returns how many were pinged."""
        slot = self._slots[self._tick]
        self._tick = (self._tick + 1) % len(self._slots)
        for conn in slot:
            conn.ping()
        return len(slot)

    def close_all(self, reason: CloseReason) -> int:
        """Close every connection with ``reason``; returns how many were open."""
        conns = list(self._iter_all())
        self._by_user.clear()
        for slot in self._slots:
            slot.clear()
        self._count = 0
        for conn in conns:
            conn.close(reason)
        return len(conns)

    def _iter_all(self) -> Iterator[Connection]:
        for conns in self._by_user.values():
            yield from conns

    def _discard(self, conn: Connection) -> None:
        conns = self._by_user.get(conn.user_id)
        if conns is None or conn not in conns:
            return
        conns.remove(conn)
        self._slots[conn.slot].discard(conn)
        self._count -= 1
        if not conns:
            del self._by_user[conn.user_id]


class RecentIds:
    """A bounded, insertion-ordered set of event ids already sent on one stream.

    Holds at most ``capacity`` ids; adding more evicts the oldest. Used to skip live events that
    the replay already sent, and Pub/Sub redeliveries (Pub/Sub is at-least-once).
    """

    __slots__ = ("_ids", "capacity")

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def add(self, event_id: str) -> None:
        """Remember ``event_id`` as the newest id, evicting the oldest beyond ``capacity``."""
        self._ids[event_id] = None
        self._ids.move_to_end(event_id)
        self._trim()

    def resize(self, capacity: int) -> None:
        """Change ``capacity``, keeping the newest ids."""
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._trim()

    def _trim(self) -> None:
        while len(self._ids) > self.capacity:
            self._ids.popitem(last=False)
