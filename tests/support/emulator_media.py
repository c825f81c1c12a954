"""A test :class:`~sharecast.platforms.base.MediaSource` over the local storage emulator.

**The tests' source of media until the real one is wired** (the media branch brings the GCS
MediaSource with V4 signed URLs; the integrator replaces this in tests that need it): objects are
uploaded with the google-cloud-storage client to the emulator's bucket ``sharecast-media-local``
(``STORAGE_EMULATOR_HOST`` is set for the test session), ``signed_url`` answers the emulator's
plain download URL (the emulator needs no signature), and ``chunks`` does ranged reads, so
connectors stream exactly as they will from GCS.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from sharecast.platforms.base import MediaItem
from sharecast.platforms.errors import PermanentPlatformError

BUCKET = "sharecast-media-local"


class EmulatorMedia:
    """Put bytes in the emulator and read them back the way connectors do."""

    def __init__(self, bucket: str = BUCKET) -> None:
        self.host = os.environ["STORAGE_EMULATOR_HOST"].rstrip("/")
        self.client = storage.Client(project="sharecast-local", credentials=AnonymousCredentials())
        self.bucket = self.client.bucket(bucket)
        self.reads: list[tuple[int, int]] = []  # (start, length) of every ranged read

    def put(self, data: bytes, *, kind: str = "VIDEO", mime_type: str = "video/mp4") -> MediaItem:
        """Upload ``data`` as a new object; returns its :class:`MediaItem`."""
        ext = "mp4" if mime_type.startswith("video/") else "jpg"
        name = f"media/test/{uuid.uuid4().hex}.{ext}"
        self.bucket.blob(name).upload_from_string(data, content_type=mime_type)
        return MediaItem(uuid.uuid4().hex[:12], kind, mime_type, len(data), name)

    def signed_url(self, item: MediaItem, *, ttl_s: int) -> str:
        """The emulator's download URL of the object (no signature needed locally)."""
        name = quote(item.object_path, safe="")
        return f"{self.host}/download/storage/v1/b/{self.bucket.name}/o/{name}?alt=media"

    def chunks(self, item: MediaItem, *, chunk_size: int, start: int = 0) -> Iterator[bytes]:
        """Ranged reads of ``chunk_size`` bytes from ``start`` to the end of the object."""
        blob = self.bucket.blob(item.object_path)
        offset = start
        while offset < item.size:
            end = min(offset + chunk_size, item.size) - 1
            try:
                data = blob.download_as_bytes(start=offset, end=end)
            except Exception as exc:  # the emulator answers 404 for a missing object
                raise PermanentPlatformError("MEDIA_MISSING", str(exc)) from None
            self.reads.append((offset, len(data)))
            yield data
            offset += len(data)


class FlakyMedia:
    """Wraps a media source whose ranged reads fail (storage "unavailable") once ``fail_after``
    chunks have been served, to interrupt an upload midway like a crash would."""

    def __init__(self, inner: EmulatorMedia, *, fail_after: int) -> None:
        self.inner = inner
        self.fail_after = fail_after
        self.served = 0

    def signed_url(self, item: MediaItem, *, ttl_s: int) -> str:
        """As the wrapped source."""
        return self.inner.signed_url(item, ttl_s=ttl_s)

    def chunks(self, item: MediaItem, *, chunk_size: int, start: int = 0) -> Iterator[bytes]:
        """The wrapped chunks until ``fail_after`` were served, then a transient failure."""
        from sharecast.platforms.errors import TransientPlatformError

        for chunk in self.inner.chunks(item, chunk_size=chunk_size, start=start):
            if self.served >= self.fail_after:
                raise TransientPlatformError("MEDIA_READ", "storage unavailable (test)")
            self.served += 1
            yield chunk
