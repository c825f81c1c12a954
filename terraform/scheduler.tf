# Cloud Scheduler jobs of the sweeper (docs/semantics.md#the-sweeper), each calling it with an OIDC token of the
# scheduler-invoker account. They exist only while local.functions has "sweeper".

locals {
  # Job name => schedule (cron, in var.scheduler_time_zone) and request body. The body names the
  # sweep (functions/sharecast/sweeper/envelope.py). `make run` reads this map too
  # (infra/scheduler.py), so the local stand-in sweeps on the same cadence with the same bodies.
  sweeper_schedule = {
    "sweep-minutely" = {
      description = "Missed schedules, lost retries, expired leases, unpublished events"
      schedule    = "* * * * *"
      body        = { sweep = "minutely" }
    }
    "sweep-daily" = {
      description = "Media past expires_at, uploads stuck in UPLOADING"
      schedule    = "17 3 * * *"
      body        = { sweep = "daily" }
    }
  }

  sweeper_jobs = {
    for name, job in local.sweeper_schedule : name => job if contains(keys(local.functions), "sweeper")
  }
}

resource "google_cloud_scheduler_job" "sweeper" {
  for_each = local.sweeper_jobs

  name             = each.key
  region           = var.region
  description      = each.value.description
  schedule         = each.value.schedule
  time_zone        = var.scheduler_time_zone
  attempt_deadline = "320s" # the sweeper's timeout (300 s) plus slack

  # A missed run is caught by the next one (every sweep is idempotent).
  retry_config {
    retry_count = 0
  }

  http_target {
    http_method = "POST"
    uri         = google_cloudfunctions2_function.fn["sweeper"].url
    headers     = { "Content-Type" = "application/json" }
    body        = base64encode(jsonencode(each.value.body))

    # What the sweeper checks (functions.tf: SWEEPER_URL, SCHEDULER_INVOKER_SERVICE_ACCOUNT).
    oidc_token {
      service_account_email = google_service_account.workload["scheduler-invoker"].email
      audience              = local.sweeper_url
    }
  }

  depends_on = [google_project_service.enabled, google_cloud_run_service_iam_member.invoker]
}
