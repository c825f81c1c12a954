"""One SSE stream: retry hint, replay from the event log, then live events from the hub.

Why sse-starlette's :class:`EventSourceResponse` rather than a plain ``StreamingResponse``:
it already does what a long-lived SSE response needs and a plain one does not — a heartbeat
task independent of the event flow, a listener that notices client disconnects while nothing
is being sent (so idle streams are released at once, not at the next write), a HEAD answer that
does not open a stream, SSE headers (``Cache-Control: no-store``, ``X-Accel-Buffering: no``) and,
above all, detection of uvicorn's SIGTERM *before* uvicorn waits for open responses (ASGI tells
an application nothing until they finish). Its cost is four small tasks per stream, no thread.
We add a cancel scope per stream so a stream stuck writing to a slow client can be aborted.

Spec: https://html.spec.whatwg.org/multipage/server-sent-events.html (``retry``, ``id`` and
``Last-Event-ID``, comments as keep-alives).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator

import anyio
from sse_starlette.event import ServerSentEvent
from sse_starlette.sse import EventSourceResponse
from starlette.types import Receive, Scope, Send

from sharecast.logs import fields
from sharecast.relay.hub import CloseReason, Connection, RecentIds
from sharecast.relay.runtime import Relay
from sharecast.relay.sse import frame_of, retry_frame, snapshot_frame

log = logging.getLogger(__name__)

#: Seconds a closed stream may take to end on its own before it is aborted (a client that does
#: not read can block the final write forever).
CLOSE_GRACE_S = 2.0
#: Ids remembered per stream once caught up, to drop Pub/Sub redeliveries and late duplicates.
RECENT_IDS = 64
#: Longest accepted ``Last-Event-ID`` (event ids are 26 characters).
MAX_LAST_EVENT_ID = 64
#: Streams end at a random point in the last 10 % of ``relay_max_stream_s`` (no reconnect herd).
LIFETIME_JITTER = 0.1


def _ping() -> ServerSentEvent:
    return ServerSentEvent(comment="ping", sep="\n")


class RelayStream(EventSourceResponse):
    """The ``text/event-stream`` response of ``GET /events`` for one authenticated user.

    Resume without gap: the connection joins the hub *before* the replay query runs, so every
    event committed after the query's snapshot reaches the connection's buffer; the replay is
    sent, then the buffered live events minus those the replay already sent (a bounded set of
    ids), then live events. Overlap is allowed (events are versioned snapshots).
    """

    def __init__(self, relay: Relay, *, user_id: str, last_event_id: str | None) -> None:
        settings = relay.settings
        self.relay = relay
        self.user_id = user_id
        if last_event_id is not None and not 0 < len(last_event_id) <= MAX_LAST_EVENT_ID:
            last_event_id = None
        self.last_event_id = last_event_id
        self.frames_sent = 0
        self._conn: Connection | None = None
        super().__init__(
            self._frames(),
            ping=settings.relay_heartbeat_s,
            sep="\n",
            ping_message_factory=_ping,
            shutdown_grace_period=CLOSE_GRACE_S,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the stream until it is closed, the client leaves or the server stops."""
        relay = self.relay
        loop = asyncio.get_running_loop()
        started = loop.time()
        lifetime_s = relay.settings.relay_max_stream_s * (1 - LIFETIME_JITTER * random.random())
        conn = self._conn = relay.hub.subscribe(self.user_id)
        handles: list[asyncio.Handle] = []
        aborted = False
        try:
            with anyio.CancelScope() as cancel_scope:

                def closed(_: CloseReason) -> None:
                    handles.append(loop.call_later(CLOSE_GRACE_S, cancel_scope.cancel))

                conn.on_close(closed)
                handles.append(loop.call_later(lifetime_s, conn.close, CloseReason.MAX_DURATION))
                if relay.draining:
                    conn.close(CloseReason.SHUTDOWN)
                await super().__call__(scope, receive, send)
            aborted = cancel_scope.cancelled_caught
        finally:
            conn.on_close(None)
            for handle in handles:
                handle.cancel()
            relay.hub.unsubscribe(conn)
            log.info(
                "relay stream ended",
                extra=fields(
                    user_id=self.user_id,
                    reason=(conn.closed or CloseReason.DISCONNECT).value,
                    aborted=aborted,
                    frames=self.frames_sent,
                    duration_s=round(loop.time() - started, 3),
                ),
            )

    async def _frames(self) -> AsyncIterator[bytes]:
        conn = self._conn
        assert conn is not None, "the body is only iterated from __call__"
        settings = self.relay.settings
        yield retry_frame(settings.relay_retry_ms)
        sent = RecentIds(RECENT_IDS)
        catchup = 0
        if self.last_event_id and conn.closed is None:
            sent.resize(settings.relay_replay_limit + conn.capacity + 1)
            sent.add(self.last_event_id)
            try:
                events, truncated = await self.relay.replay(self.user_id, self.last_event_id)
            except Exception:  # end the stream: the client retries with the same Last-Event-ID
                log.warning(
                    "relay replay failed", exc_info=True, extra=fields(user_id=self.user_id)
                )
                return
            for event in events:
                if conn.closed is not None:
                    return
                if event.id in sent:
                    continue
                try:
                    payload = frame_of(event).payload
                except ValueError:
                    log.warning("skipped malformed stored event", extra=fields(event_id=event.id))
                    continue
                sent.add(event.id)
                self.frames_sent += 1
                yield payload
            if truncated:
                # More events than one replay may send: tell the client to reload its state.
                yield snapshot_frame({"reason": "replay_truncated", "replayed": len(events)})
            catchup = conn.pending  # live events that arrived during the replay
            if not catchup:
                sent.resize(RECENT_IDS)
        while True:
            frame = await conn.next()
            if frame is None:
                return
            duplicate = frame.id in sent
            if not duplicate:
                sent.add(frame.id)
            if catchup:
                catchup -= 1
                if not catchup:
                    sent.resize(RECENT_IDS)
            if duplicate:
                continue
            self.frames_sent += 1
            yield frame.payload
