"""The outbox: status events are written in the transaction of the change they describe, and
published to Pub/Sub after that transaction commits (docs/data-model.md,
docs/semantics.md#events-and-replay).

:class:`Outbox` is the only code that writes the event log ``users/{uid}/events/{eventId}`` or
touches the events topic:

1. :meth:`Outbox.add` stages events in the caller's transaction or batch, so an event exists
   exactly when its change does (``published_at`` unset, ``expire_at`` = creation + :attr:`ttl`
   for the Firestore TTL policy);
2. :meth:`Outbox.flush` publishes committed events in one batch of Pub/Sub calls and marks the
   ones that made it (``published_at``) in one Firestore batch; it never raises. A caller with
   another commit coming (the publisher: claim, then record) :meth:`publish` es now and
   :meth:`mark` s the ones that made it inside that next commit, which saves the round trip;
3. :meth:`Outbox.republish` is the sweeper's step for events still unmarked after a grace period
   (Pub/Sub failed after the commit, or the process died in between).

Consumers. The Pub/Sub topic that feeds the relay is the first consumer of the event log, and
``published_at`` is its mark. Further consumers (:class:`Consumer`: the webhook fan-out,
``sharecast.webhooks.fanout``) each have their own mark field, written ``None`` with every event,
and their own pending query (``store.queries``): :meth:`flush` runs every consumer on the same
committed events and writes all the marks in one batch (:meth:`publish` runs them too and
writes their marks in a batch of its own, the caller's next commit staging only ``published_at``);
:meth:`catch_up` is the sweeper's step
for events a consumer has not taken after the grace period. A consumer's failure never blocks
another's. Duplicates are harmless: event data is a versioned snapshot and clients keep the
newest ``version``; webhook deliveries are named after their event.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import google.cloud.pubsub_v1 as pubsub_v1
from google.cloud import firestore

from sharecast.config import Settings
from sharecast.domain.events import Event
from sharecast.logs import fields
from sharecast.store import queries
from sharecast.timeutil import utcnow

log = logging.getLogger(__name__)

USERS = "users"
EVENTS = queries.EVENTS_FROM_ID.collection_group
#: The TTL field of every event (Terraform's TTL policy on ``events``, see ``store.queries``).
EXPIRE_AT = queries.EVENTS_TTL.field
#: Seconds one Pub/Sub publish may take before the event is left for the sweeper.
PUBLISH_TIMEOUT_S = 10.0

#: What :meth:`Outbox.add` writes into: a Firestore transaction or write batch.
Writer = firestore.Transaction | firestore.WriteBatch


def event_ref(db: firestore.Client, user_id: str, event_id: str) -> firestore.DocumentReference:
    """Reference of one event document."""
    return db.collection(USERS).document(user_id).collection(EVENTS).document(event_id)


def event_doc(event: Event, *, ttl: timedelta, marks: Sequence[str] = ()) -> dict[str, Any]:
    """The Firestore fields of an event; ``published_at`` and the consumers' ``marks`` start
    unset (outbox pending)."""
    return {
        "id": event.id,
        "user_id": event.user_id,
        "type": event.type.value,
        "data": event.data,
        "created_at": event.created_at,
        "published_at": None,
        **dict.fromkeys(marks),
        EXPIRE_AT: event.created_at + ttl,
    }


@dataclass(frozen=True)
class Consumer:
    """A consumer of the event log beside Pub/Sub.

    ``mark``: the event field it sets once it took an event (``None`` until then);
    ``pending``: its query of events still unmarked (equality on ``mark``, a range on
    ``created_at``); ``take(events)``: processes committed events durably (for webhooks: stores
    the deliveries and creates their tasks) and returns those it took; it may raise, and then
    takes none.
    """

    name: str
    mark: str
    pending: queries.QuerySpec
    take: Callable[[Sequence[Event]], Sequence[Event]]


class Outbox:
    """The event log and its publication (see the module docstring).

    ``db``: Firestore; ``pubsub``: the Pub/Sub publisher client; ``settings`` gives the topic
    (``PUBSUB_TOPIC``) and the retention (``EVENT_TTL_DAYS``); ``clock`` stamps the marks;
    ``consumers`` are the other consumers of the log (:class:`Consumer`).
    """

    def __init__(
        self,
        *,
        db: firestore.Client,
        pubsub: pubsub_v1.PublisherClient,
        settings: Settings,
        clock: Callable[[], datetime] = utcnow,
        consumers: Sequence[Consumer] = (),
    ) -> None:
        self._db = db
        self._pubsub = pubsub
        self._topic = settings.topic_path
        self._ttl = timedelta(days=settings.event_ttl_days)
        self._clock = clock
        self._consumers = tuple(consumers)
        self._marks = tuple(c.mark for c in self._consumers)

    @property
    def ttl(self) -> timedelta:
        """How long events are kept (the event log's TTL, ``EVENT_TTL_DAYS``)."""
        return self._ttl

    def add(self, writer: Writer, events: Sequence[Event]) -> None:
        """Stage ``events`` in ``writer`` (the caller's transaction or batch), so they commit
        with the change they describe. Publish them with :meth:`flush` after the commit."""
        for event in events:
            writer.create(
                event_ref(self._db, event.user_id, event.id),
                event_doc(event, ttl=self._ttl, marks=self._marks),
            )

    def flush(self, events: Sequence[Event]) -> int:
        """Publish committed ``events``, hand them to every consumer and mark what each took,
        all marks in one batch; returns how many made it to Pub/Sub.

        A failure is logged and left for :meth:`republish` / :meth:`catch_up` (the event stays
        unmarked, and the relay's replay covers clients meanwhile); never raises.
        """
        if not events:
            return 0
        done, taken = self._deliver(events)
        self._mark({"published_at": done, **taken})
        return len(done)

    def publish(self, events: Sequence[Event]) -> list[Event]:
        """Publish committed ``events`` without marking them published, and hand them to every
        consumer (whose marks are written here, in a batch of their own); returns the ones that
        made it to Pub/Sub (to pass to :meth:`mark` in the caller's next commit, or to
        :meth:`mark_now`). Never raises."""
        if not events:
            return []
        done, taken = self._deliver(events)
        self._mark(taken)
        return done

    def mark(self, writer: Writer, events: Sequence[Event]) -> None:
        """Stage ``published_at`` on ``events`` (published by :meth:`publish`) in ``writer``,
        the caller's next commit. Should that commit fail, they stay unmarked and the sweeper
        publishes them again (duplicates are harmless: versioned data)."""
        at = self._clock()
        for event in events:
            writer.update(event_ref(self._db, event.user_id, event.id), {"published_at": at})

    def mark_now(self, events: Sequence[Event]) -> None:
        """Mark ``events`` published in one batch of their own; a failure is logged and left
        to :meth:`republish`. Never raises."""
        self._mark({"published_at": list(events)})

    def _deliver(self, events: Sequence[Event]) -> tuple[list[Event], dict[str, list[Event]]]:
        """Publish ``events`` to Pub/Sub and hand them to every consumer: those published, and
        those each consumer took by its mark field."""
        done = self._publish(events)
        return done, {consumer.mark: self._take(consumer, events) for consumer in self._consumers}

    def catch_up(self, *, before: datetime, limit: int) -> dict[str, tuple[int, int]]:
        """For every consumer: events written before ``before`` (UTC) it has not taken, oldest
        first, at most ``limit``: hand them to it again. Returns ``{name: (found, taken)}``."""
        report: dict[str, tuple[int, int]] = {}
        for consumer in self._consumers:
            query = queries.build(
                self._db,
                consumer.pending,
                equal={consumer.mark: None},
                ranges=[("created_at", "<", before)],
                limit=limit,
            )
            events = [Event.from_doc(snap.to_dict() or {}) for snap in query.stream()]
            taken = self._take(consumer, events) if events else []
            self._mark({consumer.mark: taken})
            report[consumer.name] = (len(events), len(taken))
        return report

    def _take(self, consumer: Consumer, events: Sequence[Event]) -> list[Event]:
        try:
            return list(consumer.take(events))
        except Exception:  # left for catch_up
            log.warning(
                "outbox consumer failed", exc_info=True, extra=fields(consumer=consumer.name)
            )
            return []

    def republish(self, *, before: datetime, limit: int) -> tuple[int, int]:
        """Events of every user written before ``before`` (UTC) and never marked published,
        oldest first, at most ``limit``: publish them again. Returns ``(found, published)``."""
        query = queries.build(
            self._db,
            queries.EVENTS_UNPUBLISHED,
            equal={"published_at": None},
            ranges=[("created_at", "<", before)],
            limit=limit,
        )
        events = [Event.from_doc(snap.to_dict() or {}) for snap in query.stream()]
        done = self._publish(events) if events else []
        self._mark({"published_at": done})
        return len(events), len(done)

    def _publish(self, events: Sequence[Event]) -> list[Event]:
        """Send ``events`` to the topic in one batch of calls; the ones that made it.

        The message body is :meth:`Event.wire` as JSON; attributes ``user_id`` and ``type`` let
        the relay route without parsing."""
        futures = []
        for event in events:
            body = json.dumps(event.wire(), separators=(",", ":"), default=str).encode()
            future = self._pubsub.publish(self._topic, body, user_id=event.user_id, type=event.type)
            futures.append((event, future))
        done: list[Event] = []
        for event, future in futures:
            try:
                future.result(timeout=PUBLISH_TIMEOUT_S)
                done.append(event)
            except Exception:  # any publish failure leaves the event for the sweeper
                log.warning("event publish failed", exc_info=True, extra=fields(event_id=event.id))
        return done

    def _mark(self, marks: dict[str, list[Event]]) -> None:
        """Set each mark field on its events, in one batch (never raises: an unmarked event is
        only handled again, which is harmless)."""
        at = self._clock()
        updates: dict[tuple[str, str], dict[str, datetime]] = {}
        for field, events in marks.items():
            for event in events:
                updates.setdefault((event.user_id, event.id), {})[field] = at
        if not updates:
            return
        try:
            batch = self._db.batch()
            for (user_id, event_id), values in updates.items():
                batch.update(event_ref(self._db, user_id, event_id), values)
            batch.commit()
        except Exception:
            log.warning("marking events failed", exc_info=True)
