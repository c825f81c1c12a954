"""The media bucket and URL signer of a process, built lazily from settings and clients."""

from __future__ import annotations

import functools
import threading

import google.cloud.storage as storage

from sharecast.clients import Clients
from sharecast.media.signing import UrlSigner


class MediaServices:
    """Lazily built handles on the media bucket (``MEDIA_BUCKET``) and its URL signer."""

    def __init__(self, clients: Clients) -> None:
        self.clients = clients
        self.settings = clients.settings
        self._lock = threading.Lock()

    @functools.cached_property
    def bucket(self) -> storage.Bucket:
        """The media bucket (no API call: the bucket is not fetched)."""
        with self._lock:
            return self.clients.storage.bucket(self.settings.media_bucket)

    @functools.cached_property
    def signer(self) -> UrlSigner:
        """V4 URL signer (key or IAM signBlob, see :mod:`sharecast.media.signing`)."""
        with self._lock:
            return UrlSigner.from_settings(self.settings, self.clients.storage)
