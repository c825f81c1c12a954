"""A lean StreamingPull on the relay's own subscription: one thread, immediate acks.

Why not the client library's ``SubscriberClient.subscribe``: it wraps every message in a
``Message``, leases it, submits it to an executor and batches its ack through a dispatcher
thread: ~100-200 µs of Python per message on this machine, paid by every relay instance for
every event of every user (README, "Scaling the relay"), and threads holding the GIL while
the event loop waits to write. The relay acks at once and never needs leases, so it speaks the
``google.pubsub.v1.Subscriber/StreamingPull`` RPC itself through the same client's public
transport (https://cloud.google.com/pubsub/docs/reference/rpc/google.pubsub.v1#streamingpullrequest):
the first request names the subscription, later ones carry ack ids (or nothing, as a
heartbeat); each response is a batch of messages read straight from the protobuf.

The stream is reopened with backoff after a retryable error (the service also ends streams by
itself from time to time); a terminating error (the subscription is gone, permission denied)
ends the pull and calls ``on_failure`` so the relay can recreate the subscription.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from google.api_core import exceptions as gexc
from google.pubsub_v1.types import StreamingPullRequest, StreamingPullResponse

from sharecast.logs import fields

log = logging.getLogger(__name__)

#: Seconds between heartbeat requests on an idle stream (the service closes silent streams).
HEARTBEAT_S = 5.0
#: Seconds the request generator waits for ack ids before checking for a stop.
POLL_S = 0.5
#: Backoff between stream reopenings after retryable errors, seconds (doubling).
REOPEN_BACKOFF_S = (0.1, 10.0)
#: Errors after which the stream is simply reopened (as the client library does).
RETRYABLE = (
    gexc.Aborted,
    gexc.DeadlineExceeded,
    gexc.GatewayTimeout,
    gexc.InternalServerError,
    gexc.ResourceExhausted,
    gexc.ServiceUnavailable,
    gexc.Unknown,
)

#: ``handle(received_at, message)`` for each message: ``time.monotonic()`` of arrival and the
#: raw ``google.pubsub.v1.PubsubMessage`` protobuf (``data``, ``attributes``, ``message_id``).
Handler = Callable[[float, Any], None]


class StreamingPull:
    """Pulls ``subscription`` on a daemon thread until :meth:`stop`; see the module docstring.

    ``streaming_pull`` is the transport's StreamingPull callable (``request iterator → response
    iterator`` with a ``cancel()``); ``handle`` runs on the pull thread for every message, in
    arrival order, and must not block; ``on_failure(error)`` runs once if the pull ends by
    itself.
    """

    def __init__(
        self,
        streaming_pull: Callable[[Iterator[StreamingPullRequest]], Any],
        *,
        subscription: str,
        ack_deadline_s: int,
        max_outstanding: int,
        handle: Handler,
        on_failure: Callable[[BaseException | None], None] | None = None,
    ) -> None:
        self._rpc = streaming_pull
        self.subscription = subscription
        self.ack_deadline_s = ack_deadline_s
        self.max_outstanding = max_outstanding
        self._handle = handle
        self._on_failure = on_failure
        self._stopping = threading.Event()
        self._call: Any = None
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.streams_opened = 0
        self.responses = 0  # StreamingPull responses (each a batch of messages)
        self.largest_batch = 0  # messages in the largest response so far

    @property
    def running(self) -> bool:
        """True while the pull thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start pulling (returns at once)."""
        self._stopping.clear()
        self.error = None
        self._thread = threading.Thread(target=self._run, name="relay-pull", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float) -> None:
        """Stop pulling and wait up to ``timeout_s`` seconds for the thread (blocking)."""
        self._stopping.set()
        call = self._call
        if call is not None:
            with contextlib.suppress(Exception):
                call.cancel()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout_s)

    def _run(self) -> None:
        delay, ceiling = REOPEN_BACKOFF_S
        while not self._stopping.is_set():
            try:
                self._stream_once()
                delay = REOPEN_BACKOFF_S[0]
            except RETRYABLE as exc:
                log.info("relay pull stream reopens", extra=fields(error=repr(exc)[:200]))
                self._stopping.wait(delay)
                delay = min(delay * 2, ceiling)
            except BaseException as exc:  # terminating: tell the relay, which resubscribes
                if self._stopping.is_set() or isinstance(exc, gexc.Cancelled):
                    return
                self.error = exc
                log.error("relay pull ended", extra=fields(error=repr(exc)[:300]))
                if self._on_failure is not None:
                    self._on_failure(exc)
                return

    def _stream_once(self) -> None:
        acks: queue.SimpleQueue[list[str]] = queue.SimpleQueue()
        call = self._rpc(self._requests(acks))
        self._call = call
        self.streams_opened += 1
        try:
            if self._stopping.is_set():
                return
            handle = self._handle
            for response in call:
                received = time.monotonic()
                self.responses += 1
                ack_ids = []
                for item in StreamingPullResponse.pb(response).received_messages:
                    ack_ids.append(item.ack_id)
                    handle(received, item.message)
                if ack_ids:
                    acks.put(ack_ids)
                    if len(ack_ids) > self.largest_batch:
                        self.largest_batch = len(ack_ids)
        except grpc.RpcError as exc:  # the raw transport raises gRPC's errors: map them
            raise gexc.from_grpc_error(exc) from exc
        finally:
            self._call = None

    def _requests(self, acks: queue.SimpleQueue[list[str]]) -> Iterator[StreamingPullRequest]:
        yield StreamingPullRequest(
            subscription=self.subscription,
            stream_ack_deadline_seconds=self.ack_deadline_s,
            max_outstanding_messages=self.max_outstanding,
        )
        idle_since = time.monotonic()
        while not self._stopping.is_set():
            try:
                ack_ids = acks.get(timeout=POLL_S)
            except queue.Empty:
                if time.monotonic() - idle_since >= HEARTBEAT_S:
                    idle_since = time.monotonic()
                    yield StreamingPullRequest()
                continue
            while True:  # everything waiting goes in one request
                try:
                    ack_ids += acks.get_nowait()
                except queue.Empty:
                    break
            idle_since = time.monotonic()
            yield StreamingPullRequest(ack_ids=ack_ids)
