"""The per-instance state of the relay: the hub, the Pub/Sub subscription, resume and draining.

One :class:`Relay` lives in each process (``app.state.relay``). :meth:`Relay.start` runs in the
Starlette lifespan before the first request; :meth:`Relay.stop` after the last one.

Shutdown: uvicorn waits for open responses to finish *before* it runs the lifespan shutdown, so
streams cannot be told to end from there. When the server runs in the main thread (``make run``,
Cloud Run), :meth:`Relay.start` chains a handler onto uvicorn's own SIGTERM/SIGINT handlers
(installed before the lifespan starts) that closes every stream (:meth:`Relay.drain`): each
sends a ``retry:`` hint, ends its response cleanly, and the browser reconnects (to another
instance) after that delay. The lifespan shutdown then stops the pull and deletes the
subscription.

Live delivery: the Pub/Sub callback thread drops events of users without a stream on this
instance before decoding them, queues the others and wakes the loop once per batch
(:meth:`Relay.deliver_threadsafe`), so a burst costs one wake-up, not one per event.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

import anyio
import anyio.to_thread

from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.logs import fields
from sharecast.relay.handover import Handover
from sharecast.relay.hub import CloseReason, Frame, Hub
from sharecast.relay.latency import GcPauses, LatencyHistogram
from sharecast.relay.limits import OpenRateLimiter
from sharecast.relay.replay import Resume, resume
from sharecast.relay.subscription import RelaySubscription, instance_id, subscription_id

log = logging.getLogger(__name__)

#: Ended streams whose delivered ids the relay keeps for their reconnect (about 7 KiB each, so
#: at most ~35 MiB), and for how long (seconds). A later reconnect gets its window re-sent.
HANDOVER_ENTRIES = 5_000
HANDOVER_TTL_S = 120.0

#: Firestore resume reads running at once per instance (a reconnect storm queues behind this).
REPLAY_CONCURRENCY = 32
#: Seconds between attempts to restart a failed streaming pull (doubling up to the maximum).
RESUBSCRIBE_BACKOFF_S = (1.0, 30.0)
#: Seconds between two heartbeat-wheel ticks (each pings one slot of connections).
PING_TICK_S = 0.05
#: Signals after which uvicorn stops the server (and the relay drains its streams).
EXIT_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Relay:
    """Runtime of one relay instance. Durations are seconds."""

    def __init__(self, settings: Settings, clients: Clients) -> None:
        self.settings = settings
        self.clients = clients
        self.instance_id = instance_id(settings)
        slots = max(1, round(settings.relay_heartbeat_s / PING_TICK_S))
        self.hub = Hub(settings.relay_client_buffer, ping_slots=slots)
        # What ended streams delivered, for their reconnects (which come within seconds).
        self.handover = Handover(ttl_s=HANDOVER_TTL_S, max_entries=HANDOVER_ENTRIES)
        self.latency = LatencyHistogram()  # message received -> frame written to the socket
        self.handoff = LatencyHistogram()  # message received -> picked up by the event loop
        self.loop_lag = LatencyHistogram()  # how late the heartbeat tick runs: a blocked loop
        self.gc_pauses = GcPauses()
        self.open_limiter = OpenRateLimiter(settings.relay_stream_opens_per_min)
        self.subscription = RelaySubscription(
            clients.subscriber,
            project=settings.google_cloud_project,
            topic_path=settings.topic_path,
            subscription=subscription_id(self.instance_id),
            ttl_s=settings.relay_subscription_ttl_s,
            deliver=self.deliver_threadsafe,
            wanted=self.hub.has_user,
            on_failure=self._pull_failed_threadsafe,
        )
        self.draining = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._replay_limiter = anyio.CapacityLimiter(REPLAY_CONCURRENCY)
        self._inbox: deque[tuple[str, Frame]] = deque()
        self._inbox_scheduled = False
        self._inbox_lock = threading.Lock()
        self._restore_signals: list[tuple[int, Any]] = []

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop the relay runs on (``None`` before :meth:`start`)."""
        return self._loop

    @property
    def healthy(self) -> bool:
        """True while the instance receives live events and accepts streams."""
        return self.subscription.running and not self.draining

    async def start(self) -> None:
        """Create a fresh instance subscription and start pulling (raises if the topic is
        missing). A subscription left by an earlier process with the same instance id (a
        killed local relay) is recreated: its backlog of old messages would otherwise reach new
        streams as live events; clients resume from the event log instead."""
        self._loop = asyncio.get_running_loop()
        self.draining = False
        await anyio.to_thread.run_sync(lambda: self.clients.firestore)  # build clients off-loop
        created = await anyio.to_thread.run_sync(self.subscription.ensure)
        if not created:
            await anyio.to_thread.run_sync(self.subscription.delete)
            await anyio.to_thread.run_sync(self.subscription.ensure)
        try:
            self.subscription.start()
        except Exception:
            await anyio.to_thread.run_sync(self.subscription.delete)
            raise
        self._hook_exit_signals()
        self.gc_pauses.install()
        self._spawn(self._heartbeat())
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
        self._unhook_exit_signals()
        self.gc_pauses.uninstall()
        for task in list(self._tasks):
            task.cancel()
        await anyio.to_thread.run_sync(self.subscription.stop)
        await anyio.to_thread.run_sync(self.subscription.delete)
        log.info("relay stopped", extra=fields(instance=self.instance_id))

    async def resume(
        self, user_id: str, last_event_id: str, known: frozenset[str] | None = None
    ) -> Resume:
        """What to send before live events to ``user_id`` resuming after ``last_event_id``
        (see :mod:`sharecast.relay.replay`); the Firestore reads run on a worker thread."""
        settings = self.settings
        call = functools.partial(
            resume,
            self.clients.firestore,
            user_id=user_id,
            last_event_id=last_event_id,
            overlap_s=settings.relay_replay_overlap_s,
            max_age_s=settings.relay_replay_max_age_s,
            limit=settings.relay_replay_limit,
            snapshot_posts=settings.relay_snapshot_posts,
            known=known,
        )
        return await anyio.to_thread.run_sync(call, limiter=self._replay_limiter)

    def deliver_threadsafe(self, user_id: str, frame: Frame) -> None:
        """Queue ``frame`` for ``user_id``'s streams; called on the Pub/Sub callback thread.

        Wakes the loop only if it is not already due to empty the queue. Raises
        ``RuntimeError`` once the loop is closed.
        """
        loop = self._loop
        if loop is None:
            return
        with self._inbox_lock:
            self._inbox.append((user_id, frame))
            if self._inbox_scheduled:
                return
            self._inbox_scheduled = True
        loop.call_soon_threadsafe(self._empty_inbox)

    def _empty_inbox(self) -> None:
        with self._inbox_lock:
            batch, self._inbox = self._inbox, deque()
            self._inbox_scheduled = False
        publish = self.hub.publish
        handoff = self.handoff.record
        now = time.monotonic()
        for user_id, frame in batch:
            handoff(now - frame.received)
            publish(user_id, frame)

    async def _heartbeat(self) -> None:
        # One wheel slot per tick: each stream is pinged every relay_heartbeat_s seconds.
        loop = asyncio.get_running_loop()
        next_tick = loop.time()
        while True:
            next_tick += PING_TICK_S
            await asyncio.sleep(max(0.0, next_tick - loop.time()))
            self.loop_lag.record(loop.time() - next_tick)
            self.hub.tick()

    def _hook_exit_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # uvicorn installs no handlers off the main thread (in-process tests)
        for sig in EXIT_SIGNALS:
            previous = signal.getsignal(sig)
            if not callable(previous):
                continue
            signal.signal(sig, functools.partial(self._on_exit_signal, previous))
            self._restore_signals.append((sig, previous))

    def _unhook_exit_signals(self) -> None:
        while self._restore_signals:
            sig, previous = self._restore_signals.pop()
            with contextlib.suppress(ValueError):
                signal.signal(sig, previous)

    def _on_exit_signal(self, previous: Callable[[int, Any], Any], sig: int, frame: Any) -> None:
        # Runs in the main thread between bytecodes: hand the drain to the loop, then let
        # uvicorn's handler start its graceful shutdown.
        log.info("server exit signalled", extra=fields(signal=signal.Signals(sig).name))
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.drain)
        previous(sig, frame)

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

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
