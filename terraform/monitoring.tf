# Operations: log-based metrics, alert policies, uptime checks and the dashboard.
#
# Every log-based metric counts one structured line the code writes (the message is the JSON
# payload's "message"; sharecast/logs.py); tests/unit/terraform/test_monitoring.py checks that
# each filter's message is logged by the service it names and that every alert and dashboard
# chart names a metric defined here or a built-in Google Cloud metric type. Gen2 functions log
# as their Cloud Run service, whose name is the function's (media_finalized: media-finalized).
# Each alert's documentation ends with its runbook: a section of docs/operations.md.

locals {
  publish_finished_filter = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "resource.labels.service_name=\"publisher\"",
    "jsonPayload.message=\"publish attempt finished\"",
  ])

  # name => filter, description, labels (key => extractor). Counters (DELTA INT64).
  log_counters = {
    sweep_runs = {
      description = "Sweeps that ran to the end, by kind (minutely, daily); sharecast/sweeper/run.py"
      filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"sweeper\" AND jsonPayload.message=\"sweep finished\""
      labels      = { sweep = "EXTRACT(jsonPayload.sweep)" }
    }
    sweep_failures = {
      description = "Sweep steps that failed and sweeps that could not run; sharecast/sweeper/run.py, main.py"
      filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"sweeper\" AND (jsonPayload.message=\"sweep step failed\" OR jsonPayload.message=\"sweep could not run\")"
      labels      = {}
    }
    relay_errors = {
      description = "Relay streaming pulls that ended and resubscriptions that failed; sharecast/relay/"
      filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"relay\" AND (jsonPayload.message=\"relay pull ended\" OR jsonPayload.message=\"relay resubscribe failed\")"
      labels      = { message = "EXTRACT(jsonPayload.message)" }
    }
    outbox_publish_failures = {
      description = "Status events whose publish to Pub/Sub after commit failed (the sweeper republishes them); sharecast/events.py"
      filter      = "resource.type=\"cloud_run_revision\" AND jsonPayload.message=\"event publish failed\""
      labels      = { service = "EXTRACT(resource.labels.service_name)" }
    }
    webhook_attempts = {
      description = "Webhook delivery attempts by the outcome they led to (SUCCEEDED, RETRYING, FAILED); sharecast/webhooks/delivery.py"
      filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"webhook-delivery\" AND (jsonPayload.message=\"webhook attempt finished\" OR jsonPayload.message=\"webhook delivery refused\")"
      labels      = { outcome = "EXTRACT(jsonPayload.outcome)" }
    }
    webhook_refused = {
      description = "Webhook attempts refused before sending (SSRF guard: a private, loopback, link-local or reserved address, or a non-https URL); sharecast/webhooks/delivery.py"
      filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"webhook-delivery\" AND jsonPayload.message=\"webhook delivery refused\""
      labels      = {}
    }
    webhook_endpoints_disabled = {
      description = "Webhook endpoints disabled after failing for WEBHOOK_DISABLE_AFTER_S or answering 410; sharecast/webhooks/delivery.py"
      filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"webhook-delivery\" AND jsonPayload.message=\"webhook endpoint disabled\""
      labels      = {}
    }
    needs_reauth = {
      description = "Connections marked needs_reauth (the network refused the grant); sharecast/oauth/refresh.py"
      filter      = "resource.type=\"cloud_run_revision\" AND jsonPayload.message=\"connection needs re-authorization\""
      labels      = { platform = "EXTRACT(jsonPayload.platform)" }
    }
  }

  publish_outcomes_type = "logging.googleapis.com/user/${google_logging_metric.publish_outcomes.name}"
  counter_type          = { for name, _ in local.log_counters : name => "logging.googleapis.com/user/${google_logging_metric.counter[name].name}" }
  outbox_lag_type       = "logging.googleapis.com/user/${google_logging_metric.outbox_republished.name}"
  channels              = [for channel in google_monitoring_notification_channel.email : channel.id]
  runbook               = "Runbook: docs/operations.md"
}

resource "google_logging_metric" "publish_outcomes" {
  name        = "sharecast/publish_outcomes"
  description = "Finished publish attempts by platform, resulting target status and outcome"
  filter      = local.publish_finished_filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "Sharecast publish attempts"
    labels {
      key         = "platform"
      value_type  = "STRING"
      description = "Network of the target (facebook, x, ...)"
    }
    labels {
      key         = "status"
      value_type  = "STRING"
      description = "Target status after the attempt: SUCCESS, RETRYING, FAILED or UNCERTAIN"
    }
    labels {
      key         = "outcome"
      value_type  = "STRING"
      description = "published, or the error code of the attempt"
    }
  }

  label_extractors = {
    platform = "EXTRACT(jsonPayload.platform)"
    status   = "EXTRACT(jsonPayload.status)"
    outcome  = "EXTRACT(jsonPayload.outcome)"
  }

  depends_on = [google_project_service.enabled]
}

resource "google_logging_metric" "publish_latency" {
  name            = "sharecast/publish_latency"
  description     = "Duration of the network call of each finished publish attempt, in milliseconds"
  filter          = local.publish_finished_filter
  value_extractor = "EXTRACT(jsonPayload.duration_ms)"

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = "ms"
    display_name = "Sharecast publish latency"
    labels {
      key         = "platform"
      value_type  = "STRING"
      description = "Network of the target"
    }
    labels {
      key         = "status"
      value_type  = "STRING"
      description = "Target status after the attempt"
    }
  }

  label_extractors = {
    platform = "EXTRACT(jsonPayload.platform)"
    status   = "EXTRACT(jsonPayload.status)"
  }

  # 10 ms to about 6 minutes.
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 30
      growth_factor      = 1.45
      scale              = 10
    }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_logging_metric" "counter" {
  for_each = local.log_counters

  name        = "sharecast/${each.key}"
  description = each.value.description
  filter      = each.value.filter

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    dynamic "labels" {
      for_each = each.value.labels
      content {
        key        = labels.key
        value_type = "STRING"
      }
    }
  }

  label_extractors = each.value.labels

  depends_on = [google_project_service.enabled]
}

# Events each minutely sweep found unpublished past OUTBOX_GRACE_S and republished (the outbox).
resource "google_logging_metric" "outbox_republished" {
  name            = "sharecast/outbox_republished"
  description     = "Events republished by each minutely sweep: they stayed unpublished past OUTBOX_GRACE_S"
  filter          = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"sweeper\" AND jsonPayload.message=\"sweep finished\" AND jsonPayload.sweep=\"minutely\""
  value_extractor = "EXTRACT(jsonPayload.counts.events_republished)"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "1"
  }

  bucket_options {
    exponential_buckets {
      num_finite_buckets = 12
      growth_factor      = 2
      scale              = 1
    }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_monitoring_notification_channel" "email" {
  for_each = toset(var.alert_emails)

  display_name = "Sharecast alerts: ${each.key}"
  type         = "email"
  labels = {
    email_address = each.key
  }

  depends_on = [google_project_service.enabled]
}

# --- publishing --------------------------------------------------------------------------------

# Share of finished attempts that ended FAILED, over 10 minutes that saw at least
# var.alert_min_attempts attempts (a handful of failures on a quiet night is no incident).
resource "google_monitoring_alert_policy" "publish_failure_rate" {
  display_name          = "Sharecast: publish failure rate"
  combiner              = "AND"
  notification_channels = local.channels

  conditions {
    display_name = "FAILED attempts / finished attempts over 10 minutes"
    condition_threshold {
      filter             = "metric.type=\"${local.publish_outcomes_type}\" AND resource.type=\"cloud_run_revision\" AND metric.label.status=\"FAILED\""
      denominator_filter = "metric.type=\"${local.publish_outcomes_type}\" AND resource.type=\"cloud_run_revision\""
      comparison         = "COMPARISON_GT"
      threshold_value    = var.alert_failure_ratio
      duration           = "300s"

      aggregations {
        alignment_period     = "600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      denominator_aggregations {
        alignment_period     = "600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  conditions {
    display_name = "at least alert_min_attempts finished attempts in 10 minutes"
    condition_threshold {
      filter          = "metric.type=\"${local.publish_outcomes_type}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_min_attempts
      duration        = "300s"

      aggregations {
        alignment_period     = "600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "More than ${var.alert_failure_ratio * 100}% of at least ${var.alert_min_attempts} publish attempts ended FAILED in 10 minutes. ${local.runbook}#publish-failure-rate"
  }
}

# Targets ending FAILED are the dead letters (GET /admin/dead-letters): their growth per hour.
resource "google_monitoring_alert_policy" "dead_letters" {
  display_name          = "Sharecast: dead letters growing"
  combiner              = "OR"
  notification_channels = local.channels

  conditions {
    display_name = "targets ending FAILED per hour"
    condition_threshold {
      filter          = "metric.type=\"${local.publish_outcomes_type}\" AND resource.type=\"cloud_run_revision\" AND metric.label.status=\"FAILED\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_dead_letters_per_hour
      duration        = "0s" # the hour-long window already smooths it

      aggregations {
        alignment_period     = "3600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "7200s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "More than ${var.alert_dead_letters_per_hour} targets ended FAILED (dead letters) within an hour. ${local.runbook}#dead-letters-growing"
  }
}

# The publish backlog: how late deliveries run behind their scheduled time. Queue depth would
# count scheduled posts (tasks due days ahead), so the delay is the signal.
resource "google_monitoring_alert_policy" "publish_backlog" {
  display_name          = "Sharecast: publish queue backlog"
  combiner              = "OR"
  notification_channels = local.channels

  conditions {
    display_name = "p95 delay between a task's scheduled time and its delivery"
    condition_threshold {
      filter          = "metric.type=\"cloudtasks.googleapis.com/queue/task_attempt_delays\" AND resource.type=\"cloud_tasks_queue\" AND resource.label.queue_id=\"${google_cloud_tasks_queue.publish.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_backlog_delay_s * 1000 # the metric is in milliseconds
      duration        = "600s"

      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_PERCENTILE_95"
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Publish tasks are delivered more than ${var.alert_backlog_delay_s} s late. ${local.runbook}#publish-queue-backlog"
  }
}

# --- the sweeper ---------------------------------------------------------------------------------

resource "google_monitoring_alert_policy" "sweeper_failing" {
  display_name          = "Sharecast: sweeper failing"
  combiner              = "OR"
  notification_channels = local.channels

  conditions {
    display_name = "failed sweep steps in 15 minutes"
    condition_threshold {
      filter          = "metric.type=\"${local.counter_type["sweep_failures"]}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 2 # one failed run is repeated by the next; three in a row is an incident
      duration        = "0s"

      aggregations {
        alignment_period     = "900s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "3600s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "The sweeper's steps keep failing (more than 2 failures in 15 minutes). ${local.runbook}#sweeper-failing"
  }
}

# The minutely sweep must finish every minute: its absence means the Scheduler job, its
# identity or the function is broken (a 401 from the sweeper shows here).
resource "google_monitoring_alert_policy" "sweeper_absent" {
  display_name          = "Sharecast: sweeper not running"
  combiner              = "OR"
  notification_channels = local.channels

  conditions {
    display_name = "no finished minutely sweep for 10 minutes"
    condition_absent {
      filter   = "metric.type=\"${local.counter_type["sweep_runs"]}\" AND resource.type=\"cloud_run_revision\" AND metric.label.sweep=\"minutely\""
      duration = "600s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "No minutely sweep finished for 10 minutes. ${local.runbook}#sweeper-not-running"
  }
}

# --- events: outbox and relay ------------------------------------------------------------------

resource "google_monitoring_alert_policy" "outbox_lag" {
  display_name          = "Sharecast: outbox lag"
  combiner              = "OR"
  notification_channels = local.channels

  conditions {
    display_name = "minutely sweeps keep republishing events for 15 minutes"
    condition_threshold {
      filter          = "metric.type=\"${local.outbox_lag_type}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "900s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_PERCENTILE_50"
        cross_series_reducer = "REDUCE_MAX"
      }
      trigger {
        count = 1
      }
    }
  }

  conditions {
    display_name = "event publishes to Pub/Sub failing"
    condition_threshold {
      filter          = "metric.type=\"${local.counter_type["outbox_publish_failures"]}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_outbox_failures
      duration        = "0s"

      aggregations {
        alignment_period     = "600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Status events stay unpublished after commit: browsers see them only through replay. ${local.runbook}#outbox-lag"
  }
}

resource "google_monitoring_alert_policy" "relay_errors" {
  display_name          = "Sharecast: relay errors"
  combiner              = "OR"
  notification_channels = local.channels

  conditions {
    display_name = "streaming pulls ended or resubscriptions failed in 10 minutes"
    condition_threshold {
      filter          = "metric.type=\"${local.counter_type["relay_errors"]}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 2
      duration        = "0s"

      aggregations {
        alignment_period     = "600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  conditions {
    display_name = "5xx answers of the relay"
    condition_threshold {
      filter          = "metric.type=\"run.googleapis.com/request_count\" AND resource.type=\"cloud_run_revision\" AND resource.label.service_name=\"relay\" AND metric.label.response_code_class=\"5xx\""
      comparison      = "COMPARISON_GT"
      threshold_value = 10
      duration        = "300s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "The relay loses its Pub/Sub stream or answers 5xx. ${local.runbook}#relay-errors"
  }
}

# The relay's /healthz answers 503 while its instance has no running subscription
# (sharecast/relay/runtime.py `healthy`): the uptime check sees it from outside, the liveness
# probe (relay.tf) restarts such an instance.
resource "google_monitoring_alert_policy" "relay_no_subscription" {
  display_name          = "Sharecast: relay without subscription"
  combiner              = "OR"
  notification_channels = local.channels

  conditions {
    display_name = "relay /healthz failing from at least two regions"
    condition_threshold {
      filter          = "metric.type=\"monitoring.googleapis.com/uptime_check/check_passed\" AND resource.type=\"uptime_url\" AND metric.label.check_id=\"${google_monitoring_uptime_check_config.relay.uptime_check_id}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 1
      duration        = "300s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_NEXT_OLDER"
        cross_series_reducer = "REDUCE_COUNT_FALSE"
        group_by_fields      = ["resource.label.host"]
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "The relay reports no running Pub/Sub subscription: live events reach no browser. ${local.runbook}#relay-without-subscription"
  }
}

# --- the API -------------------------------------------------------------------------------------

# 5xx share of the api's answers over 5 minutes that saw at least var.alert_api_min_requests.
resource "google_monitoring_alert_policy" "api_5xx" {
  display_name          = "Sharecast: API 5xx ratio"
  combiner              = "AND"
  notification_channels = local.channels

  conditions {
    display_name = "5xx answers / all answers of the api"
    condition_threshold {
      filter             = "metric.type=\"run.googleapis.com/request_count\" AND resource.type=\"cloud_run_revision\" AND resource.label.service_name=\"api\" AND metric.label.response_code_class=\"5xx\""
      denominator_filter = "metric.type=\"run.googleapis.com/request_count\" AND resource.type=\"cloud_run_revision\" AND resource.label.service_name=\"api\""
      comparison         = "COMPARISON_GT"
      threshold_value    = var.alert_api_5xx_ratio
      duration           = "300s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      denominator_aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  conditions {
    display_name = "at least alert_api_min_requests requests in 5 minutes"
    condition_threshold {
      filter          = "metric.type=\"run.googleapis.com/request_count\" AND resource.type=\"cloud_run_revision\" AND resource.label.service_name=\"api\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_api_min_requests
      duration        = "300s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "More than ${var.alert_api_5xx_ratio * 100}% of the API's answers were 5xx over 5 minutes. ${local.runbook}#api-5xx-ratio"
  }
}

resource "google_monitoring_alert_policy" "api_down" {
  display_name          = "Sharecast: API unreachable"
  combiner              = "OR"
  notification_channels = local.channels

  conditions {
    display_name = "api /healthz failing from at least two regions"
    condition_threshold {
      filter          = "metric.type=\"monitoring.googleapis.com/uptime_check/check_passed\" AND resource.type=\"uptime_url\" AND metric.label.check_id=\"${google_monitoring_uptime_check_config.api.uptime_check_id}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 1
      duration        = "300s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_NEXT_OLDER"
        cross_series_reducer = "REDUCE_COUNT_FALSE"
        group_by_fields      = ["resource.label.host"]
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "The API's /healthz fails from outside. ${local.runbook}#api-unreachable"
  }
}

# --- connections ---------------------------------------------------------------------------------

# One connection needing re-authorization is a user's business; many at once (a revoked app,
# a rotated client secret, a network's outage of its OAuth) is an incident.
resource "google_monitoring_alert_policy" "needs_reauth_wave" {
  display_name          = "Sharecast: wave of needs_reauth"
  combiner              = "OR"
  notification_channels = local.channels

  conditions {
    display_name = "connections marked needs_reauth in 15 minutes, per platform"
    condition_threshold {
      filter          = "metric.type=\"${local.counter_type["needs_reauth"]}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_needs_reauth_per_15min
      duration        = "0s"

      aggregations {
        alignment_period     = "900s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.platform"]
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "3600s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "More than ${var.alert_needs_reauth_per_15min} connections of one network needed re-authorization within 15 minutes. ${local.runbook}#wave-of-needs_reauth"
  }
}

# --- uptime checks and the dashboard ------------------------------------------------------------

resource "google_monitoring_uptime_check_config" "api" {
  display_name = "Sharecast API /healthz"
  timeout      = "10s"
  period       = "60s"

  http_check {
    path         = "/healthz"
    port         = 443
    use_ssl      = true
    validate_ssl = true
    accepted_response_status_codes {
      status_class = "STATUS_CLASS_2XX"
    }
  }

  monitored_resource {
    type = "uptime_url"
    labels = {
      project_id = var.project_id
      host       = trimprefix(google_cloudfunctions2_function.fn["api"].service_config[0].uri, "https://") # its Cloud Run URL
    }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_monitoring_uptime_check_config" "relay" {
  display_name = "Sharecast relay /healthz"
  timeout      = "10s"
  period       = "60s"

  http_check {
    path         = "/healthz"
    port         = 443
    use_ssl      = true
    validate_ssl = true
    accepted_response_status_codes {
      status_class = "STATUS_CLASS_2XX"
    }
  }

  monitored_resource {
    type = "uptime_url"
    labels = {
      project_id = var.project_id
      host       = trimprefix(google_cloud_run_v2_service.relay.uri, "https://")
    }
  }

  depends_on = [google_project_service.enabled]
}

# The dashboard's JSON lives in terraform/dashboards/ (edit it there, or export it from the
# console and replace the file); ${...} placeholders are filled with templatefile().
resource "google_monitoring_dashboard" "main" {
  dashboard_json = templatefile("${path.module}/dashboards/sharecast.json", {
    publish_outcomes = local.publish_outcomes_type
    publish_latency  = "logging.googleapis.com/user/${google_logging_metric.publish_latency.name}"
    sweep_runs       = local.counter_type["sweep_runs"]
    sweep_failures   = local.counter_type["sweep_failures"]
    relay_errors     = local.counter_type["relay_errors"]
    needs_reauth     = local.counter_type["needs_reauth"]
    outbox_lag       = local.outbox_lag_type
    queue_id         = google_cloud_tasks_queue.publish.name
  })

  depends_on = [google_project_service.enabled]
}

# Webhook endpoints disabled: each one means a customer stopped receiving events.
resource "google_monitoring_alert_policy" "webhook_endpoints_disabled" {
  display_name          = "Sharecast: webhook endpoints disabled"
  combiner              = "OR"
  notification_channels = local.channels

  conditions {
    display_name = "webhook endpoints disabled per hour"
    condition_threshold {
      filter          = "metric.type=\"${local.counter_type["webhook_endpoints_disabled"]}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_webhook_endpoints_disabled_per_hour
      duration        = "0s" # the hour-long window already smooths it

      aggregations {
        alignment_period     = "3600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "7200s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "More than ${var.alert_webhook_endpoints_disabled_per_hour} webhook endpoints were disabled within an hour. ${local.runbook}#webhook-endpoints-disabled"
  }
}
