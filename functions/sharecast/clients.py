"""Google clients, built once per process, lazily, and aware of the local emulators.

Entry points build a :class:`Clients` once, inside the process's
:class:`sharecast.app.AppContext`.
Firestore, Pub/Sub and Storage honour ``*_EMULATOR_HOST`` by themselves; Cloud Tasks has no
official emulator switch, so ``CLOUD_TASKS_EMULATOR_HOST`` selects an insecure gRPC channel to
``infra/cloudtasks``.
"""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING

from sharecast.config import Settings, get_settings

if TYPE_CHECKING:
    import google.cloud.pubsub_v1 as pubsub_v1
    import google.cloud.storage as storage
    from google.cloud import firestore, tasks_v2


class Clients:
    """Lazily constructed, thread-safe singletons of every Google client Sharecast uses."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()

    @functools.cached_property
    def firestore(self) -> firestore.Client:
        """Firestore (native mode) client for ``GOOGLE_CLOUD_PROJECT``."""
        from google.cloud import firestore

        with self._lock:
            return firestore.Client(project=self.settings.google_cloud_project)

    @functools.cached_property
    def pubsub(self) -> pubsub_v1.PublisherClient:
        """Pub/Sub publisher client with small batches (status events are latency-sensitive);
        only :class:`sharecast.outbox.Outbox` publishes with it."""
        import google.cloud.pubsub_v1 as pubsub_v1

        with self._lock:
            return pubsub_v1.PublisherClient(
                batch_settings=pubsub_v1.types.BatchSettings(max_latency=0.005, max_messages=100)
            )

    @functools.cached_property
    def subscriber(self) -> pubsub_v1.SubscriberClient:
        """Pub/Sub subscriber (the relay's per-instance subscription)."""
        import google.cloud.pubsub_v1 as pubsub_v1

        with self._lock:
            return pubsub_v1.SubscriberClient()

    @functools.cached_property
    def tasks(self) -> tasks_v2.CloudTasksClient:
        """Cloud Tasks client; talks to the local emulator when CLOUD_TASKS_EMULATOR_HOST is set."""
        from google.cloud import tasks_v2

        with self._lock:
            host = self.settings.cloud_tasks_emulator_host
            if not host:
                return tasks_v2.CloudTasksClient()
            import grpc
            from google.cloud.tasks_v2.services.cloud_tasks.transports import (
                CloudTasksGrpcTransport,
            )

            channel = grpc.insecure_channel(host)
            return tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))

    @functools.cached_property
    def storage(self) -> storage.Client:
        """Cloud Storage client (media objects); anonymous against STORAGE_EMULATOR_HOST."""
        import google.cloud.storage as storage

        with self._lock:
            return storage.Client(project=self.settings.google_cloud_project)


@functools.cache
def get_clients() -> Clients:
    """The process-wide :class:`Clients` for the process-wide settings."""
    return Clients(get_settings())
