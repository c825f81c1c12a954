# Inputs of the Sharecast root module. Every variable has a type, a description and, where a
# wrong value would only fail at apply time (or worse, at run time), a validation.
# Names of runtime settings follow functions/sharecast/config.py (the env var is the upper-cased
# field name); tests/unit/terraform checks that Terraform sets only fields that exist there.

# --- Project --------------------------------------------------------------------------------

variable "project_id" {
  type        = string
  description = "ID of the Google Cloud project to deploy into (billing enabled)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a valid project ID: 6-30 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "region" {
  type        = string
  description = "Region of the functions, the relay, the Cloud Tasks queue, the buckets and the image repository."
  default     = "us-central1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a Google Cloud region such as us-central1 or europe-west1."
  }
}

variable "firestore_location" {
  type        = string
  description = "Location of the Firestore database: a region (e.g. us-central1) or a multi-region (nam5, eur3). Null uses var.region. Cannot change after creation."
  default     = null

  validation {
    condition     = var.firestore_location == null || can(regex("^([a-z]+-[a-z]+[0-9]+|nam5|eur3|nam7)$", var.firestore_location))
    error_message = "firestore_location must be a region or one of the multi-regions nam5, nam7, eur3."
  }
}

variable "firestore_delete_protection" {
  type        = bool
  description = "Refuse to delete the Firestore database (set false only to tear a test project down)."
  default     = true
}

# --- Images and source ------------------------------------------------------------------------

variable "relay_image" {
  type        = string
  description = "Container image of the relay, built from functions/ with buildpacks (make deploy builds and passes it), e.g. us-central1-docker.pkg.dev/PROJECT/sharecast/relay:TAG."

  validation {
    condition     = can(regex("^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(:[A-Za-z0-9._-]+|@sha256:[a-f0-9]{64})$", var.relay_image))
    error_message = "relay_image must be a full image reference with a tag or digest (REGISTRY/PATH:TAG or REGISTRY/PATH@sha256:DIGEST)."
  }
}

# --- Runtime settings (functions/sharecast/config.py) -------------------------------------------

variable "log_level" {
  type        = string
  description = "LOG_LEVEL of every workload (Python logging level name)."
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "publish_platforms" {
  type        = list(string)
  description = "PUBLISH_PLATFORMS: networks that publish on this deployment."
  default     = ["facebook", "x", "instagram", "threads", "linkedin", "youtube"]

  validation {
    condition     = length(var.publish_platforms) > 0 && alltrue([for p in var.publish_platforms : contains(["facebook", "instagram", "threads", "linkedin", "x", "youtube"], p)])
    error_message = "publish_platforms must be a non-empty subset of facebook, instagram, threads, linkedin, x, youtube."
  }
}

variable "share_platforms" {
  type        = list(string)
  description = "SHARE_PLATFORMS: networks a video may be shared to (POST /videos/{id}/share)."
  default     = ["facebook", "instagram", "threads", "linkedin", "x", "youtube", "whatsapp"]

  validation {
    condition     = length(var.share_platforms) > 0 && alltrue([for p in var.share_platforms : contains(["facebook", "instagram", "threads", "linkedin", "x", "youtube", "whatsapp"], p)])
    error_message = "share_platforms must be a non-empty subset of facebook, instagram, threads, linkedin, x, youtube, whatsapp."
  }
}

variable "youtube_api_base_url" {
  type        = string
  description = "YOUTUBE_API_BASE_URL: YouTube Data API host for video title/description enrichment of shares."
  default     = "https://www.googleapis.com"
}

variable "jwt_jwks_url" {
  type        = string
  description = "JWT_JWKS_URL: JWKS of your identity provider for RS256/ES256 user tokens. Null: user tokens are HS256 with the generated jwt-secret."
  default     = null

  validation {
    condition     = var.jwt_jwks_url == null || can(regex("^https://", var.jwt_jwks_url))
    error_message = "jwt_jwks_url must be an https:// URL."
  }
}

variable "jwt_algorithms" {
  type        = list(string)
  description = "JWT_ALGORITHMS: accepted user-token algorithms (never taken from the token)."
  default     = ["HS256"]

  validation {
    condition     = length(var.jwt_algorithms) > 0 && alltrue([for a in var.jwt_algorithms : contains(["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256"], a)])
    error_message = "jwt_algorithms must be a non-empty list of HS*, RS*, ES* or PS256 algorithm names."
  }
}

variable "jwt_issuer" {
  type        = string
  description = "JWT_ISSUER: expected iss claim of user tokens (null: not checked)."
  default     = null
}

variable "jwt_audience" {
  type        = string
  description = "JWT_AUDIENCE: expected aud claim of user tokens (null: not checked)."
  default     = null
}

variable "event_ttl_days" {
  type        = number
  description = "EVENT_TTL_DAYS: days an event stays in users/{uid}/events (replayable) before the TTL policy deletes it."
  default     = 7

  validation {
    condition     = var.event_ttl_days >= 1 && floor(var.event_ttl_days) == var.event_ttl_days
    error_message = "event_ttl_days must be a whole number of days, at least 1."
  }
}

variable "sweep_grace_s" {
  type        = number
  description = "SWEEP_GRACE_S: seconds a PENDING/RETRYING target may stay due without its task before the sweeper creates a fresh one."
  default     = 120

  validation {
    condition     = var.sweep_grace_s >= 0 && var.sweep_grace_s <= 3600
    error_message = "sweep_grace_s must be between 0 and 3600."
  }
}

variable "missed_after_s" {
  type        = number
  description = "MISSED_AFTER_S: seconds past its time after which a target that never ran fails as MISSED (unless its post has allowLate)."
  default     = 3600

  validation {
    condition     = var.missed_after_s >= 60 && floor(var.missed_after_s) == var.missed_after_s
    error_message = "missed_after_s must be a whole number of seconds, at least 60."
  }
}

variable "outbox_grace_s" {
  type        = number
  description = "OUTBOX_GRACE_S: seconds after which an event never marked published is republished by the sweeper."
  default     = 10

  validation {
    condition     = var.outbox_grace_s >= 0 && var.outbox_grace_s <= 600
    error_message = "outbox_grace_s must be between 0 and 600."
  }
}

variable "sweep_batch_limit" {
  type        = number
  description = "SWEEP_BATCH_LIMIT: most items each sweep step handles per run (the next run takes the rest)."
  default     = 200

  validation {
    condition     = var.sweep_batch_limit >= 1 && var.sweep_batch_limit <= 1000 && floor(var.sweep_batch_limit) == var.sweep_batch_limit
    error_message = "sweep_batch_limit must be a whole number between 1 and 1000."
  }
}

variable "retry_policies" {
  type = map(object({
    max_attempts = optional(number)
    base_s       = optional(number)
    max_s        = optional(number)
    jitter       = optional(number)
  }))
  description = "RETRY_POLICIES: per-platform departures from the default retry policy (4 attempts: now, +2 s, +4 s, +8 s, ±20 %), e.g. { x = { max_attempts = 6, base_s = 5 } }. A platform's own wait hint always wins."
  default     = {}

  validation {
    condition     = alltrue([for name in keys(var.retry_policies) : contains(["facebook", "instagram", "threads", "linkedin", "x", "youtube"], name)])
    error_message = "retry_policies keys must be platform names (facebook, instagram, threads, linkedin, x, youtube)."
  }
}

variable "task_dispatch_deadline_s" {
  type        = number
  description = "TASK_DISPATCH_DEADLINE_S: seconds Cloud Tasks waits for the publisher to answer one delivery."
  default     = 120

  validation {
    condition     = var.task_dispatch_deadline_s >= 15 && var.task_dispatch_deadline_s <= 1800
    error_message = "task_dispatch_deadline_s must be between 15 and 1800 (Cloud Tasks limits)."
  }
}

# --- Capacity -----------------------------------------------------------------------------------

variable "api_max_instances" {
  type        = number
  description = "Maximum instances of the api function."
  default     = 20

  validation {
    condition     = var.api_max_instances >= 1
    error_message = "api_max_instances must be at least 1."
  }
}

variable "publisher_max_instances" {
  type        = number
  description = "Maximum instances of the publisher function."
  default     = 20

  validation {
    condition     = var.publisher_max_instances >= 1
    error_message = "publisher_max_instances must be at least 1."
  }
}

variable "publisher_timeout_s" {
  type        = number
  description = "Timeout of the publisher function in seconds; must be at least task_dispatch_deadline_s."
  default     = 180

  validation {
    condition     = var.publisher_timeout_s >= 15 && var.publisher_timeout_s <= 3600
    error_message = "publisher_timeout_s must be between 15 and 3600."
  }
}

# The publish queue's limits (docs/operations.md#publish-queue-limits). Measured: one attempt
# costs the publisher about 19 CPU-ms and 4 Firestore round trips (tests/bench/bench_cost.py,
# bench_throughput.py), so one 1-vCPU instance running `concurrency` attempts is bound by the
# networks' latency, not by its CPU, below ~50 attempts/s. 100 dispatches/s leaves room above the
# 60 target publishes/s the publisher is sized for; the networks' own limits are per user, app
# or Page (X: per-user and per-app windows, Meta: per-Page usage), which a global queue rate
# cannot express: their 429s come back as waits on the target.
variable "queue_max_dispatches_per_second" {
  type        = number
  description = "Rate limit of the publish queue: task dispatches per second."
  default     = 100

  validation {
    condition     = var.queue_max_dispatches_per_second > 0 && var.queue_max_dispatches_per_second <= 500
    error_message = "queue_max_dispatches_per_second must be in (0, 500]."
  }
}

# publisher_max_instances (20) x the publisher's concurrency (8, functions.tf): never more
# attempts in flight than the publisher can run at once (more would be refused and retried).
variable "queue_max_concurrent_dispatches" {
  type        = number
  description = "Rate limit of the publish queue: attempts running at once."
  default     = 160

  validation {
    condition     = var.queue_max_concurrent_dispatches >= 1 && var.queue_max_concurrent_dispatches <= 5000
    error_message = "queue_max_concurrent_dispatches must be between 1 and 5000."
  }
}

variable "relay_min_instances" {
  type        = number
  description = "Relay instances kept running (each holds a Pub/Sub subscription; 1 avoids cold starts of SSE clients)."
  default     = 1

  validation {
    condition     = var.relay_min_instances >= 0
    error_message = "relay_min_instances must not be negative."
  }
}

variable "relay_max_instances" {
  type        = number
  description = "Maximum relay instances (every instance receives every event: fan-out cost grows with it)."
  default     = 10

  validation {
    condition     = var.relay_max_instances >= 1 && var.relay_max_instances <= 100
    error_message = "relay_max_instances must be between 1 and 100."
  }
}

variable "relay_concurrency" {
  type        = number
  description = "Concurrent requests (open SSE streams) per relay instance. 1000 (Cloud Run's maximum) is measured to fit: 14.5 KiB per idle stream above a ~100 MiB base (README \"The relay: memory, latency, scaling\")."
  default     = 1000

  validation {
    condition     = var.relay_concurrency >= 1 && var.relay_concurrency <= 1000
    error_message = "relay_concurrency must be between 1 and 1000 (Cloud Run maximum)."
  }
}

variable "relay_request_timeout_s" {
  type        = number
  description = "Cloud Run request timeout of the relay in seconds: the longest an SSE stream can live."
  default     = 3600

  validation {
    condition     = var.relay_request_timeout_s >= 60 && var.relay_request_timeout_s <= 3600
    error_message = "relay_request_timeout_s must be between 60 and 3600."
  }
}

variable "relay_max_stream_s" {
  type        = number
  description = "RELAY_MAX_STREAM_S: the relay ends each stream cleanly after this many seconds; must stay below relay_request_timeout_s."
  default     = 3300

  validation {
    condition     = var.relay_max_stream_s >= 30
    error_message = "relay_max_stream_s must be at least 30."
  }
}

variable "relay_max_streams_per_user" {
  type        = number
  description = "RELAY_MAX_STREAMS_PER_USER: open streams per user on one relay instance; opening one more closes that user's oldest."
  default     = 8

  validation {
    condition     = var.relay_max_streams_per_user >= 1 && var.relay_max_streams_per_user <= 1000
    error_message = "relay_max_streams_per_user must be between 1 and 1000."
  }
}

variable "relay_stream_opens_per_min" {
  type        = number
  description = "RELAY_STREAM_OPENS_PER_MIN: new streams per user and minute on one relay instance (bursts of as many); beyond it GET /events answers 429."
  default     = 30

  validation {
    condition     = var.relay_stream_opens_per_min >= 1 && var.relay_stream_opens_per_min <= 6000
    error_message = "relay_stream_opens_per_min must be between 1 and 6000."
  }
}

# --- Storage ------------------------------------------------------------------------------------

variable "cors_origins" {
  type        = list(string)
  description = "Browser origins allowed to PUT uploads to the media bucket with signed URLs (https only, no wildcards)."
  default     = []

  validation {
    condition     = alltrue([for o in var.cors_origins : can(regex("^https://[a-z0-9.-]+(:[0-9]+)?$", o))])
    error_message = "cors_origins must be https://host[:port] origins without a path or wildcard."
  }
}

variable "media_keep_days" {
  type        = number
  description = "Days an uploaded media file is kept (its expires_at) unless a post that may still publish uses it; the daily cleanup then deletes it (MEDIA_RETENTION_DAYS)."
  default     = 30

  validation {
    condition     = var.media_keep_days >= 1
    error_message = "media_keep_days must be at least 1."
  }
}

variable "media_retention_days" {
  type        = number
  description = "Backstop lifecycle: media objects older than this are deleted by Cloud Storage. The daily cleanup deletes them at expires_at first; keep this above the schedule horizon (365 days) so a scheduled post's media survive."
  default     = 400

  validation {
    condition     = var.media_retention_days >= 1
    error_message = "media_retention_days must be at least 1."
  }
}

# --- Secrets ------------------------------------------------------------------------------------

variable "oauth_callback_base_url" {
  type        = string
  description = "OAUTH_CALLBACK_BASE_URL: the web app origin the networks redirect to after consent ({base}/connections/{platform}/callback, registered with each network). Null: connecting accounts is off."
  default     = null

  validation {
    condition     = var.oauth_callback_base_url == null || can(regex("^https://", var.oauth_callback_base_url))
    error_message = "oauth_callback_base_url must be an https:// URL."
  }
}

variable "facebook_client_id" {
  type        = string
  description = "FACEBOOK_CLIENT_ID: App ID of the Meta app (Facebook Pages and Instagram via Facebook Login for Business); its App Secret goes into the facebook-app-secret secret. Null: not offered."
  default     = null
}

variable "threads_client_id" {
  type        = string
  description = "THREADS_CLIENT_ID: Threads App ID (secret: threads-app-secret). Null: not offered."
  default     = null
}

variable "linkedin_client_id" {
  type        = string
  description = "LINKEDIN_CLIENT_ID: LinkedIn app Client ID (secret: linkedin-client-secret). Null: not offered."
  default     = null
}

variable "x_client_id" {
  type        = string
  description = "X_CLIENT_ID: OAuth 2.0 Client ID of the X app, confidential client (secret: x-client-secret). Null: not offered."
  default     = null
}

variable "youtube_client_id" {
  type        = string
  description = "YOUTUBE_CLIENT_ID: Google OAuth web client ID with the YouTube Data API enabled (secret: google-client-secret). Null: not offered."
  default     = null
}

# --- Scheduling and alerting ------------------------------------------------------------------

variable "scheduler_time_zone" {
  type        = string
  description = "Time zone of the sweeper's Cloud Scheduler jobs."
  default     = "Etc/UTC"
}

variable "alert_emails" {
  type        = list(string)
  description = "E-mail addresses notified by the alert policies (empty: alerts only show in the console)."
  default     = []

  validation {
    condition     = alltrue([for e in var.alert_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alert_emails must be e-mail addresses."
  }
}

variable "alert_failure_ratio" {
  type        = number
  description = "Alert when more than this share of finished publish attempts FAILED over 10 minutes."
  default     = 0.2

  validation {
    condition     = var.alert_failure_ratio > 0 && var.alert_failure_ratio <= 1
    error_message = "alert_failure_ratio must be in (0, 1]."
  }
}

variable "alert_backlog_delay_s" {
  type        = number
  description = "Alert when the 95th percentile delay between a task's scheduled time and its delivery exceeds this many seconds (the publish backlog)."
  default     = 120

  validation {
    condition     = var.alert_backlog_delay_s >= 10
    error_message = "alert_backlog_delay_s must be at least 10."
  }
}

variable "alert_min_attempts" {
  type        = number
  description = "The publish failure-rate alert fires only over 10 minutes with more than this many finished attempts (no alert on a handful of failures)."
  default     = 20

  validation {
    condition     = var.alert_min_attempts >= 0
    error_message = "alert_min_attempts must not be negative."
  }
}

variable "alert_dead_letters_per_hour" {
  type        = number
  description = "Alert when more than this many targets end FAILED (dead letters) within an hour."
  default     = 25

  validation {
    condition     = var.alert_dead_letters_per_hour >= 1
    error_message = "alert_dead_letters_per_hour must be at least 1."
  }
}

variable "alert_outbox_failures" {
  type        = number
  description = "Alert when more than this many status events fail to publish to Pub/Sub within 10 minutes."
  default     = 10

  validation {
    condition     = var.alert_outbox_failures >= 0
    error_message = "alert_outbox_failures must not be negative."
  }
}

variable "alert_api_5xx_ratio" {
  type        = number
  description = "Alert when more than this share of the API's answers are 5xx over 5 minutes."
  default     = 0.05

  validation {
    condition     = var.alert_api_5xx_ratio > 0 && var.alert_api_5xx_ratio <= 1
    error_message = "alert_api_5xx_ratio must be in (0, 1]."
  }
}

variable "alert_api_min_requests" {
  type        = number
  description = "The API 5xx-ratio alert fires only over 5 minutes with more than this many requests."
  default     = 50

  validation {
    condition     = var.alert_api_min_requests >= 0
    error_message = "alert_api_min_requests must not be negative."
  }
}

variable "alert_needs_reauth_per_15min" {
  type        = number
  description = "Alert when more than this many connections of one network need re-authorization within 15 minutes (a wave)."
  default     = 10

  validation {
    condition     = var.alert_needs_reauth_per_15min >= 1
    error_message = "alert_needs_reauth_per_15min must be at least 1."
  }
}

variable "media_finalized_extra_audiences" {
  type        = list(string)
  description = "More audiences media_finalized accepts in Eventarc's OIDC token, besides its deterministic Cloud Run and cloudfunctions.net URLs (set it to the function's run.app URL if the media_finalized_audience check warns)."
  default     = []

  validation {
    condition     = alltrue([for a in var.media_finalized_extra_audiences : can(regex("^https://", a))])
    error_message = "media_finalized_extra_audiences must be https:// URLs."
  }
}

variable "webhook_queue_max_dispatches_per_second" {
  type        = number
  description = "Rate limit of the webhooks Cloud Tasks queue: delivery attempts started per second (docs/webhooks.md#delivery)."
  default     = 100

  validation {
    condition     = var.webhook_queue_max_dispatches_per_second > 0 && var.webhook_queue_max_dispatches_per_second <= 500
    error_message = "webhook_queue_max_dispatches_per_second must be in (0, 500]."
  }
}

variable "webhook_queue_max_concurrent_dispatches" {
  type        = number
  description = "Delivery attempts of the webhooks queue in flight at once; each holds one for at most webhook_timeout_s."
  default     = 200

  validation {
    condition     = var.webhook_queue_max_concurrent_dispatches >= 1 && var.webhook_queue_max_concurrent_dispatches <= 5000
    error_message = "webhook_queue_max_concurrent_dispatches must be between 1 and 5000."
  }
}

variable "webhook_timeout_s" {
  type        = number
  description = "Seconds one webhook delivery attempt may take (WEBHOOK_TIMEOUT_S; Standard Webhooks recommends 15 to 30)."
  default     = 15

  validation {
    condition     = var.webhook_timeout_s > 0 && var.webhook_timeout_s <= 60
    error_message = "webhook_timeout_s must be in (0, 60]."
  }
}

variable "webhook_delivery_max_instances" {
  type        = number
  description = "Maximum instances of the webhook_delivery function."
  default     = 20

  validation {
    condition     = var.webhook_delivery_max_instances >= 1
    error_message = "webhook_delivery_max_instances must be at least 1."
  }
}

variable "alert_webhook_endpoints_disabled_per_hour" {
  type        = number
  description = "Alert when more than this many webhook endpoints are disabled within an hour (0: any)."
  default     = 0

  validation {
    condition     = var.alert_webhook_endpoints_disabled_per_hour >= 0
    error_message = "alert_webhook_endpoints_disabled_per_hour must not be negative."
  }
}
