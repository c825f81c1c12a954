# The Cloud Functions (gen2), all built from functions/ (docs/README.md#how-it-fits-together, docs/operations.md#deployment).
#
# local.functions is THE list of deployed functions: its keys are the entry points of
# functions/main.py, and tests/unit/terraform fails when the two differ. Everything that exists
# for one function only (its service account and roles in iam.tf, who may invoke it, the
# sweeper's Cloud Scheduler jobs, the GCS trigger of media_finalized) is gated by the presence
# of its key here, so enabling a function is uncommenting its entry.

locals {
  # Deterministic URL of a gen2 function (https://REGION-PROJECT.cloudfunctions.net/NAME). Known
  # before the function exists, so the publisher can be given its own URL (it enqueues the next
  # attempt of a target) without a dependency cycle; the check below compares it with the real one.
  # Cloud Tasks uses it as the task URL and as the OIDC audience (sharecast/tasks.py).
  publisher_url = "https://${var.region}-${var.project_id}.cloudfunctions.net/publisher"

  # Email of the identity that publish tasks carry (its account is created in iam.tf; written out
  # here for the same reason as publisher_url).
  tasks_invoker_email = "sharecast-tasks-invoker@${var.project_id}.iam.gserviceaccount.com"

  # The sweeper's URL: where its Cloud Scheduler jobs post and the audience of their OIDC token
  # (scheduler.tf), given to the sweeper as SWEEPER_URL (a check below compares it with the real
  # one), with the jobs' account as SCHEDULER_INVOKER_SERVICE_ACCOUNT.
  sweeper_url             = "https://${var.region}-${var.project_id}.cloudfunctions.net/sweeper"
  scheduler_invoker_email = "sharecast-scheduler-invoker@${var.project_id}.iam.gserviceaccount.com"

  # Eventarc delivers media_finalized's events through a Pub/Sub push subscription to the
  # function's Cloud Run service, with an OIDC token of the trigger's service account (the
  # function's own, below) for the service's URL
  # (https://cloud.google.com/eventarc/docs/run/roles-permissions,
  # https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions). The deterministic
  # run.app URL (https://cloud.google.com/run/docs/triggering/https-request#deterministic) and
  # the cloudfunctions.net URL are known before the function exists; a check below warns when
  # the service reports another URL, and var.media_finalized_extra_audiences adds one.
  media_finalized_email = "sharecast-media-finalized@${var.project_id}.iam.gserviceaccount.com"
  media_finalized_audiences = [
    "https://media-finalized-${data.google_project.this.number}.${var.region}.run.app",
    "https://${var.region}-${var.project_id}.cloudfunctions.net/media-finalized",
  ]

  # The webhook_delivery function's URL and the identity its tasks carry (docs/webhooks.md#delivery),
  # written out for the same reason as publisher_url; a check below compares the URL.
  webhook_delivery_url   = "https://${var.region}-${var.project_id}.cloudfunctions.net/webhook-delivery"
  webhooks_invoker_email = "sharecast-webhooks-invoker@${var.project_id}.iam.gserviceaccount.com"

  # Environment variables shared by several workloads, by group. Names are Settings fields
  # (functions/sharecast/config.py) upper-cased; a null value means "not set" (the default of
  # Settings applies). Never set here: *_EMULATOR_HOST, INTERNAL_AUTH_SECRET (production uses
  # OIDC: Cloud Run IAM and sharecast.internal_auth check each task's token),
  # SANDBOX_CONNECTIONS, RELAY_INSTANCE_ID (each relay instance needs its own subscription).
  env_groups = {
    # Every function (not the relay): variables of the functions runtime, not Settings fields.
    # LOG_EXECUTION_ID adds each execution's id to the function's log entries
    # (https://cloud.google.com/functions/docs/monitoring/logging#execution_id).
    function_runtime = {
      LOG_EXECUTION_ID = "true"
    }
    # Every workload.
    common = {
      GOOGLE_CLOUD_PROJECT = var.project_id # not set by the Python 3.11 runtimes
      LOG_LEVEL            = var.log_level  # read by sharecast.logs, not a Settings field
      PUBSUB_TOPIC         = google_pubsub_topic.status.name
    }
    # Workloads that verify user tokens.
    auth = {
      JWT_ALGORITHMS = join(",", var.jwt_algorithms)
      JWT_JWKS_URL   = var.jwt_jwks_url
      JWT_ISSUER     = var.jwt_issuer
      JWT_AUDIENCE   = var.jwt_audience
    }
    # Workloads that read or write media objects (docs/api.md#media).
    media = {
      MEDIA_BUCKET         = google_storage_bucket.media.name
      MEDIA_RETENTION_DAYS = var.media_keep_days
    }
    # Workloads that connect accounts or refresh their tokens (docs/api.md#accounts-realtime-and-operations).
    oauth = {
      OAUTH_CALLBACK_BASE_URL = var.oauth_callback_base_url
      FACEBOOK_CLIENT_ID      = var.facebook_client_id
      THREADS_CLIENT_ID       = var.threads_client_id
      LINKEDIN_CLIENT_ID      = var.linkedin_client_id
      X_CLIENT_ID             = var.x_client_id
      YOUTUBE_CLIENT_ID       = var.youtube_client_id
    }
    # Workloads that enqueue publish tasks.
    tasks = {
      TASKS_LOCATION                = google_cloud_tasks_queue.publish.location
      TASKS_QUEUE                   = google_cloud_tasks_queue.publish.name
      PUBLISHER_URL                 = local.publisher_url
      TASKS_INVOKER_SERVICE_ACCOUNT = local.tasks_invoker_email
      TASK_DISPATCH_DEADLINE_S      = var.task_dispatch_deadline_s
    }
    # Workloads that commit events (the outbox hands them to the webhook fan-out, which
    # enqueues delivery tasks) or queue delivery attempts (docs/webhooks.md#delivery).
    webhooks = {
      WEBHOOK_QUEUE                   = google_cloud_tasks_queue.webhooks.name
      WEBHOOK_DELIVERY_URL            = local.webhook_delivery_url
      WEBHOOK_INVOKER_SERVICE_ACCOUNT = local.webhooks_invoker_email
    }
  }

  # Entry point in functions/main.py => how it is deployed. Every entry has the same attributes:
  #   trigger      "http", or "gcs_finalize" (Eventarc: object finalized in the media bucket)
  #   public       true: allUsers may invoke it (only the api: its auth is the app's JWT check);
  #                false: ingress is internal-only and only the invokers granted in iam.tf may
  #   memory, cpu, timeout_s, concurrency, min_instances, max_instances: Cloud Run sizing
  #   env_groups   groups of local.env_groups it gets besides "common"
  #   env          its own environment variables (Settings fields, upper-cased; null = unset)
  #   secrets      environment variable => Secret Manager secret ID (secrets.tf), "latest" version
  functions = {
    api = {
      description   = "Sharecast public HTTP API (docs/api.md): JWT auth, validation, posts, media URLs"
      trigger       = "http"
      public        = true
      memory        = "512Mi"
      cpu           = "1"
      timeout_s     = 60
      concurrency   = 40
      min_instances = 0
      max_instances = var.api_max_instances
      env_groups    = ["auth", "tasks", "oauth", "media", "webhooks"]
      env = {
        # Threads running handlers; reading bodies and ?wait take none (sharecast.api.front).
        # Measured: docs/operations.md#threads-and-concurrency.
        API_THREADS = 8

        EVENT_TTL_DAYS       = var.event_ttl_days
        PUBLISH_PLATFORMS    = join(",", var.publish_platforms)
        SHARE_PLATFORMS      = join(",", var.share_platforms)
        YOUTUBE_API_BASE_URL = var.youtube_api_base_url
        CORS_ALLOWED_ORIGINS = join(",", var.cors_origins)
        RETRY_POLICIES       = jsonencode(var.retry_policies) # budgets of new and retried targets
        # Signs upload/read URLs as itself through IAM signBlob (iam.tf: TokenCreator on itself).
        MEDIA_SIGNER_EMAIL = "sharecast-api@${var.project_id}.iam.gserviceaccount.com"
      }
      secrets = {
        JWT_SECRET             = "jwt-secret"
        SSE_TOKEN_SECRET       = "sse-token-secret"
        TOKEN_ENCRYPTION_KEYS  = "token-encryption-keys"
        FACEBOOK_CLIENT_SECRET = "facebook-app-secret"
        THREADS_CLIENT_SECRET  = "threads-app-secret"
        LINKEDIN_CLIENT_SECRET = "linkedin-client-secret"
        X_CLIENT_SECRET        = "x-client-secret"
        YOUTUBE_CLIENT_SECRET  = "google-client-secret"
      }
    }

    publisher = {
      description   = "Sharecast publisher (docs/semantics.md#the-publisher): one attempt of one target per Cloud Tasks delivery"
      trigger       = "http"
      public        = false
      memory        = "512Mi"
      cpu           = "1"
      timeout_s     = var.publisher_timeout_s
      concurrency   = 8
      min_instances = 0
      max_instances = var.publisher_max_instances
      env_groups    = ["tasks", "oauth", "media", "webhooks"]
      env = {
        # functions-framework's gunicorn threads: one per request in flight, so as many as
        # the concurrency (docs/operations.md#threads-and-concurrency).
        THREADS = 8

        EVENT_TTL_DAYS    = var.event_ttl_days
        PUBLISH_PLATFORMS = join(",", var.publish_platforms)
        RETRY_POLICIES    = jsonencode(var.retry_policies) # backoff after a failed attempt
        # Signs the GET URLs networks fetch media from, as itself (iam.tf).
        MEDIA_SIGNER_EMAIL = "sharecast-publisher@${var.project_id}.iam.gserviceaccount.com"
      }
      secrets = {
        TOKEN_ENCRYPTION_KEYS  = "token-encryption-keys"
        FACEBOOK_CLIENT_SECRET = "facebook-app-secret"
        THREADS_CLIENT_SECRET  = "threads-app-secret"
        LINKEDIN_CLIENT_SECRET = "linkedin-client-secret"
        X_CLIENT_SECRET        = "x-client-secret"
        YOUTUBE_CLIENT_SECRET  = "google-client-secret"
      }
    }

    sweeper = {
      description   = "Sharecast sweeper (docs/semantics.md#the-sweeper): missed schedules, lost retries, leases, outbox, media"
      trigger       = "http"
      public        = false
      memory        = "512Mi"
      cpu           = "1"
      timeout_s     = 300 # scheduler.tf's attempt_deadline is this plus slack
      concurrency   = 1   # one sweep per instance; two at once are still safe (idempotent)
      min_instances = 0
      max_instances = 2
      env_groups    = ["tasks", "media", "webhooks"]
      env = {
        # functions-framework's gunicorn threads: one per request in flight, so as many as
        # the concurrency (docs/operations.md#threads-and-concurrency).
        THREADS = 1

        EVENT_TTL_DAYS    = var.event_ttl_days
        SWEEP_GRACE_S     = var.sweep_grace_s
        MISSED_AFTER_S    = var.missed_after_s
        OUTBOX_GRACE_S    = var.outbox_grace_s
        SWEEP_BATCH_LIMIT = var.sweep_batch_limit
        # Its caller, Cloud Scheduler (scheduler.tf): audience and account of the jobs' token.
        SWEEPER_URL                       = local.sweeper_url
        SCHEDULER_INVOKER_SERVICE_ACCOUNT = local.scheduler_invoker_email
      }
      secrets = {}
    }

    # One attempt of one webhook delivery per Cloud Tasks delivery (docs/webhooks.md#delivery).
    webhook_delivery = {
      description   = "Sharecast webhook_delivery (docs/webhooks.md#delivery): one signed, SSRF-checked attempt of one webhook delivery"
      trigger       = "http"
      public        = false
      memory        = "256Mi"
      cpu           = "1"
      timeout_s     = var.task_dispatch_deadline_s # an attempt takes webhook_timeout_s and two writes
      concurrency   = 40                           # attempts mostly wait on the customer's server
      min_instances = 0
      max_instances = var.webhook_delivery_max_instances
      env_groups    = ["tasks", "webhooks"]
      env = {
        # functions-framework's gunicorn threads: one per request in flight, so as many as
        # the concurrency (docs/operations.md#threads-and-concurrency).
        THREADS = 40

        EVENT_TTL_DAYS    = var.event_ttl_days # the notification event when it disables an endpoint
        WEBHOOK_TIMEOUT_S = var.webhook_timeout_s
      }
      secrets = {
        TOKEN_ENCRYPTION_KEYS = "token-encryption-keys" # unseals the endpoints' signing secrets
      }
    }

    # GCS finalize CloudEvent (docs/api.md#media): the same check as POST /media/confirm.
    media_finalized = {
      description   = "Sharecast media_finalized (docs/api.md#media): marks an uploaded object UPLOADED"
      trigger       = "gcs_finalize"
      public        = false
      memory        = "256Mi"
      cpu           = "1"
      timeout_s     = 60
      concurrency   = 10
      min_instances = 0
      max_instances = 5
      env_groups    = ["media"]
      env = {
        # functions-framework's gunicorn threads: one per request in flight, so as many as
        # the concurrency (docs/operations.md#threads-and-concurrency).
        THREADS = 10

        # Its caller, the Eventarc trigger below: audiences and account of the push token.
        MEDIA_FINALIZED_AUDIENCES        = join(",", concat(local.media_finalized_audiences, var.media_finalized_extra_audiences))
        EVENTARC_TRIGGER_SERVICE_ACCOUNT = local.media_finalized_email
      }
      secrets = {}
    }
  }
}

# The deploy source: functions/ zipped (without caches and the relay's Procfile), uploaded under
# a name that is its hash, so a changed source is a new object and every function rebuilds.
data "archive_file" "functions_source" {
  type             = "zip"
  source_dir       = "${path.module}/../functions"
  output_path      = "${path.module}/.build/functions-source.zip"
  output_file_mode = "0644"
  excludes = [
    "**/__pycache__/**",
    "**/*.pyc",
    "**/.mypy_cache/**",
    "**/.pytest_cache/**",
    "**/.ruff_cache/**",
    "Procfile",
  ]
}

resource "google_storage_bucket_object" "functions_source" {
  name         = "functions/${data.archive_file.functions_source.output_sha256}.zip"
  bucket       = google_storage_bucket.source.name
  source       = data.archive_file.functions_source.output_path
  content_type = "application/zip"
}

resource "google_cloudfunctions2_function" "fn" {
  for_each = local.functions

  name        = replace(each.key, "_", "-")
  location    = var.region
  description = each.value.description

  build_config {
    runtime           = "python311"
    entry_point       = each.key
    service_account   = google_service_account.workload["builder"].id
    docker_repository = google_artifact_registry_repository.images.id

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.functions_source.name
      }
    }
  }

  service_config {
    available_memory                 = each.value.memory
    available_cpu                    = each.value.cpu
    timeout_seconds                  = each.value.timeout_s
    max_instance_request_concurrency = each.value.concurrency
    min_instance_count               = each.value.min_instances
    max_instance_count               = each.value.max_instances
    # Cloud Tasks, Cloud Scheduler and Eventarc of the same project count as internal traffic
    # (https://cloud.google.com/run/docs/securing/ingress), so only the api is reachable at all
    # from the internet; IAM (iam.tf) still checks every caller's token.
    ingress_settings               = each.value.public ? "ALLOW_ALL" : "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.workload[each.key].email

    environment_variables = {
      for name, value in merge(concat(
        [local.env_groups.common, local.env_groups.function_runtime],
        [for group in each.value.env_groups : local.env_groups[group]],
        [each.value.env],
      )...) : name => tostring(value) if value != null
    }

    dynamic "secret_environment_variables" {
      for_each = each.value.secrets
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = local.all_secrets[secret_environment_variables.value].secret_id
        version    = "latest"
      }
    }
  }

  dynamic "event_trigger" {
    for_each = each.value.trigger == "gcs_finalize" ? [google_storage_bucket.media.name] : []
    content {
      trigger_region        = var.region
      event_type            = "google.cloud.storage.object.v1.finalized"
      retry_policy          = "RETRY_POLICY_RETRY"
      service_account_email = google_service_account.workload[each.key].email # EVENTARC_TRIGGER_SERVICE_ACCOUNT
      event_filters {
        attribute = "bucket"
        value     = event_trigger.value
      }
    }
  }

  #checkov:skip=CKV_GCP_124:Only the api has ALLOW_ALL ingress (public by design: its auth is the app's JWT check, tests/unit/terraform keeps it the only one); every other function is ALLOW_INTERNAL_ONLY.

  lifecycle {
    precondition {
      condition     = !contains(["publisher", "webhook_delivery"], each.key) || each.value.timeout_s >= var.task_dispatch_deadline_s
      error_message = "The timeout of a Cloud Tasks target (publisher, webhook_delivery) must be at least task_dispatch_deadline_s: a delivery must not outlive the function."
    }
    precondition {
      condition     = contains(["http", "gcs_finalize"], each.value.trigger)
      error_message = "A function's trigger must be \"http\" or \"gcs_finalize\"."
    }
  }

  depends_on = [
    google_project_service.enabled,
    google_project_iam_member.grant,
    google_storage_bucket_iam_member.grant,
    google_artifact_registry_repository_iam_member.grant,
    google_secret_manager_secret_iam_member.env,
    google_secret_manager_secret_version.generated,
    google_secret_manager_secret_version.platform_placeholder,
    google_project_iam_member.gcs_publishes_events,
  ]
}

# The URL the code is given (PUBLISHER_URL, the tasks' OIDC audience) is the real one.
check "publisher_url" {
  assert {
    condition     = google_cloudfunctions2_function.fn["publisher"].url == local.publisher_url
    error_message = "The publisher's URL differs from local.publisher_url: fix local.publisher_url."
  }
}

# Likewise webhook_delivery's (WEBHOOK_DELIVERY_URL, the webhook tasks' URL and OIDC audience).
check "webhook_delivery_url" {
  assert {
    condition     = !contains(keys(local.functions), "webhook_delivery") || google_cloudfunctions2_function.fn["webhook_delivery"].url == local.webhook_delivery_url
    error_message = "webhook_delivery's URL differs from local.webhook_delivery_url: fix local.webhook_delivery_url."
  }
}

# Likewise the sweeper's (SWEEPER_URL, the audience of the Scheduler jobs' token).
check "sweeper_url" {
  assert {
    condition     = !contains(keys(local.functions), "sweeper") || google_cloudfunctions2_function.fn["sweeper"].url == local.sweeper_url
    error_message = "The sweeper's URL differs from local.sweeper_url: fix local.sweeper_url."
  }
}

# The Cloud Run URL Eventarc puts in media_finalized's tokens is one it accepts.
check "media_finalized_audience" {
  assert {
    condition     = !contains(keys(local.functions), "media_finalized") || contains(concat(local.media_finalized_audiences, var.media_finalized_extra_audiences), google_cloudfunctions2_function.fn["media_finalized"].service_config[0].uri)
    error_message = "media_finalized's Cloud Run URL is not in local.media_finalized_audiences: add it with var.media_finalized_extra_audiences (docs/operations.md#eventarc-audience)."
  }
}

# The project number of the deterministic Cloud Run URLs.
data "google_project" "this" {
  project_id = var.project_id
}
