"""V4 signed URLs of media objects (docs/api.md#media), made by google-cloud-storage.

Two ways to sign, chosen by settings:

- **A key** (``MEDIA_SIGNER_KEY``, a PEM RSA private key, with ``MEDIA_SIGNER_EMAIL``): the
  string-to-sign is signed locally. The local stack uses a generated dev key of a fake account.
- **IAM signBlob** (no key, the Cloud Functions case): the runtime's own credentials are
  refreshed and ``blob.generate_signed_url(service_account_email=..., access_token=...)`` asks
  ``iamcredentials.googleapis.com`` to sign as that account, which needs
  ``roles/iam.serviceAccountTokenCreator`` on itself (terraform/iam.tf).

https://cloud.google.com/storage/docs/access-control/signed-urls and
https://cloud.google.com/storage/docs/access-control/signing-urls-with-helpers
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import google.auth
import google.auth.transport.requests
import google.cloud.storage as storage
from google.auth import crypt
from google.oauth2 import service_account

from sharecast.config import Settings

#: Refresh the runtime's access token when it expires within this many seconds.
TOKEN_MARGIN_S = 300
TOKEN_URI = "https://oauth2.googleapis.com/token"


class UrlSigner:
    """Signs V4 URLs for objects of one bucket with a key or through IAM signBlob.

    ``endpoint`` is the scheme and host of the URLs (``https://storage.googleapis.com``, or the
    Storage emulator locally)."""

    def __init__(
        self,
        *,
        bucket: str,
        endpoint: str,
        signer_email: str | None,
        signer_key: str | None,
        client: storage.Client,
        credentials: Any = None,
    ) -> None:
        self.bucket = bucket
        self._client = client
        self.endpoint = endpoint.rstrip("/")
        self._email = signer_email
        self._key_credentials: service_account.Credentials | None = None
        if signer_key:
            if not signer_email:
                raise ValueError("MEDIA_SIGNER_KEY needs MEDIA_SIGNER_EMAIL")
            self._key_credentials = service_account.Credentials(
                signer=crypt.RSASigner.from_string(signer_key),
                service_account_email=signer_email,
                token_uri=TOKEN_URI,
            )
        self._runtime = credentials
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, client: storage.Client) -> UrlSigner:
        """The signer the settings describe (key when ``MEDIA_SIGNER_KEY`` is set, else IAM);
        ``client`` is only used for its universe domain (no call is made)."""
        key = settings.media_signer_key
        return cls(
            client=client,
            bucket=settings.media_bucket,
            endpoint=settings.media_url_endpoint,
            signer_email=settings.media_signer_email,
            signer_key=key.get_secret_value() if key is not None else None,
        )

    @property
    def uses_key(self) -> bool:
        """True when URLs are signed with a local key rather than through IAM."""
        return self._key_credentials is not None

    def sign(
        self,
        object_path: str,
        *,
        method: str,
        ttl_s: int,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> str:
        """A V4 signed URL for ``method`` on ``object_path``, valid ``ttl_s`` seconds.

        ``content_type`` and ``headers`` become signed headers the client must send as given.
        Raises ``google.auth.exceptions.TransportError`` / ``RefreshError`` when IAM or the
        metadata server cannot be reached."""
        blob = self._client.bucket(self.bucket).blob(object_path)
        kwargs: dict[str, Any] = {
            "version": "v4",
            "expiration": timedelta(seconds=ttl_s),
            "method": method,
            "api_access_endpoint": self.endpoint,
        }
        if content_type is not None:
            kwargs["content_type"] = content_type
        if headers:
            kwargs["headers"] = dict(headers)  # the library adds ``Host`` to the dict it gets
        if self._key_credentials is not None:
            kwargs["credentials"] = self._key_credentials
        else:
            email, token = self._runtime_identity()
            kwargs["service_account_email"] = email
            kwargs["access_token"] = token
        url: str = blob.generate_signed_url(**kwargs)
        return url

    def _runtime_identity(self) -> tuple[str, str]:
        """``(service account email, access token)`` of the runtime, refreshed when due."""
        with self._lock:
            if self._runtime is None:
                self._runtime, _ = google.auth.default(
                    scopes=["https://www.googleapis.com/auth/cloud-platform"]
                )
            creds = self._runtime
            expiry = getattr(creds, "expiry", None)
            due = expiry is None or expiry - timedelta(seconds=TOKEN_MARGIN_S) <= _naive_utcnow()
            if not getattr(creds, "token", None) or due:
                creds.refresh(google.auth.transport.requests.Request())
            email = self._email or getattr(creds, "service_account_email", None)
            if not email or email == "default":
                raise ValueError("no service account email to sign as: set MEDIA_SIGNER_EMAIL")
            return str(email), str(creds.token)


def _naive_utcnow() -> datetime:
    """google-auth keeps ``expiry`` as a naive UTC datetime."""
    from datetime import UTC

    return datetime.now(UTC).replace(tzinfo=None)
