# The relay (docs/semantics.md#events-and-replay): the ASGI app sharecast.relay.main:app on Cloud Run, from an image built
# with buildpacks from functions/ (functions/Procfile, cloudbuild.yaml; make deploy builds it).
#
# Every instance creates its own Pub/Sub subscription at start and deletes it at shutdown, so
# CPU must stay allocated between requests (instance-based billing) for its streaming pull to
# keep receiving, and min instances keep one warm for reconnecting browsers.

locals {
  # Same shape as an entry of local.functions (functions.tf): env groups, own env, secrets.
  relay = {
    env_groups = ["auth"]
    env = {
      # Streams end cleanly before Cloud Run's request timeout cuts them (precondition below).
      RELAY_MAX_STREAM_S   = var.relay_max_stream_s
      CORS_ALLOWED_ORIGINS = join(",", var.cors_origins) # browsers' EventSource origins
      # Per-user limits per instance (README "Relay limits").
      RELAY_MAX_STREAMS_PER_USER = var.relay_max_streams_per_user
      RELAY_STREAM_OPENS_PER_MIN = var.relay_stream_opens_per_min
    }
    secrets = {
      JWT_SECRET       = "jwt-secret"
      SSE_TOKEN_SECRET = "sse-token-secret"
    }
  }

  relay_env = {
    for name, value in merge(concat(
      [local.env_groups.common],
      [for group in local.relay.env_groups : local.env_groups[group]],
      [local.relay.env],
    )...) : name => tostring(value) if value != null
  }
}

resource "google_cloud_run_v2_service" "relay" {
  name                = "relay"
  location            = var.region
  description         = "Sharecast relay: Server-Sent Events of each user's status changes"
  ingress             = "INGRESS_TRAFFIC_ALL" # browsers connect directly (EventSource)
  deletion_protection = false                 # stateless: the event log is in Firestore

  template {
    service_account                  = google_service_account.workload["relay"].email
    timeout                          = "${var.relay_request_timeout_s}s"
    max_instance_request_concurrency = var.relay_concurrency
    execution_environment            = "EXECUTION_ENVIRONMENT_GEN2"

    scaling {
      min_instance_count = var.relay_min_instances
      max_instance_count = var.relay_max_instances
    }

    containers {
      image = var.relay_image

      ports {
        container_port = 8080
      }

      # 512 MiB is the gen2 minimum; 1,000 streams (the concurrency cap) take ~15 MiB above the
      # ~100 MiB base (tests/bench/bench_relay.py). One vCPU: delivering 1,000 events/s used
      # ~10 % of it, an event for a user connected elsewhere ~44 µs (README "Scaling the relay").
      resources {
        limits = {
          cpu    = "1"
          memory = "512Mi"
        }
        cpu_idle          = false # instance-based billing: the subscription's pull never pauses
        startup_cpu_boost = true
      }

      dynamic "env" {
        for_each = local.relay_env
        content {
          name  = env.key
          value = env.value
        }
      }

      dynamic "env" {
        for_each = local.relay.secrets
        content {
          name = env.key
          value_source {
            secret_key_ref {
              secret  = google_secret_manager_secret.app[env.value].secret_id
              version = "latest"
            }
          }
        }
      }

      # Ready once the lifespan created the instance subscription and started pulling.
      startup_probe {
        http_get {
          path = "/healthz"
        }
        period_seconds    = 2
        timeout_seconds   = 2
        failure_threshold = 15
      }

      # Restarted when it stays unhealthy: /healthz answers 503 while the instance has no running
      # Pub/Sub subscription (sharecast/relay/runtime.py), so live events would reach no stream.
      # Three failures 20 s apart leave the relay's own resubscribe loop time to recover first.
      liveness_probe {
        http_get {
          path = "/healthz"
        }
        initial_delay_seconds = 0
        period_seconds        = 20
        timeout_seconds       = 5
        failure_threshold     = 3
      }
    }
  }

  lifecycle {
    precondition {
      condition     = var.relay_max_stream_s < var.relay_request_timeout_s
      error_message = "relay_max_stream_s must be below relay_request_timeout_s so streams end cleanly before Cloud Run cuts them."
    }
  }

  depends_on = [
    google_project_service.enabled,
    google_project_iam_member.grant,
    google_pubsub_topic_iam_member.grant,
    google_secret_manager_secret_iam_member.env,
    google_secret_manager_secret_version.generated,
  ]
}

# Browsers open EventSource connections without Google credentials: the relay authenticates each
# stream itself (SSE token or JWT, docs/semantics.md#events-and-replay).
resource "google_cloud_run_v2_service_iam_member" "relay_public" {
  #checkov:skip=CKV_GCP_102:The relay serves browsers' EventSource streams, which cannot carry Google credentials; every stream is authenticated by the app (SSE token or user JWT) and answers 401 otherwise.
  location = google_cloud_run_v2_service.relay.location
  name     = google_cloud_run_v2_service.relay.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}
