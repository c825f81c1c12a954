"""The publisher's read access to media objects: :class:`GcsMediaSource` implements
:class:`sharecast.platforms.base.MediaSource` on the media bucket (docs/api.md#media).

Platforms that fetch by URL get a V4 signed GET URL; platforms that need the bytes get them in
ranged reads of ``chunk_size`` bytes (``Range: bytes=start-end``), one request per chunk, so a
publisher never holds more than one chunk of a video in memory
(https://cloud.google.com/storage/docs/json_api/v1/objects/get, ``alt=media`` with Range).
"""

from __future__ import annotations

from collections.abc import Iterator

import google.auth.exceptions
import google.cloud.storage as storage
import requests
from google.api_core.exceptions import GoogleAPICallError, RetryError
from google.api_core.exceptions import NotFound as GcsNotFound

from sharecast.bucket.signing import UrlSigner
from sharecast.platforms.base import MediaItem
from sharecast.platforms.errors import PermanentPlatformError, TransientPlatformError


class GcsMediaSource:
    """Signed URLs and chunked reads of objects in the media bucket."""

    def __init__(self, *, bucket: storage.Bucket, signer: UrlSigner) -> None:
        self._bucket = bucket
        self._signer = signer

    def signed_url(self, item: MediaItem, *, ttl_s: int) -> str:
        """A V4 signed GET URL of ``item`` valid ``ttl_s`` seconds. Raises
        ``TransientPlatformError("MEDIA_SIGN")`` when IAM signBlob cannot be reached."""
        try:
            return self._signer.sign(item.object_path, method="GET", ttl_s=ttl_s)
        except (google.auth.exceptions.GoogleAuthError, requests.RequestException) as exc:
            raise TransientPlatformError("MEDIA_SIGN", f"cannot sign a media URL: {exc}") from None

    def chunks(self, item: MediaItem, *, chunk_size: int, start: int = 0) -> Iterator[bytes]:
        """The bytes of ``item`` from ``start`` in chunks of ``chunk_size`` (the last may be
        shorter), read one range at a time. Raises ``PermanentPlatformError("MEDIA_MISSING")``
        when the object is gone and ``TransientPlatformError("MEDIA_READ")`` when Storage
        fails."""
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        blob = self._bucket.blob(item.object_path)
        offset = start
        while offset < item.size:
            end = min(offset + chunk_size, item.size) - 1
            try:
                data = blob.download_as_bytes(
                    start=offset, end=end, checksum=None, raw_download=True
                )
            except GcsNotFound:
                raise PermanentPlatformError(
                    "MEDIA_MISSING", f"media object {item.media_id} no longer exists"
                ) from None
            except (GoogleAPICallError, RetryError, requests.RequestException) as exc:
                raise TransientPlatformError(
                    "MEDIA_READ", f"reading media {item.media_id}: {type(exc).__name__}"
                ) from None
            if not data:
                raise PermanentPlatformError(
                    "MEDIA_MISSING", f"media object {item.media_id} is shorter than recorded"
                )
            offset += len(data)
            yield data
