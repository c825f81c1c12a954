"""One typed settings object, read from the environment.

Variable names are the upper-cased field names (``GOOGLE_CLOUD_PROJECT``, ``TASKS_QUEUE``...) and
match the environment variables that Terraform sets on each function. Emulator hosts
(``FIRESTORE_EMULATOR_HOST``, ``PUBSUB_EMULATOR_HOST``, ``STORAGE_EMULATOR_HOST``,
``CLOUD_TASKS_EMULATOR_HOST``) switch the Google clients to the local stack.
"""

from __future__ import annotations

import functools
import re
from typing import Annotated

from pydantic import BeforeValidator, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _split_csv(value: object) -> object:
    """Accept ``"a, b"`` from the environment as ``["a", "b"]`` (lower-cased)."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


_RATE = re.compile(r"\s*[a-z_]+\s*=\s*[1-9][0-9]*\s*/\s*[1-9][0-9]*\s*")

#: Signature algorithms a deployment may accept (never ``none``).
_JWT_ALGORITHMS = ("HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "PS256")

CsvList = Annotated[list[str], NoDecode, BeforeValidator(_split_csv)]


class Settings(BaseSettings):
    """Every runtime setting of the functions and the relay. Durations are seconds."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    google_cloud_project: str = "sharecast-local"

    # Cloud Tasks: one queue, one task per target attempt.
    tasks_location: str = "us-central1"
    tasks_queue: str = "publish"
    publisher_url: str = "http://127.0.0.1:8081"
    tasks_invoker_service_account: str | None = None
    cloud_tasks_emulator_host: str | None = None
    task_dispatch_deadline_s: int = Field(default=120, ge=15, le=1800)

    # Shared secret that internal callers (Cloud Tasks locally, Scheduler locally) send in
    # ``X-Sharecast-Internal-Auth``. In production the OIDC token is verified instead.
    internal_auth_secret: SecretStr | None = None

    # Pub/Sub topic carrying every status event.
    pubsub_topic: str = "post-status"

    # End-user JWTs: HS256 with a shared secret locally; RS256/ES256 via JWKS when configured.
    jwt_secret: SecretStr | None = None
    jwt_jwks_url: str | None = None
    jwt_algorithms: CsvList = Field(default_factory=lambda: ["HS256"])
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_leeway_s: int = Field(default=30, ge=0, le=300)
    role_claim: str = "role"

    # Short-lived tokens for the relay (EventSource cannot send headers).
    sse_token_secret: SecretStr | None = None
    sse_token_ttl_s: int = Field(default=300, ge=30, le=3600)

    # Token vault: ``kid:base64url(32 bytes)`` pairs, comma separated; the first is active.
    token_encryption_keys: SecretStr | None = None

    # Platform APIs (the local stack points these at the sandbox).
    facebook_graph_base_url: str = "https://graph.facebook.com"
    facebook_graph_version: str = "v24.0"
    x_api_base_url: str = "https://api.x.com"
    platform_http_timeout_s: float = Field(default=30.0, gt=0, le=300)
    publish_platforms: CsvList = Field(default_factory=lambda: ["facebook", "x"])
    # Local stack only: every user gets a sandbox connection per platform on first use.
    sandbox_connections: bool = False

    # Media uploads (SPEC §4.3): the bucket, what may be uploaded, and how URLs are signed.
    media_bucket: str = "sharecast-media-local"
    media_image_types: CsvList = Field(
        default_factory=lambda: ["image/jpeg", "image/png", "image/gif", "image/webp"]
    )
    media_video_types: CsvList = Field(default_factory=lambda: ["video/mp4", "video/quicktime"])
    media_reel_types: CsvList = Field(default_factory=lambda: ["video/mp4", "video/quicktime"])
    media_image_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    media_video_max_bytes: int = Field(default=1024 * 1024 * 1024, ge=1)
    media_reel_max_bytes: int = Field(default=1024 * 1024 * 1024, ge=1)
    # Lifetimes (seconds): the upload PUT URL, the owner's read URL, the URL platforms fetch.
    media_upload_url_ttl_s: int = Field(default=3600, ge=60, le=604800)
    media_read_url_ttl_s: int = Field(default=900, ge=60, le=604800)
    media_fetch_url_ttl_s: int = Field(default=6 * 3600, ge=60, le=604800)
    # Days an uploaded file is kept (``expires_at``) unless a pending post still uses it.
    media_retention_days: int = Field(default=30, ge=1)
    # V4 signing: with a key (local stack, or a key-file deployment) or, without a key, through
    # IAM signBlob as ``media_signer_email`` (default: the runtime's own service account).
    media_signer_email: str | None = None
    media_signer_key: SecretStr | None = None
    # Host of signed URLs (the Storage emulator locally).
    media_url_endpoint: str = "https://storage.googleapis.com"
    # X media upload chunk size in bytes (X accepts at most 5 MB per APPEND).
    x_media_chunk_bytes: int = Field(default=4 * 1024 * 1024, ge=64 * 1024, le=5_000_000)
    # OAuth connections (SPEC §4.4, issue 5). Client credentials per platform (Instagram is
    # reached through Facebook Login for Business, so it uses the Meta app of ``facebook_*``);
    # endpoint URLs are the documented ones, pointed at the sandbox locally. The callback base
    # URL is where the platforms redirect the browser (the web app, which forwards ``code`` and
    # ``state`` to ``GET /connections/{platform}/callback``): the redirect URI is
    # ``{oauth_callback_base_url}/connections/{platform}/callback``.
    oauth_callback_base_url: str | None = None
    oauth_state_ttl_s: int = Field(default=600, ge=60, le=3600)
    oauth_refresh_skew_s: int = Field(default=300, ge=0, le=86400)
    oauth_refresh_lease_s: float = Field(default=20.0, gt=0, le=120)
    facebook_client_id: str | None = None
    facebook_client_secret: SecretStr | None = None
    facebook_oauth_authorize_url: str = "https://www.facebook.com/v24.0/dialog/oauth"
    facebook_oauth_token_url: str = "https://graph.facebook.com/v24.0/oauth/access_token"
    facebook_oauth_api_base_url: str = "https://graph.facebook.com/v24.0"
    threads_client_id: str | None = None
    threads_client_secret: SecretStr | None = None
    threads_oauth_authorize_url: str = "https://threads.com/oauth/authorize"
    threads_oauth_token_url: str = "https://graph.threads.net/oauth/access_token"
    threads_oauth_api_base_url: str = "https://graph.threads.net"
    linkedin_client_id: str | None = None
    linkedin_client_secret: SecretStr | None = None
    linkedin_oauth_authorize_url: str = "https://www.linkedin.com/oauth/v2/authorization"
    linkedin_oauth_token_url: str = "https://www.linkedin.com/oauth/v2/accessToken"
    linkedin_oauth_api_base_url: str = "https://api.linkedin.com"
    x_client_id: str | None = None
    x_client_secret: SecretStr | None = None
    x_oauth_authorize_url: str = "https://x.com/i/oauth2/authorize"
    x_oauth_token_url: str = "https://api.x.com/2/oauth2/token"
    x_oauth_api_base_url: str = "https://api.x.com"
    youtube_client_id: str | None = None
    youtube_client_secret: SecretStr | None = None
    youtube_oauth_authorize_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    youtube_oauth_token_url: str = "https://oauth2.googleapis.com/token"
    youtube_oauth_api_base_url: str = "https://www.googleapis.com"

    # Publishing semantics (SPEC §3, §5).
    lease_s: int = Field(default=90, ge=5, le=3600)
    max_attempts: int = Field(default=4, ge=1, le=20)
    backoff_base_s: float = Field(default=2.0, gt=0)
    backoff_max_s: float = Field(default=3600.0, gt=0)
    backoff_jitter: float = Field(default=0.2, ge=0, lt=1)
    max_schedule_ahead_days: int = 365

    # Event log (outbox) retention.
    event_ttl_days: int = Field(default=7, ge=1)

    # Browser origins allowed to call the relay and the API (exact ``https://host[:port]``).
    cors_allowed_origins: CsvList = Field(default_factory=list)

    # API input limits, rate limits and idempotency keys (SPEC §4, issue 8).
    max_body_bytes: int = Field(default=1_000_000, ge=1024, le=32_000_000)
    # ``class=limit/period_s`` per route class, per user, in fixed windows of ``period_s``.
    rate_limits: CsvList = Field(
        default_factory=lambda: ["read=600/60", "write=120/60", "session=60/60", "analytics=60/60"]
    )
    rate_limit_ttl_s: int = Field(default=3600, ge=60)
    idempotency_ttl_s: int = Field(default=86400, ge=60, le=30 * 86400)
    # A key still "in flight" after this long is taken over by a retry (its first request died).
    idempotency_lease_s: int = Field(default=60, ge=5, le=3600)
    analytics_max_range_days: int = Field(default=92, ge=1, le=366)
    analytics_max_records: int = Field(default=5000, ge=10, le=50_000)

    # Internal callers (Cloud Tasks, Cloud Scheduler): when set, internal functions require a
    # Google-signed OIDC token whose ``email`` is one of these service accounts and whose
    # audience is the function's own URL. The publisher falls back to
    # ``tasks_invoker_service_account`` (sharecast.publisher.envelope).
    internal_oidc_service_accounts: CsvList = Field(default_factory=list)
    google_oidc_certs_url: str = "https://www.googleapis.com/oauth2/v1/certs"

    # Relay (Cloud Run SSE service).
    relay_instance_id: str | None = None
    relay_subscription_ttl_s: int = Field(default=86400, ge=86400)
    relay_heartbeat_s: float = Field(default=15.0, gt=0)
    relay_max_stream_s: float = Field(default=3300.0, gt=0)
    relay_client_buffer: int = Field(default=256, ge=1)
    relay_retry_ms: int = Field(default=3000, ge=0)
    relay_replay_overlap_s: float = Field(default=10.0, ge=0)
    relay_replay_limit: int = Field(default=1000, ge=1)

    @field_validator("rate_limits")
    @classmethod
    def _check_rate_limits(cls, value: list[str]) -> list[str]:
        for item in value:
            if not _RATE.fullmatch(item):
                raise ValueError(f"rate limit {item!r} is not 'class=limit/period_s'")
        return value

    @field_validator("jwt_algorithms")
    @classmethod
    def _check_algorithms(cls, value: list[str]) -> list[str]:
        unknown = [a for a in value if a not in _JWT_ALGORITHMS]
        if unknown or not value:
            raise ValueError(f"JWT_ALGORITHMS must be a non-empty subset of {_JWT_ALGORITHMS}")
        return value

    @model_validator(mode="after")
    def _no_algorithm_confusion(self) -> Settings:
        """Keys from a JWKS are public: an HMAC algorithm next to them would let anyone sign."""
        if self.jwt_jwks_url and any(a.startswith("HS") for a in self.jwt_algorithms):
            raise ValueError("JWT_JWKS_URL needs asymmetric JWT_ALGORITHMS (RS*/ES*/PS*)")
        if not self.jwt_jwks_url and any(not a.startswith("HS") for a in self.jwt_algorithms):
            raise ValueError("asymmetric JWT_ALGORITHMS need JWT_JWKS_URL")
        return self

    @property
    def rate_limit_table(self) -> dict[str, tuple[int, int]]:
        """``{route class: (limit, period_s)}`` parsed from ``rate_limits``."""
        table = {}
        for item in self.rate_limits:
            name, _, rule = item.partition("=")
            limit, _, period = rule.partition("/")
            table[name.strip()] = (int(limit), int(period))
        return table

    @property
    def queue_path(self) -> str:
        """Full resource name of the publish queue."""
        return (
            f"projects/{self.google_cloud_project}/locations/{self.tasks_location}"
            f"/queues/{self.tasks_queue}"
        )

    @property
    def topic_path(self) -> str:
        """Full resource name of the status topic."""
        return f"projects/{self.google_cloud_project}/topics/{self.pubsub_topic}"


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
