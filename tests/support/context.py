"""Building the application context's parts for tests, against the test stack's emulators."""

from __future__ import annotations

from google.cloud import firestore

from sharecast.clients import Clients
from sharecast.config import Settings
from sharecast.outbox import Outbox


def outbox_for(db: firestore.Client, settings: Settings | None = None) -> Outbox:
    """The outbox on ``db`` (events written in ``db``'s transactions), publishing to the test
    stack's Pub/Sub emulator."""
    settings = settings or Settings()
    return Outbox(db=db, pubsub=Clients(settings).pubsub, settings=settings)
