"""The per-instance state of the relay: the hub, the Pub/Sub subscription, replay and draining.

One :class:`Relay` lives in each process (``app.state.relay``). :meth:`Relay.start` runs in the
Starlette lifespan before the first request; :meth:`Relay.stop` after the last one.

Shutdown: uvicorn waits for open responses to finish *before* it runs the lifespan shutdown, so
streams cannot be told to end from there. On SIGTERM uvicorn sets ``Server.should_exit``;
sse-starlette notices it (its shared watcher polls every 0.5 s) and the relay then closes every
stream (:meth:`Relay.drain`): each sends what it was sending, ends its response cleanly, and the
browser reconnects (to another instance) after the ``retry`` delay. The lifespan shutdown then
stops the pull and deletes the subscription.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Coroutine
from typing import Any

import anyio
import anyio.to_thread
from sse_starlette.sse import EventSourceResponse

from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.domain.events import Event
from sharecast.logs import fields
from sharecast.relay.hub import CloseReason, Frame, Hub
from sharecast.relay.subscription import RelaySubscription, instance_id, subscription_id
from sharecast.store.events import list_events_after

log = logging.getLogger(__name__)

#: Firestore replay queries running at once per instance (a reconnect storm queues behind this).
REPLAY_CONCURRENCY = 32
#: Seconds between attempts to restart a failed streaming pull (doubling up to the maximum).
RESUBSCRIBE_BACKOFF_S = (1.0, 30.0)


class Relay:
    """Runtime of one relay instance. Durations are seconds."""

    def __init__(self, settings: Settings, clients: Clients) -> None:
        self.settings = settings
        self.clients = clients
        self.instance_id = instance_id(settings)
        self.hub = Hub(settings.relay_client_buffer)
        self.subscription = RelaySubscription(
            clients.subscriber,
            project=settings.google_cloud_project,
            topic_path=settings.topic_path,
            subscription=subscription_id(self.instance_id),
            ttl_s=settings.relay_subscription_ttl_s,
            deliver=self._deliver_threadsafe,
            on_failure=self._pull_failed_threadsafe,
        )
        self.draining = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._replay_limiter = anyio.CapacityLimiter(REPLAY_CONCURRENCY)

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop the relay runs on (``None`` before :meth:`start`)."""
        return self._loop

    @property
    def healthy(self) -> bool:
        """True while the instance receives live events and accepts streams."""
        return self.subscription.running and not self.draining

    async def start(self) -> None:
        """Create the instance subscription and start pulling (raises if the topic is missing)."""
        self._loop = asyncio.get_running_loop()
        self.draining = False
        await anyio.to_thread.run_sync(lambda: self.clients.firestore)  # build clients off-loop
        created = await anyio.to_thread.run_sync(self.subscription.ensure)
        try:
            self.subscription.start()
        except Exception:
            if created:
                await anyio.to_thread.run_sync(self.subscription.delete)
            raise
        self._spawn(self._watch_server_exit())
        log.info(
            "relay started",
            extra=fields(instance=self.instance_id, subscription=self.subscription.path),
        )

    def drain(self, reason: CloseReason = CloseReason.SHUTDOWN) -> int:
        """Close every open stream and end new ones at once; returns how many were closed."""
        first = not self.draining
        self.draining = True
        closed = self.hub.close_all(reason)
        if first or closed:
            log.info("relay draining", extra=fields(streams=closed, reason=reason.value))
        return closed

    async def stop(self) -> None:
        """Drain, stop the pull and delete the subscription (the lifespan shutdown)."""
        self.drain()
        for task in list(self._tasks):
            task.cancel()
        await anyio.to_thread.run_sync(self.subscription.stop)
        await anyio.to_thread.run_sync(self.subscription.delete)
        log.info("relay stopped", extra=fields(instance=self.instance_id))

    async def replay(self, user_id: str, after_id: str) -> tuple[list[Event], bool]:
        """Events of ``user_id`` after ``after_id`` (with overlap), and whether more remain.

        At most ``relay_replay_limit`` events; the query runs on a worker thread.
        """
        limit = self.settings.relay_replay_limit
        query = functools.partial(
            list_events_after,
            self.clients.firestore,
            user_id=user_id,
            after_id=after_id,
            overlap_s=self.settings.relay_replay_overlap_s,
            # Two extra rows: ``after_id`` itself is dropped, and one more proves truncation.
            limit=limit + 2,
        )
        events = await anyio.to_thread.run_sync(query, limiter=self._replay_limiter)
        return events[:limit], len(events) > limit

    def _deliver_threadsafe(self, user_id: str, frame: Frame) -> None:
        # On the Pub/Sub callback thread: hand over to the loop, never touch the hub here.
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.hub.publish, user_id, frame)

    def _pull_failed_threadsafe(self, error: BaseException | None) -> None:
        if self._loop is None or self.draining:
            return
        with contextlib.suppress(RuntimeError):  # loop closed: shutting down
            self._loop.call_soon_threadsafe(self._start_resubscribe)

    def _start_resubscribe(self) -> None:
        if not self.draining:
            self._spawn(self._resubscribe())

    async def _resubscribe(self) -> None:
        delay, ceiling = RESUBSCRIBE_BACKOFF_S
        while not self.draining:
            try:
                created = await anyio.to_thread.run_sync(self.subscription.ensure)
                self.subscription.start()
            except Exception:
                log.exception("relay resubscribe failed", extra=fields(retry_in_s=delay))
                await asyncio.sleep(delay)
                delay = min(delay * 2, ceiling)
                continue
            if created:
                # Live events published while the subscription did not exist are lost here:
                # end every stream so each client reconnects and replays them from Firestore.
                self.hub.close_all(CloseReason.RESUBSCRIBE)
            log.info("relay resubscribed", extra=fields(created=created))
            return

    async def _watch_server_exit(self) -> None:
        # sse-starlette's shared shutdown watcher (uvicorn's should_exit, i.e. SIGTERM/SIGINT).
        # Private API of the pinned sse-starlette 3.7; without it, per-stream shutdown handling
        # of sse-starlette still ends streams (less cleanly, after its grace period).
        wait = getattr(EventSourceResponse, "_listen_for_exit_signal", None)
        if wait is None:
            return
        await wait()
        log.info("server exit signalled")
        self.drain()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
