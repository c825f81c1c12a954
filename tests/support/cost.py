"""Counting what an operation costs in Google API calls, by wrapping the clients' gRPC channels
with an interceptor (https://grpc.github.io/grpc/python/grpc.html#client-side-interceptor).

Every Google client Sharecast builds against the local emulators (Firestore, Pub/Sub, Cloud
Tasks) opens its channel with ``grpc.insecure_channel``; :func:`counting_channels` makes each
channel opened while it is active an intercepted one, so the counts come from the calls the
clients really make, not from estimates. What is counted per RPC method:

- Firestore ``Commit``: one commit, ``len(writes)`` writes (a document create, update, set or
  delete each; a field transform rides on its write); ``BatchGetDocuments``: one round trip,
  ``len(documents)`` reads; ``RunQuery``: one query, one read per document returned (at least
  one, as Firestore bills an empty result: https://cloud.google.com/firestore/pricing);
  ``RunAggregationQuery``: one aggregation; ``BeginTransaction`` / ``Rollback``: round trips.
- Pub/Sub ``Publish``: one call, ``len(messages)`` messages.
- Cloud Tasks: one call per RPC (``CreateTask``...).
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc

FIRESTORE = "/google.firestore.v1.Firestore/"
PUBSUB = "/google.pubsub.v1.Publisher/"
TASKS = "/google.cloud.tasks.v2.CloudTasks/"

#: Columns of the cost table, in order.
COLUMNS = (
    "fs_round_trips",
    "fs_reads",
    "fs_writes",
    "fs_commits",
    "fs_queries",
    "pubsub_publishes",
    "pubsub_messages",
    "tasks_calls",
    "cpu_ms",
)


@dataclass
class Tally:
    """Counts of one measured span (see the module docstring for what each means)."""

    counts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **amounts: int) -> None:
        with self.lock:
            self.counts.update(amounts)

    def snapshot(self) -> Counter[str]:
        with self.lock:
            return Counter(self.counts)


class _CountingStream:
    """A server-streaming call whose messages are counted as they are read."""

    def __init__(self, inner: Any, on_message: Callable[[Any], None]) -> None:
        self._inner = inner
        self._on_message = on_message

    def __iter__(self) -> _CountingStream:
        return self

    def __next__(self) -> Any:
        message = next(self._inner)
        self._on_message(message)
        return message

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class CountingInterceptor(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Adds every Firestore, Pub/Sub and Cloud Tasks call to :attr:`tally`."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally

    def intercept_unary_unary(self, continuation, client_call_details, request):
        method = client_call_details.method
        self.tally.add(**{"rpc " + method.rsplit("/", 1)[-1]: 1})
        if method == FIRESTORE + "Commit":
            self.tally.add(fs_round_trips=1, fs_commits=1, fs_writes=len(request.writes))
        elif method.startswith(FIRESTORE):
            self.tally.add(fs_round_trips=1)
        elif method == PUBSUB + "Publish":
            self.tally.add(pubsub_publishes=1, pubsub_messages=len(request.messages))
        elif method.startswith(TASKS):
            self.tally.add(tasks_calls=1)
        return continuation(client_call_details, request)

    def intercept_unary_stream(self, continuation, client_call_details, request):
        method = client_call_details.method
        self.tally.add(**{"rpc " + method.rsplit("/", 1)[-1]: 1})
        response = continuation(client_call_details, request)
        if method == FIRESTORE + "BatchGetDocuments":
            self.tally.add(fs_round_trips=1, fs_reads=len(request.documents))
            return response
        if method == FIRESTORE + "RunQuery":
            self.tally.add(fs_round_trips=1, fs_queries=1)
            seen = {"docs": 0}

            def on_message(message: Any) -> None:
                if message.document and message.document.name:
                    seen["docs"] += 1
                    self.tally.add(fs_reads=1)
                if getattr(message, "done", False) and seen["docs"] == 0:
                    self.tally.add(fs_reads=1)  # an empty result is billed as one read

            return _CountingStream(response, on_message)
        if method == FIRESTORE + "RunAggregationQuery":
            self.tally.add(fs_round_trips=1, fs_queries=1, fs_reads=1)
            return response
        if method.startswith(FIRESTORE):
            self.tally.add(fs_round_trips=1)
        return response


@contextlib.contextmanager
def counting_channels(tally: Tally) -> Iterator[None]:
    """While active, every ``grpc.insecure_channel`` (what the Google clients open against the
    emulators) is intercepted by a :class:`CountingInterceptor` on ``tally``. Build the clients
    inside it; they keep counting afterwards."""
    original = grpc.insecure_channel

    def intercepted(target: str, options: Any = None, compression: Any = None) -> grpc.Channel:
        channel = original(target, options=options, compression=compression)
        return grpc.intercept_channel(channel, CountingInterceptor(tally))

    grpc.insecure_channel = intercepted
    try:
        yield
    finally:
        grpc.insecure_channel = original


def format_table(rows: dict[str, dict[str, float]], *, title: str) -> str:
    """A fixed-width table: one line per operation, one column per :data:`COLUMNS` entry."""
    names = ["operation", *COLUMNS]
    width = max(len(n) for n in rows) + 2
    lines = [title, f"{names[0]:<{width}}" + "".join(f"{c:>17}" for c in COLUMNS)]
    for name, row in rows.items():
        cells = "".join(f"{row.get(c, 0):>17.1f}" for c in COLUMNS)
        lines.append(f"{name:<{width}}" + cells)
    return "\n".join(lines)
