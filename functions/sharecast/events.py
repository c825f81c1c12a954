"""Publishing committed events to the Pub/Sub topic ``post-status`` (outbox relay)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

import google.cloud.pubsub_v1 as pubsub_v1
from google.cloud import firestore

from sharecast.domain.events import Event
from sharecast.logs import fields
from sharecast.store.events import mark_published
from sharecast.timeutil import utcnow

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_S = 10.0


def publish_events(
    *,
    publisher: pubsub_v1.PublisherClient,
    db: firestore.Client,
    topic_path: str,
    events: Sequence[Event],
) -> int:
    """Publish committed ``events`` and mark them published; returns how many made it.

    The message body is :meth:`Event.wire` as JSON; attributes ``user_id`` and ``type`` let the
    relay route without parsing. A failure is logged and left for the sweeper (the event stays
    unpublished in the log, and the relay's replay covers clients meanwhile); it never raises.
    """
    done: list[Event] = []
    futures = []
    for event in events:
        body = json.dumps(event.wire(), separators=(",", ":"), default=str).encode()
        futures.append(
            (event, publisher.publish(topic_path, body, user_id=event.user_id, type=event.type))
        )
    for event, future in futures:
        try:
            future.result(timeout=PUBLISH_TIMEOUT_S)
            done.append(event)
        except Exception:  # any publish failure leaves the event for the sweeper
            log.warning("event publish failed", exc_info=True, extra=fields(event_id=event.id))
    try:
        mark_published(db, done, utcnow())
    except Exception:  # the sweeper republishes; duplicates are harmless (versioned snapshots)
        log.warning("marking events published failed", exc_info=True)
    return len(done)
