"""The application context: everything a service needs, built once per process.

Each entry point (``functions/main.py``: api, publisher, sweeper, media_finalized) builds one
:class:`AppContext` and passes it as the first argument to the service it calls; services and
features take ``(ctx, *, ...domain arguments)``. Tests build one against the emulators. Every
member that talks to the outside is built on first use and then shared (thread-safe): the
Google clients (:class:`sharecast.clients.Clients`), the token vault, one HTTP session, the
outbox, the media bucket with its URL signer and the platform connectors.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import google.cloud.pubsub_v1 as pubsub_v1
import google.cloud.storage as gcs
import requests
from google.cloud import firestore, tasks_v2

from sharecast.bucket.signing import UrlSigner
from sharecast.bucket.source import GcsMediaSource
from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.domain.models import TargetRecord
from sharecast.domain.statuses import Platform
from sharecast.logs import fields
from sharecast.outbox import Consumer, Outbox
from sharecast.platforms.base import Connector
from sharecast.platforms.registry import build_connectors
from sharecast.timeutil import utcnow
from sharecast.vault import TokenVault

log = logging.getLogger(__name__)

#: Threads of :attr:`AppContext.io` (a post has at most a few targets to queue at once).
IO_THREADS = 8

#: Reacts to a target outcome once it is recorded (publisher, sweeper): ``consumer(ctx,
#: target)`` returns ``False`` when it could not apply it, and the caller then asks for a
#: redelivery, so a consumer must be idempotent. The share sync (``sharecast.shares.outcome``)
#: is one.
OutcomeConsumer = Callable[["AppContext", TargetRecord], bool]

#: Builds a consumer of the event log (:class:`sharecast.outbox.Consumer`) on a context; the
#: outbox runs it on every committed event (the webhook fan-out is one).
EventConsumer = Callable[["AppContext"], Consumer]


@dataclass(frozen=True, eq=False)
class AppContext:
    """Settings, clients, vault, clock and the per-process adapters built from them.

    ``clock`` gives the current time (aware UTC). ``outcome_consumers`` are run after a target's
    outcome is recorded (see :data:`OutcomeConsumer`); ``event_consumers`` take every committed
    event after Pub/Sub (see :data:`EventConsumer`). ``platform_connectors`` replaces the
    connectors built from settings (``None``: every platform's, on first use).
    """

    settings: Settings
    clients: Clients
    clock: Callable[[], datetime] = utcnow
    outcome_consumers: tuple[OutcomeConsumer, ...] = ()
    event_consumers: tuple[EventConsumer, ...] = ()
    platform_connectors: Mapping[Platform, Connector] | None = None
    _lock: threading.RLock = field(
        default_factory=threading.RLock, init=False, repr=False, compare=False
    )

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        outcome_consumers: tuple[OutcomeConsumer, ...] = (),
        event_consumers: tuple[EventConsumer, ...] = (),
    ) -> AppContext:
        """A context on new (lazy) clients for ``settings``."""
        return cls(
            settings=settings,
            clients=Clients(settings),
            outcome_consumers=outcome_consumers,
            event_consumers=event_consumers,
        )

    def now(self) -> datetime:
        """The current time from :attr:`clock` (aware UTC)."""
        return self.clock()

    def notify_outcome(self, target: TargetRecord) -> bool:
        """Run every outcome consumer on ``target``, whose outcome was just recorded; ``False``
        when one failed (each failure is logged; the others still run)."""
        ok = True
        for consumer in self.outcome_consumers:
            try:
                ok = consumer(self, target) and ok
            except Exception:  # a redelivery applies it again (consumers are idempotent)
                log.warning(
                    "outcome consumer failed",
                    exc_info=True,
                    extra=fields(
                        consumer=getattr(consumer, "__name__", repr(consumer)),
                        post_id=target.post_id,
                        target_id=target.id,
                    ),
                )
                ok = False
        return ok

    @property
    def db(self) -> firestore.Client:
        """Firestore."""
        return self.clients.firestore

    @property
    def tasks(self) -> tasks_v2.CloudTasksClient:
        """Cloud Tasks."""
        return self.clients.tasks

    @property
    def pubsub(self) -> pubsub_v1.PublisherClient:
        """Pub/Sub publisher (only the outbox publishes)."""
        return self.clients.pubsub

    @property
    def storage(self) -> gcs.Client:
        """Cloud Storage."""
        return self.clients.storage

    @functools.cached_property
    def vault(self) -> TokenVault:
        """The token vault. Raises ``ValueError`` when ``TOKEN_ENCRYPTION_KEYS`` is missing or
        malformed."""
        with self._lock:
            return TokenVault.from_settings(self.settings)

    @functools.cached_property
    def http(self) -> requests.Session:
        """One HTTP session per process (platform APIs, OAuth endpoints, YouTube Data API)."""
        with self._lock:
            return requests.Session()

    @functools.cached_property
    def io(self) -> ThreadPoolExecutor:
        """A small thread pool for independent calls one request makes at once (the Cloud Tasks
        calls of a post's targets); the Google clients are thread-safe."""
        with self._lock:
            return ThreadPoolExecutor(max_workers=IO_THREADS, thread_name_prefix="sharecast-io")

    @functools.cached_property
    def outbox(self) -> Outbox:
        """The event log's outbox (:mod:`sharecast.outbox`) with the :attr:`event_consumers`."""
        with self._lock:
            return Outbox(
                db=self.db,
                pubsub=self.pubsub,
                settings=self.settings,
                clock=self.clock,
                consumers=[build(self) for build in self.event_consumers],
            )

    @functools.cached_property
    def media_bucket(self) -> gcs.Bucket:
        """The media bucket ``MEDIA_BUCKET`` (no API call: the bucket is not fetched)."""
        with self._lock:
            return self.storage.bucket(self.settings.media_bucket)

    @functools.cached_property
    def signer(self) -> UrlSigner:
        """V4 URL signer of media objects (key or IAM signBlob, see ``bucket.signing``)."""
        with self._lock:
            return UrlSigner.from_settings(self.settings, self.storage)

    @functools.cached_property
    def connectors(self) -> Mapping[Platform, Connector]:
        """The connector of every platform that publishes, on :attr:`http`, reading media
        through the bucket (or :attr:`platform_connectors` when given)."""
        with self._lock:
            if self.platform_connectors is not None:
                return self.platform_connectors
            media = GcsMediaSource(bucket=self.media_bucket, signer=self.signer)
            return build_connectors(self.settings, self.http, media=media)
