"""``GET /events``: one Server-Sent Events stream, as a plain ASGI handler.

Why not sse-starlette: its four tasks per stream (sender, ping, disconnect listener, shutdown
watcher), an anyio task group and memory streams made an idle stream cost ~45 KiB, and its
shutdown watcher is a private API. Here a stream is the ASGI request coroutine itself plus one
small task that waits for the client's disconnect; heartbeats come from the hub's wheel
(:meth:`sharecast.relay.hub.Hub.tick`), deadlines from one timer handle.

What a stream sends (https://html.spec.whatwg.org/multipage/server-sent-events.html):
``retry: <ms>``; after a ``Last-Event-ID`` (header, or ``?lastEventId=`` for a new EventSource)
the replay or a ``snapshot`` (:mod:`sharecast.relay.replay`); then live events and ``: ping``
heartbeats. It ends, after another ``retry:`` hint and a clean end of the response, at the
first of: ``relay_max_stream_s`` (jittered), the credential's ``exp``, SIGTERM (drain), the
per-user cap closing it for a newer stream (:mod:`sharecast.relay.limits`), a recreated
subscription. A stream whose client reads too slowly is
closed at once (overflow); a write stuck on such a client is aborted after ``CLOSE_GRACE_S``.
Every end leaves the client able to resume from its last id.

Resume without gap: the connection joins the hub *before* the replay is read, so every event
committed after the read reaches the connection's buffer; the replay is sent, then the buffered
live events minus those the replay already sent (a bounded set of ids), then live events. A new
stream (no ``Last-Event-ID``) skips live events stamped more than ``relay_replay_overlap_s``
before it opened: those are republished or redelivered events from before its time.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from datetime import timedelta

from starlette.types import Message, Receive, Scope, Send

from sharecast.domain.events import event_id_floor
from sharecast.logs import fields
from sharecast.relay.http import cors_headers, send_problem
from sharecast.relay.hub import PING, CloseReason, Connection, RecentIds
from sharecast.relay.requests import StreamRequest, open_request
from sharecast.relay.runtime import Relay
from sharecast.relay.sse import retry_frame
from sharecast.timeutil import utcnow

log = logging.getLogger(__name__)

#: Seconds a closed stream may take to end on its own before it is aborted (a client that does
#: not read can block the final write forever).
CLOSE_GRACE_S = 2.0
#: Ids remembered per stream once caught up, to drop Pub/Sub redeliveries and late duplicates.
RECENT_IDS = 16
#: Ids a resumed stream keeps from its replay window (the newest), so that a late live copy of
#: an event the client already has (the live delivery of an event can trail its replay) is
#: dropped too.
RESUMED_IDS = 64
#: Streams end at a random point in the last 10 % of ``relay_max_stream_s`` (no reconnect herd).
LIFETIME_JITTER = 0.1
#: Reasons after which the client is told to come back (``retry:``) before the response ends.
_HINTED = frozenset(
    {
        CloseReason.MAX_DURATION,
        CloseReason.EXPIRED,
        CloseReason.SUPERSEDED,
        CloseReason.SHUTDOWN,
        CloseReason.RESUBSCRIBE,
    }
)
_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),
]


class Stream:
    """One open stream: the state :func:`serve` keeps while it runs (kept small: ~10,000 of
    these live in one instance)."""

    __slots__ = (
        "aborting",
        "conn",
        "delivered",
        "frames",
        "last_id",
        "relay",
        "request",
        "send",
        "task",
    )

    def __init__(self, relay: Relay, request: StreamRequest, conn: Connection, send: Send):
        self.relay = relay
        self.request = request
        self.conn = conn
        self.send = send
        self.frames = 0
        self.aborting = False
        self.task = asyncio.current_task()
        # What the client surely holds: ids written to it (and known held at its resume), and
        # the last id written, which is the Last-Event-ID it will come back with.
        self.delivered = RecentIds(RESUMED_IDS)
        self.last_id = request.last_event_id

    async def deliver(self, frame_id: str, payload: bytes) -> None:
        """Write an event frame and note it as delivered (only once the write returned)."""
        await self.write(payload)
        self.delivered.add(frame_id)
        self.last_id = frame_id

    async def write(self, payload: bytes) -> None:
        """Send ``payload`` as the next piece of the response body."""
        await self.send({"type": "http.response.body", "body": payload, "more_body": True})

    def abort_later(self, reason: CloseReason) -> None:
        """After ``CLOSE_GRACE_S``, cancel the stream if it is still running (stuck write)."""
        loop = asyncio.get_running_loop()
        loop.call_later(CLOSE_GRACE_S, self._abort)

    def _abort(self) -> None:
        if self.task is not None and not self.task.done():
            self.aborting = True
            self.task.cancel()


async def serve(
    relay: Relay, request: StreamRequest, scope: Scope, receive: Receive, send: Send
) -> None:
    """Stream ``request``'s events until the stream closes (see the module docstring)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    conn = relay.hub.subscribe(request.user_id, limit=relay.settings.relay_max_streams_per_user)
    stream = Stream(relay, request, conn, send)
    relay.handover.opened(request.user_id, stream)
    conn.on_close(stream.abort_later)
    deadline = _deadline(relay, request, started)
    timer = loop.call_at(deadline[0], conn.close, deadline[1])
    watcher = loop.create_task(_watch_disconnect(receive, conn))
    aborted = False
    try:
        headers = _HEADERS + request.cors
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await stream.write(retry_frame(relay.settings.relay_retry_ms))
        if relay.draining:
            conn.close(CloseReason.SHUTDOWN)
        await _run(stream)
        await _finish(stream)
    except asyncio.CancelledError:
        if not stream.aborting:
            raise
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        aborted = True
    finally:
        relay.handover.ended(request.user_id, stream)
        conn.on_close(None)
        timer.cancel()
        watcher.cancel()
        relay.hub.unsubscribe(conn)
        log.info(
            "relay stream ended",
            extra=fields(
                user_id=request.user_id,
                reason=(conn.closed or CloseReason.DISCONNECT).value,
                aborted=aborted,
                frames=stream.frames,
                duration_s=round(loop.time() - started, 3),
            ),
        )


def _deadline(relay: Relay, request: StreamRequest, started: float) -> tuple[float, CloseReason]:
    """When (loop time) and why the stream ends by itself: max duration or credential expiry."""
    lifetime = relay.settings.relay_max_stream_s * (1 - LIFETIME_JITTER * random.random())
    until_exp = request.expires_at - time.time()
    if until_exp < lifetime:
        return started + max(0.0, until_exp), CloseReason.EXPIRED
    return started + lifetime, CloseReason.MAX_DURATION


async def _watch_disconnect(receive: Receive, conn: Connection) -> None:
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            conn.close(CloseReason.DISCONNECT)
            return


async def _run(stream: Stream) -> None:
    conn, relay, request = stream.conn, stream.relay, stream.request
    sent = RecentIds(RECENT_IDS)
    catchup = 0
    floor = ""
    if request.last_event_id and conn.closed is None:
        if not await _resume(stream, sent):
            return
        catchup = conn.pending  # live events that arrived during the replay
    elif not request.last_event_id:
        overlap = timedelta(seconds=relay.settings.relay_replay_overlap_s)
        floor = event_id_floor(utcnow() - overlap)
    keep = max(RECENT_IDS, min(len(sent), RESUMED_IDS))
    if not catchup:
        sent.resize(keep)
    latency = relay.latency
    while (frame := await conn.next()) is not None:
        if frame is PING:
            await stream.write(frame.payload)
            continue
        duplicate = frame.id in sent or frame.id < floor
        if not duplicate:
            sent.add(frame.id)
        if catchup:
            catchup -= 1
            if not catchup:
                sent.resize(keep)
        if duplicate:
            continue
        await stream.deliver(frame.id, frame.payload)
        stream.frames += 1
        if frame.received:
            latency.record(time.monotonic() - frame.received)


async def _resume(stream: Stream, sent: RecentIds) -> bool:
    """Send the replay or snapshot after ``Last-Event-ID``; False if the stream must end."""
    conn, relay, request = stream.conn, stream.relay, stream.request
    assert request.last_event_id is not None
    try:
        known = relay.handover.recall(request.user_id, request.last_event_id, exclude=stream)
        resumed = await relay.resume(request.user_id, request.last_event_id, known)
    except Exception:  # end the stream: the client retries with the same Last-Event-ID
        log.warning("relay replay failed", exc_info=True, extra=fields(user_id=request.user_id))
        return False
    sent.resize(len(resumed.frames) + len(resumed.held) + conn.capacity + 1)
    sent.add(request.last_event_id)
    for event_id in resumed.held:  # the client has these: late live copies are dropped too
        sent.add(event_id)
        stream.delivered.add(event_id)
    if resumed.snapshot is not None:
        await stream.write(resumed.snapshot)
    for frame in resumed.frames:
        if conn.closed is not None:
            return False
        sent.add(frame.id)
        await stream.deliver(frame.id, frame.payload)
        stream.frames += 1
    if resumed.reason != "replay":
        log.info("relay sent a snapshot", extra=fields(user_id=request.user_id, why=resumed.reason))
    else:
        log.info(
            "relay resumed",
            extra=fields(
                user_id=request.user_id,
                last_event_id=request.last_event_id,
                replayed=len(resumed.frames),
                held=len(resumed.held),
            ),
        )
    return True


async def _finish(stream: Stream) -> None:
    """End the response: a ``retry:`` hint first when the relay (not the client) ended it."""
    reason = stream.conn.closed
    if reason is None or reason is CloseReason.DISCONNECT:
        return
    tail = retry_frame(stream.relay.settings.relay_retry_ms) if reason in _HINTED else b""
    await stream.send({"type": "http.response.body", "body": tail, "more_body": False})


async def handle(relay: Relay, scope: Scope, receive: Receive, send: Send) -> None:
    """The ASGI handler of ``GET``/``HEAD /events``: authenticate (401 problem+json before any
    stream starts), then :func:`serve`. A ``HEAD`` gets the headers only."""
    request = open_request(scope, relay.settings, relay.open_limiter)
    if not isinstance(request, StreamRequest):
        await send_problem(send, request, cors_headers(scope, relay.settings))
        return
    if scope["method"] == "HEAD":
        headers = _HEADERS + request.cors
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    await serve(relay, request, scope, receive, send)
