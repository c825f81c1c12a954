# Log-based metrics of the publisher and the alert policies on them and on the queue.
#
# The publisher logs one structured line per finished attempt (sharecast/publisher/attempt.py):
#   {"message": "publish attempt finished", "platform", "status", "outcome", "duration_ms", ...}
# Gen2 functions log as their Cloud Run service, whose name is the function's.

locals {
  publish_finished_filter = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "resource.labels.service_name=\"publisher\"",
    "jsonPayload.message=\"publish attempt finished\"",
  ])
  publish_outcomes_type = "logging.googleapis.com/user/${google_logging_metric.publish_outcomes.name}"
}

resource "google_logging_metric" "publish_outcomes" {
  name        = "sharecast/publish_outcomes"
  description = "Finished publish attempts by platform, resulting target status and outcome (SPEC §5)"
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
      description = "Target status after the attempt: SUCCESS, RETRYING or FAILED"
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

resource "google_monitoring_notification_channel" "email" {
  for_each = toset(var.alert_emails)

  display_name = "Sharecast alerts: ${each.key}"
  type         = "email"
  labels = {
    email_address = each.key
  }

  depends_on = [google_project_service.enabled]
}

# Share of finished attempts that ended FAILED (permanent errors and exhausted retries).
resource "google_monitoring_alert_policy" "publish_failure_rate" {
  display_name          = "Sharecast: publish failure rate"
  combiner              = "OR"
  notification_channels = [for channel in google_monitoring_notification_channel.email : channel.id]

  conditions {
    display_name = "FAILED attempts / finished attempts over 10 minutes"
    condition_threshold {
      filter             = "metric.type=\"${local.publish_outcomes_type}\" AND resource.type=\"cloud_run_revision\" AND metric.label.status=\"FAILED\""
      denominator_filter = "metric.type=\"${local.publish_outcomes_type}\" AND resource.type=\"cloud_run_revision\""
      comparison         = "COMPARISON_GT"
      threshold_value    = var.alert_failure_ratio
      duration           = "0s"

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

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "More than ${var.alert_failure_ratio * 100}% of publish attempts ended FAILED in 10 minutes. Break the metric ${local.publish_outcomes_type} down by platform and outcome, then read the publisher's \"publish attempt finished\" log lines and the attempt log (Firestore collection attempts)."
  }
}

# The publish backlog: how late deliveries run behind their scheduled time. Queue depth would
# count scheduled posts (tasks due days ahead), so the delay is the signal.
resource "google_monitoring_alert_policy" "publish_backlog" {
  display_name          = "Sharecast: publish queue backlog"
  combiner              = "OR"
  notification_channels = [for channel in google_monitoring_notification_channel.email : channel.id]

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
    content   = "Publish tasks are delivered more than ${var.alert_backlog_delay_s} s late. Check the queue's rate limits (queue_max_* variables), the publisher's max instances and its errors."
  }
}
