"""The instance's own Pub/Sub subscription on the status topic, and its streaming pull.

Every relay instance must see every event (its users may be connected to any instance), so each
creates ``relay-{instance_id}`` on the topic at start and deletes it at shutdown. If an instance
dies without deleting it, the expiration policy (``relay_subscription_ttl_s`` of inactivity)
removes it; messages are kept only briefly (live delivery is best effort: the Firestore event
log is the durable path, replayed on reconnect).

The streaming pull (:mod:`sharecast.relay.pull`) runs on one thread, which keeps arrival order,
decodes and encodes each frame, acks it at once (one request per batch) and hands
``(user_id, frame)`` to ``deliver`` (the app queues it for the event loop). A message for a user
with no stream on this instance is acked and dropped before it is decoded. The Pub/Sub
emulator ignores subscription filters, so routing is by the ``user_id`` attribute, in the hub.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from google.api_core import exceptions as gexc

from sharecast.config import Settings
from sharecast.logs import fields
from sharecast.relay.hub import Frame
from sharecast.relay.pull import StreamingPull
from sharecast.relay.sse import event_frame

if TYPE_CHECKING:
    from google.cloud import pubsub_v1

log = logging.getLogger(__name__)

#: Seconds an unacked message is kept (the minimum Pub/Sub allows): long enough to ride out a
#: pull reconnect, short because anything older is served by replay.
MESSAGE_RETENTION_S = 600
#: Seconds before an unacked message is redelivered; callbacks ack immediately.
ACK_DEADLINE_S = 10
#: Messages leased to this instance at once (flow control).
MAX_OUTSTANDING_MESSAGES = 1000
#: Seconds to wait for the streaming pull to stop and for admin calls.
ADMIN_TIMEOUT_S = 10.0

_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9\-_.~+%]")

Deliver = Callable[[str, Frame], None]


def instance_id(settings: Settings) -> str:
    """This process's id: ``RELAY_INSTANCE_ID``, else ``{K_REVISION or 'local'}-{8 hex}``."""
    if settings.relay_instance_id:
        return settings.relay_instance_id
    return f"{os.environ.get('K_REVISION') or 'local'}-{secrets.token_hex(4)}"


def subscription_id(instance: str) -> str:
    """``relay-{instance}``, made a valid subscription id (allowed characters, ≤ 255)."""
    return ("relay-" + _NOT_ALLOWED.sub("-", instance))[:255]


def decode_message(
    data: bytes, attributes: Mapping[str, str], *, received: float = 0.0
) -> tuple[str, Frame]:
    """``(user_id, frame)`` of one Pub/Sub message (body: ``Event.wire()`` as JSON);
    ``received`` is stamped on the frame (``time.monotonic()`` of arrival).

    The ``user_id`` attribute routes the message; it must agree with the body when both are
    present. Raises ``ValueError`` for anything malformed.
    """
    body: Any = json.loads(data)
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise ValueError("message body is not an event")
    user_id = attributes.get("user_id") or body.get("user_id")
    if not isinstance(user_id, str) or not user_id:
        raise ValueError("message has no user_id")
    if body.get("user_id") not in (None, user_id):
        raise ValueError("user_id attribute and body disagree")
    frame = event_frame(str(body.get("id")), str(body.get("type")), body["data"], received=received)
    return user_id, frame


class RelaySubscription:
    """Lifecycle of one instance subscription: :meth:`ensure`, :meth:`start`, :meth:`stop`,
    :meth:`delete`. ``ttl_s`` is the expiration policy's inactivity TTL (seconds).

    ``deliver(user_id, frame)`` is called on the pull's worker thread for every valid message
    whose ``user_id`` attribute ``wanted(user_id)`` accepts (a user with a stream here; other
    messages are acked and dropped undecoded); ``on_failure(exc)`` (also on a library thread)
    when the pull ends by itself.
    """

    def __init__(
        self,
        subscriber: pubsub_v1.SubscriberClient,
        *,
        project: str,
        topic_path: str,
        subscription: str,
        ttl_s: int,
        deliver: Deliver,
        wanted: Callable[[str], bool] | None = None,
        on_failure: Callable[[BaseException | None], None] | None = None,
    ) -> None:
        self.subscriber = subscriber
        self.topic_path = topic_path
        self.path: str = subscriber.subscription_path(project, subscription)
        self.ttl_s = ttl_s
        self.received = 0
        self.skipped = 0
        self.malformed = 0
        self._deliver = deliver
        self._wanted = wanted
        self._on_failure = on_failure
        self._pull: StreamingPull | None = None

    @property
    def batches(self) -> int:
        """StreamingPull responses received by the current pull (each a batch of messages)."""
        return self._pull.responses if self._pull is not None else 0

    @property
    def largest_batch(self) -> int:
        """Messages in the largest StreamingPull response of the current pull."""
        return self._pull.largest_batch if self._pull is not None else 0

    @property
    def running(self) -> bool:
        """True while the streaming pull is active."""
        return self._pull is not None and self._pull.running

    def ensure(self) -> bool:
        """Create the subscription; True if created, False if it already existed (blocking)."""
        request = {
            "name": self.path,
            "topic": self.topic_path,
            "ack_deadline_seconds": ACK_DEADLINE_S,
            "message_retention_duration": {"seconds": MESSAGE_RETENTION_S},
            "expiration_policy": {"ttl": {"seconds": self.ttl_s}},
        }
        try:
            self.subscriber.create_subscription(request=request, timeout=ADMIN_TIMEOUT_S)
        except gexc.AlreadyExists:
            log.info("relay subscription exists", extra=fields(subscription=self.path))
            return False
        log.info("relay subscription created", extra=fields(subscription=self.path))
        return True

    def start(self) -> None:
        """Start the streaming pull (returns at once; messages flow on the pull thread)."""
        self._pull = StreamingPull(
            self.subscriber.transport.streaming_pull,
            subscription=self.path,
            ack_deadline_s=ACK_DEADLINE_S,
            max_outstanding=MAX_OUTSTANDING_MESSAGES,
            handle=self._handle,
            on_failure=self._on_failure,
        )
        self._pull.start()

    def stop(self) -> None:
        """Stop the streaming pull and wait up to ``ADMIN_TIMEOUT_S`` for it (blocking)."""
        pull, self._pull = self._pull, None
        if pull is not None:
            pull.stop(ADMIN_TIMEOUT_S)

    def delete(self) -> None:
        """Delete the subscription; a missing one is fine (blocking)."""
        with contextlib.suppress(gexc.NotFound):
            self.subscriber.delete_subscription(
                request={"subscription": self.path}, timeout=ADMIN_TIMEOUT_S
            )
        log.info("relay subscription deleted", extra=fields(subscription=self.path))

    def _handle(self, received: float, message: Any) -> None:
        self.received += 1
        attributes = message.attributes
        routed = attributes.get("user_id")
        if routed and self._wanted is not None and not self._wanted(routed):
            self.skipped += 1  # nobody here to tell: not even decoded
            return
        try:
            user_id, frame = decode_message(message.data, attributes, received=received)
        except ValueError as exc:
            self.malformed += 1
            log.warning(
                "dropped malformed event message",
                extra=fields(message_id=message.message_id, error=str(exc)[:200]),
            )
            return
        try:
            self._deliver(user_id, frame)
        except RuntimeError:  # the event loop is closed: we are shutting down
            log.debug("event dropped during shutdown", extra=fields(event_id=frame.id))
