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

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from sharecast.domain.backoff import RetryPolicy
from sharecast.domain.statuses import Platform
from sharecast.errors import DEFAULT_DOCS_BASE_URL


def _split_csv(value: object) -> object:
    """Accept ``"a, b"`` from the environment as ``["a", "b"]`` (lower-cased)."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


_RATE = re.compile(r"\s*[a-z_]+\s*=\s*[1-9][0-9]*\s*/\s*[1-9][0-9]*\s*")

#: Signature algorithms a deployment may accept (never ``none``).
_JWT_ALGORITHMS = ("HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "PS256")

CsvList = Annotated[list[str], NoDecode, BeforeValidator(_split_csv)]

#: Settle window when a platform has none of its own, seconds: four times the default client
#: timeout (``PLATFORM_HTTP_TIMEOUT_S``), and well above the 25 s a slow network took to store a
#: post it had not yet answered (docs/networks.md#settle-windows).
DEFAULT_SETTLE_S = 120.0
#: Per-network settle windows, seconds (why each: docs/networks.md#settle-windows). YouTube's is
#: longer: the last chunk of a resumable upload is answered only once the whole file is stored.
DEFAULT_SETTLE_WINDOWS: dict[str, float] = {
    "facebook": DEFAULT_SETTLE_S,
    "instagram": DEFAULT_SETTLE_S,
    "threads": DEFAULT_SETTLE_S,
    "linkedin": DEFAULT_SETTLE_S,
    "x": DEFAULT_SETTLE_S,
    "youtube": 300.0,
    "whatsapp": 0.0,
}


class RetryOverride(BaseModel):
    """One platform's departures from the default retry policy (unset fields keep the default).

    ``max_attempts``: attempts per target; ``base_s``: first backoff (doubling after each
    failure); ``max_s``: backoff cap; ``jitter``: the random spread (0.2 = ±20 %). Seconds.
    """

    model_config = ConfigDict(extra="forbid")

    max_attempts: int | None = Field(default=None, ge=1, le=20)
    base_s: float | None = Field(default=None, gt=0)
    max_s: float | None = Field(default=None, gt=0)
    jitter: float | None = Field(default=None, ge=0, lt=1)


class Settings(BaseSettings):
    """Every runtime setting of the functions and the relay. Durations are seconds."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    google_cloud_project: str = "sharecast-local"

    # Where the repository's docs/ pages are published: problem details' ``type`` is
    # ``{docs_base_url}/problems.md#{code}`` (docs/problems.md).
    docs_base_url: str = DEFAULT_DOCS_BASE_URL

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
    # Instagram Login host (graph.facebook.com for Facebook-Login apps), Threads, LinkedIn
    # versioned REST (``LinkedIn-Version: YYYYMM``; versions retire after about a year).
    # YouTube uploads use ``youtube_api_base_url`` (below) + ``/upload/youtube/v3/videos``.
    instagram_api_base_url: str = "https://graph.instagram.com"
    instagram_api_version: str = "v24.0"
    threads_api_base_url: str = "https://graph.threads.net"
    threads_api_version: str = "v1.0"
    linkedin_api_base_url: str = "https://api.linkedin.com"
    linkedin_api_version: str = Field(default="202510", pattern=r"^\d{6}$")
    # Seconds between status polls of an Instagram/Threads container or a LinkedIn video, and
    # how many polls an attempt makes before it gives up (Meta: poll once a minute, at most 5).
    container_poll_s: float = Field(default=60.0, gt=0, le=3600)
    container_max_polls: int = Field(default=10, ge=1, le=100)
    # Instagram caption hashtag cap: 30 in older sources, 5 in several 2025-26 ones; Meta's
    # reference does not state it, so it is a setting.
    instagram_hashtag_limit: int = Field(default=30, ge=0, le=100)
    platform_http_timeout_s: float = Field(default=30.0, gt=0, le=300)
    publish_platforms: CsvList = Field(
        default_factory=lambda: ["facebook", "x", "instagram", "threads", "linkedin", "youtube"]
    )
    # Local stack only: every user gets a sandbox connection per platform on first use.
    sandbox_connections: bool = False

    # Media uploads (docs/api.md#media): the bucket, what may be uploaded, and how URLs are signed.
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
    # OAuth connections (docs/api.md#accounts-realtime-and-operations). Client credentials per
    # platform (Instagram is reached through Facebook Login for Business, so it uses the Meta app of
    # ``facebook_*``); endpoint URLs are the documented ones, pointed at the sandbox locally. The
    # callback base URL is where the platforms redirect the browser (the web app, which forwards
    # ``code`` and ``state`` to ``GET /connections/{platform}/callback``): the redirect URI is
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

    # Video shares (docs/api.md#video-shares): the platforms a video may be shared to, and the
    # optional YouTube Data API enrichment (videos.list; skipped without a key or after the budget).
    share_platforms: CsvList = Field(
        default_factory=lambda: [
            "facebook",
            "instagram",
            "threads",
            "linkedin",
            "x",
            "youtube",
            "whatsapp",
        ]
    )
    youtube_api_base_url: str = "https://www.googleapis.com"
    youtube_api_key: SecretStr | None = None
    youtube_enrich_budget_s: float = Field(default=2.0, gt=0, le=10)

    # Publishing semantics (docs/semantics.md#statuses-and-rules, docs/semantics.md#the-publisher).
    lease_s: int = Field(default=90, ge=5, le=3600)
    max_attempts: int = Field(default=4, ge=1, le=20)
    backoff_base_s: float = Field(default=2.0, gt=0)
    backoff_max_s: float = Field(default=3600.0, gt=0)
    backoff_jitter: float = Field(default=0.2, ge=0, lt=1)
    max_schedule_ahead_days: int = 365
    # Per-platform overrides of the four settings above, JSON:
    # RETRY_POLICIES='{"x": {"max_attempts": 6, "base_s": 5}}'.
    retry_policies: dict[str, RetryOverride] = Field(default_factory=dict)
    # After an attempt whose outcome is unknown (timeout, dropped answer, 5xx, crash), seconds
    # to wait before asking the network whether the post exists: longer than the network may
    # take to finish a request the publisher gave up on (docs/networks.md#settle-windows).
    # JSON per platform; platforms left out keep their default: SETTLE_WINDOWS='{"x": 300}'.
    settle_windows: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_SETTLE_WINDOWS))
    # Existence checks that may fail (the lookup itself erred) before the target gives up as
    # ``UNCERTAIN``; they are spaced by the platform's backoff.
    reconcile_max_checks: int = Field(default=6, ge=1, le=50)

    # Event log (outbox) retention.
    event_ttl_days: int = Field(default=7, ge=1)

    # Sweeper (docs/semantics.md#the-sweeper). A PENDING/RETRYING target due for longer than
    # ``sweep_grace_s`` is given a fresh task; one overdue by more than ``missed_after_s`` fails as
    # ``MISSED`` unless its post allows late publishing; an event still unpublished
    # ``outbox_grace_s`` after it was written is republished; each step handles at most
    # ``sweep_batch_limit``.
    sweep_grace_s: float = Field(default=120.0, ge=0)
    missed_after_s: int = Field(default=3600, ge=1)
    outbox_grace_s: float = Field(default=10.0, ge=0)
    sweep_batch_limit: int = Field(default=200, ge=1, le=1000)

    # Browser origins allowed to call the relay and the API (exact ``https://host[:port]``).
    cors_allowed_origins: CsvList = Field(default_factory=list)

    # API input limits, rate limits and idempotency keys (docs/api.md).
    max_body_bytes: int = Field(default=1_000_000, ge=1024, le=32_000_000)
    # A request body must have arrived this long after its headers, else 408 (slow senders).
    body_read_timeout_s: float = Field(default=10.0, gt=0, le=300)
    # Threads running API handlers per instance (the front reads bodies and waits without one).
    api_threads: int = Field(default=8, ge=1, le=256)
    # ``?wait=N`` on create: concurrent waits per user and instance; beyond, no wait.
    wait_max_per_user: int = Field(default=2, ge=0, le=100)
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

    # Production identities of the internal entry points (sharecast.internal_auth): each
    # requires a Google-signed OIDC token of its caller's account for one of its audiences.
    # The publisher's are ``publisher_url`` and ``tasks_invoker_service_account`` (above).
    # Sweeper <- Cloud Scheduler (terraform/scheduler.tf): its own URL, the scheduler invoker.
    sweeper_url: str = "http://127.0.0.1:8082"
    scheduler_invoker_service_account: str | None = None
    # media_finalized <- Eventarc: the function's Cloud Run URL(s), the trigger's account.
    media_finalized_audiences: CsvList = Field(default_factory=list)
    eventarc_trigger_service_account: str | None = None
    google_oidc_certs_url: str = "https://www.googleapis.com/oauth2/v1/certs"

    # Webhooks (docs/webhooks.md): deliveries are tasks of their own queue ``webhook_queue``
    # (in ``tasks_location``) calling the ``webhook_delivery`` function at
    # ``webhook_delivery_url`` with an OIDC token of ``webhook_invoker_service_account``.
    webhook_queue: str = "webhooks"
    webhook_delivery_url: str = "http://127.0.0.1:8084"
    webhook_invoker_service_account: str | None = None
    # Local development only: endpoints may be http:// and on a loopback address
    # (127.0.0.1, ::1). Every other private, link-local or reserved address stays refused.
    webhook_allow_local: bool = False
    # One delivery attempt: connect + send + the first bytes of the answer, in seconds; at most
    # ``webhook_response_max_bytes`` of the answer are read (and kept in the delivery log).
    webhook_timeout_s: float = Field(default=15.0, gt=0, le=60)
    webhook_response_max_bytes: int = Field(default=1024, ge=0, le=65536)
    # Retries: exponential backoff from ``webhook_backoff_base_s`` (doubling, capped at
    # ``webhook_backoff_max_s``, ±jitter) for ``webhook_retry_window_s`` after the first attempt;
    # an endpoint failing without a success for ``webhook_disable_after_s`` is disabled.
    webhook_backoff_base_s: float = Field(default=5.0, gt=0)
    webhook_backoff_max_s: float = Field(default=36000.0, gt=0)
    webhook_backoff_jitter: float = Field(default=0.2, ge=0, lt=1)
    webhook_retry_window_s: float = Field(default=3 * 86400.0, gt=0, le=14 * 86400)
    webhook_disable_after_s: float = Field(default=5 * 86400.0, gt=0)
    # Endpoints per owner, and the days a delivery stays in the log.
    webhook_max_endpoints: int = Field(default=20, ge=1, le=500)
    webhook_log_ttl_days: int = Field(default=30, ge=1, le=400)

    # Relay (Cloud Run SSE service).
    relay_instance_id: str | None = None
    relay_subscription_ttl_s: int = Field(default=86400, ge=86400)
    relay_heartbeat_s: float = Field(default=15.0, gt=0)
    relay_max_stream_s: float = Field(default=3300.0, gt=0)
    relay_client_buffer: int = Field(default=256, ge=1)
    relay_retry_ms: int = Field(default=3000, ge=0)
    relay_replay_overlap_s: float = Field(default=10.0, ge=0)
    # Resume after Last-Event-ID (sharecast/relay/replay.py): at most this many events are
    # replayed; more, an unknown id, or one older than relay_replay_max_age_s get a snapshot
    # of the relay_snapshot_posts most recent posts instead.
    relay_replay_limit: int = Field(default=1000, ge=1, le=5000)
    relay_replay_max_age_s: float = Field(default=900.0, gt=0)
    relay_snapshot_posts: int = Field(default=25, ge=1, le=100)
    # Per-user limits of each relay instance (sharecast/relay/limits.py): open streams (the
    # oldest is closed beyond it) and new streams per minute (429 beyond it).
    relay_max_streams_per_user: int = Field(default=8, ge=1, le=1000)
    relay_stream_opens_per_min: int = Field(default=30, ge=1, le=6000)

    @field_validator("retry_policies")
    @classmethod
    def _known_platforms(cls, value: dict[str, RetryOverride]) -> dict[str, RetryOverride]:
        unknown = sorted(set(value) - {p.value for p in Platform})
        if unknown:
            raise ValueError(f"unknown platforms in RETRY_POLICIES: {unknown}")
        return value

    @field_validator("settle_windows")
    @classmethod
    def _settle_windows(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - {p.value for p in Platform})
        if unknown:
            raise ValueError(f"unknown platforms in SETTLE_WINDOWS: {unknown}")
        if any(not 0 <= seconds <= 86_400 for seconds in value.values()):
            raise ValueError("SETTLE_WINDOWS must be seconds between 0 and 86400")
        return {**DEFAULT_SETTLE_WINDOWS, **value}

    def settle_s(self, platform: str) -> float:
        """Seconds to wait after an unknown outcome on ``platform`` before checking whether
        the post exists (``SETTLE_WINDOWS``, docs/networks.md#settle-windows)."""
        return float(self.settle_windows.get(platform, DEFAULT_SETTLE_S))

    def retry_policy(self, platform: str) -> RetryPolicy:
        """The retry policy of ``platform``: the defaults with its ``RETRY_POLICIES`` entry."""
        override = self.retry_policies.get(platform, RetryOverride())
        return RetryPolicy(
            max_attempts=override.max_attempts or self.max_attempts,
            base_s=override.base_s or self.backoff_base_s,
            max_s=override.max_s or self.backoff_max_s,
            jitter=self.backoff_jitter if override.jitter is None else override.jitter,
        )

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
    def webhook_queue_path(self) -> str:
        """Full resource name of the webhook delivery queue."""
        return (
            f"projects/{self.google_cloud_project}/locations/{self.tasks_location}"
            f"/queues/{self.webhook_queue}"
        )

    @property
    def topic_path(self) -> str:
        """Full resource name of the status topic."""
        return f"projects/{self.google_cloud_project}/topics/{self.pubsub_topic}"


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
