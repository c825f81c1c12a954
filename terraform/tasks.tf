# The Cloud Tasks queue "publish" (docs/semantics.md#the-publisher): one named task per target attempt.
#
# The publisher schedules the next attempt of a retrying target itself (as a new named task with
# the platform's wait or the backoff), so the queue's own retry config is only the safety net for
# deliveries that crashed or answered 5xx before anything was recorded.

resource "google_cloud_tasks_queue" "publish" {
  name     = "publish" # TASKS_QUEUE; a deleted queue's name cannot be reused for 7 days
  location = var.region

  rate_limits {
    max_dispatches_per_second = var.queue_max_dispatches_per_second
    max_concurrent_dispatches = var.queue_max_concurrent_dispatches
  }

  retry_config {
    max_attempts       = 10
    max_retry_duration = "3600s"
    min_backoff        = "2s"
    max_backoff        = "300s"
    max_doublings      = 5
  }

  # One log entry per attempt that failed; successful attempts are logged by the publisher.
  stackdriver_logging_config {
    sampling_ratio = 0.1
  }

  depends_on = [google_project_service.enabled]
}

# The Cloud Tasks queue "webhooks" (docs/webhooks.md#delivery): one named task per webhook delivery
# attempt, with its own rate limits, so deliveries to customers' servers never take dispatches
# from publishing (and the other way round).
#
# The webhook_delivery function records every attempt and queues the next one itself (backoff
# with jitter, Retry-After, for about 3 days), answering 200 whatever the receiver said; this
# retry config is only the safety net for attempts that could not be recorded.
resource "google_cloud_tasks_queue" "webhooks" {
  name     = "webhooks" # WEBHOOK_QUEUE
  location = var.region

  rate_limits {
    max_dispatches_per_second = var.webhook_queue_max_dispatches_per_second
    max_concurrent_dispatches = var.webhook_queue_max_concurrent_dispatches
  }

  retry_config {
    max_attempts       = 20
    max_retry_duration = "3600s"
    min_backoff        = "5s"
    max_backoff        = "300s"
    max_doublings      = 5
  }

  stackdriver_logging_config {
    sampling_ratio = 0.1
  }

  depends_on = [google_project_service.enabled]
}
