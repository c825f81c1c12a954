# One service account per workload, each with only the roles it needs (docs/operations.md#deployment).
#
# Every role is one entry of local.grants with the reason in `why` (tests/unit/terraform
# requires one for every entry, and at least one entry per service account). Grants are scoped
# to the resource they are about (topic, queue, bucket, repository, secret, function) wherever
# IAM allows it; project-wide only where it does not (Firestore, Eventarc, log writing, and
# the relay's subscriptions, which do not exist before it starts).
# Accounts and grants of a function exist only while its key is in local.functions.

locals {
  # Account key => description. Functions' keys are their entry points.
  service_accounts = merge(
    { for name, fn in local.functions : name => fn.description },
    {
      relay              = "Sharecast relay (Cloud Run, SSE): replays the event log, one Pub/Sub subscription per instance"
      "tasks-invoker"    = "Identity in the OIDC token of every publish task: may only invoke the publisher"
      "webhooks-invoker" = "Identity in the OIDC token of every webhook delivery task: may only invoke webhook_delivery"
      builder            = "Builds the functions and the relay image (Cloud Build)"
    },
    {
      for name, description in {
        "scheduler-invoker" = "Identity in the OIDC token of the sweeper's Cloud Scheduler jobs: may only invoke the sweeper"
      } : name => description if contains(keys(local.functions), "sweeper")
    },
  )

  # Custom role of the relay (relay_subscriptions below); a literal, so for_each keys are known.
  relay_role = "projects/${var.project_id}/roles/sharecastRelaySubscriptions"

  # sa: account key; on: what the role is granted on:
  #   project | topic | queue | webhook_queue | media_bucket | source_bucket | images_repo
  #   sa:KEY (that service account) | function:KEY (invoking that function)
  grants = [
    # api
    { sa = "api", on = "project", role = "roles/datastore.user", why = "Firestore read/write: posts, targets, event log, connections (docs/data-model.md)" },
    { sa = "api", on = "queue", role = "roles/cloudtasks.enqueuer", why = "creates the first publish task of every target (docs/semantics.md#the-publisher)" },
    { sa = "api", on = "sa:tasks-invoker", role = "roles/iam.serviceAccountUser", why = "actAs the tasks invoker: required to create tasks carrying its OIDC token" },
    { sa = "api", on = "topic", role = "roles/pubsub.publisher", why = "publishes status events after commit (the outbox, docs/semantics.md#events-and-replay)" },
    { sa = "api", on = "media_bucket", role = "roles/storage.objectUser", why = "signed upload URLs, confirm and delete media objects (docs/api.md#media)" },
    { sa = "api", on = "sa:api", role = "roles/iam.serviceAccountTokenCreator", why = "signBlob as itself: V4 signed URLs without a key file (docs/api.md#media)" },

    # publisher
    { sa = "publisher", on = "project", role = "roles/datastore.user", why = "claims targets, records outcomes and attempts, appends events (docs/semantics.md#the-publisher)" },
    { sa = "publisher", on = "queue", role = "roles/cloudtasks.enqueuer", why = "schedules the next attempt of a retrying target itself (docs/semantics.md#the-publisher)" },
    { sa = "publisher", on = "sa:tasks-invoker", role = "roles/iam.serviceAccountUser", why = "actAs the tasks invoker for the next attempt's OIDC token" },
    { sa = "publisher", on = "topic", role = "roles/pubsub.publisher", why = "publishes status events after commit" },
    { sa = "publisher", on = "media_bucket", role = "roles/storage.objectViewer", why = "streams media bytes to networks that need an upload (docs/api.md#media)" },
    { sa = "publisher", on = "sa:publisher", role = "roles/iam.serviceAccountTokenCreator", why = "signBlob as itself: signed GET URLs for networks that fetch media by URL" },

    # sweeper (only while local.functions has it)
    { sa = "sweeper", on = "project", role = "roles/datastore.user", why = "due posts, lost retries, expired leases, unpublished events, expired media (docs/semantics.md#the-sweeper)" },
    { sa = "sweeper", on = "queue", role = "roles/cloudtasks.enqueuer", why = "re-enqueues missed schedules and lost retries" },
    { sa = "sweeper", on = "sa:tasks-invoker", role = "roles/iam.serviceAccountUser", why = "actAs the tasks invoker for the tasks it enqueues" },
    { sa = "sweeper", on = "topic", role = "roles/pubsub.publisher", why = "publishes outbox events that never reached Pub/Sub" },
    { sa = "sweeper", on = "media_bucket", role = "roles/storage.objectUser", why = "deletes media objects past expires_at" },

    # media_finalized (only while local.functions has it)
    { sa = "media_finalized", on = "project", role = "roles/datastore.user", why = "marks the media record UPLOADED" },
    { sa = "media_finalized", on = "media_bucket", role = "roles/storage.objectViewer", why = "checks the finalized object's type and size" },
    { sa = "media_finalized", on = "project", role = "roles/eventarc.eventReceiver", why = "identity of the Eventarc trigger: receives the GCS events" },
    { sa = "media_finalized", on = "function:media_finalized", role = "roles/run.invoker", why = "Eventarc delivers each event to the function with this identity" },

    # webhooks: every workload that commits events fans them out to webhook deliveries
    # (docs/webhooks.md#delivery); webhook_delivery also queues each next attempt.
    { sa = "api", on = "webhook_queue", role = "roles/cloudtasks.enqueuer", why = "queues webhook deliveries of the events it commits, pings and redeliveries" },
    { sa = "api", on = "sa:webhooks-invoker", role = "roles/iam.serviceAccountUser", why = "actAs the webhooks invoker for the delivery tasks' OIDC token" },
    { sa = "publisher", on = "webhook_queue", role = "roles/cloudtasks.enqueuer", why = "queues webhook deliveries of the status events it commits" },
    { sa = "publisher", on = "sa:webhooks-invoker", role = "roles/iam.serviceAccountUser", why = "actAs the webhooks invoker for the delivery tasks' OIDC token" },
    { sa = "sweeper", on = "webhook_queue", role = "roles/cloudtasks.enqueuer", why = "queues webhook deliveries of events the fan-out missed (Outbox.catch_up)" },
    { sa = "sweeper", on = "sa:webhooks-invoker", role = "roles/iam.serviceAccountUser", why = "actAs the webhooks invoker for the delivery tasks' OIDC token" },
    { sa = "webhook_delivery", on = "project", role = "roles/datastore.user", why = "reads endpoints, records attempts in the delivery log, disables failing endpoints" },
    { sa = "webhook_delivery", on = "webhook_queue", role = "roles/cloudtasks.enqueuer", why = "queues the next attempt of a retrying delivery (backoff, Retry-After)" },
    { sa = "webhook_delivery", on = "sa:webhooks-invoker", role = "roles/iam.serviceAccountUser", why = "actAs the webhooks invoker for the next attempt's OIDC token" },
    { sa = "webhook_delivery", on = "topic", role = "roles/pubsub.publisher", why = "publishes the notification event of an endpoint it disables" },
    { sa = "webhooks-invoker", on = "function:webhook_delivery", role = "roles/run.invoker", why = "Cloud Run IAM accepts the OIDC token of every webhook delivery task" },

    # relay
    { sa = "relay", on = "project", role = "roles/datastore.viewer", why = "reads users/{uid}/events for Last-Event-ID replay (read only, docs/semantics.md#events-and-replay)" },
    { sa = "relay", on = "project", role = local.relay_role, why = "creates, pulls from and deletes its own per-instance subscription (docs/semantics.md#events-and-replay)" },
    { sa = "relay", on = "topic", role = "roles/pubsub.subscriber", why = "pubsub.topics.attachSubscription: attaches its subscription to the status topic" },

    # invokers
    { sa = "tasks-invoker", on = "function:publisher", role = "roles/run.invoker", why = "Cloud Run IAM accepts the OIDC token of every publish task" },
    { sa = "scheduler-invoker", on = "function:sweeper", role = "roles/run.invoker", why = "Cloud Run IAM accepts the OIDC token of the sweeper's Scheduler jobs" },

    # builder
    { sa = "builder", on = "project", role = "roles/logging.logWriter", why = "writes build logs (Cloud Build, CLOUD_LOGGING_ONLY)" },
    { sa = "builder", on = "images_repo", role = "roles/artifactregistry.writer", why = "pushes the functions' and the relay's images" },
    { sa = "builder", on = "source_bucket", role = "roles/storage.objectViewer", why = "reads the function source archive and the relay's build source" },
  ]

  # True while some function is triggered by GCS events (media_finalized).
  has_gcs_trigger = anytrue([for fn in values(local.functions) : fn.trigger == "gcs_finalize"])

  # Grants whose account exists (and, for invokers, whose function exists).
  active_grants = {
    for g in local.grants : "${g.sa} ${g.on} ${g.role}" => g
    if contains(keys(local.service_accounts), g.sa) && (
      !startswith(g.on, "function:") || contains(keys(local.functions), trimprefix(g.on, "function:"))
    )
  }
}

resource "google_service_account" "workload" {
  for_each = local.service_accounts

  account_id   = "sharecast-${replace(each.key, "_", "-")}"
  display_name = "Sharecast ${each.key}"
  description  = each.value

  depends_on = [google_project_service.enabled]
}

# The relay's Pub/Sub permissions on its own per-instance subscriptions, which do not exist
# before it starts (so no subscription-level binding is possible): create at start, consume,
# delete at shutdown (sharecast/relay/subscription.py). No topic administration, no publishing.
resource "google_project_iam_custom_role" "relay_subscriptions" {
  role_id     = "sharecastRelaySubscriptions"
  title       = "Sharecast relay subscriptions"
  description = "Create, pull from and delete the relay's per-instance Pub/Sub subscriptions"
  permissions = [
    "pubsub.subscriptions.consume",
    "pubsub.subscriptions.create",
    "pubsub.subscriptions.delete",
    "pubsub.subscriptions.get",
  ]

  depends_on = [google_project_service.enabled]
}

resource "google_project_iam_member" "grant" {
  for_each = { for k, g in local.active_grants : k => g if g.on == "project" }

  project = var.project_id
  role    = each.value.role
  member  = "serviceAccount:${google_service_account.workload[each.value.sa].email}"

  depends_on = [google_project_iam_custom_role.relay_subscriptions]
}

resource "google_pubsub_topic_iam_member" "grant" {
  for_each = { for k, g in local.active_grants : k => g if g.on == "topic" }

  topic  = google_pubsub_topic.status.id
  role   = each.value.role
  member = "serviceAccount:${google_service_account.workload[each.value.sa].email}"
}

resource "google_cloud_tasks_queue_iam_member" "grant" {
  for_each = { for k, g in local.active_grants : k => g if contains(["queue", "webhook_queue"], g.on) }

  name     = each.value.on == "queue" ? google_cloud_tasks_queue.publish.name : google_cloud_tasks_queue.webhooks.name
  location = var.region
  role     = each.value.role
  member   = "serviceAccount:${google_service_account.workload[each.value.sa].email}"
}

resource "google_storage_bucket_iam_member" "grant" {
  for_each = { for k, g in local.active_grants : k => g if contains(["media_bucket", "source_bucket"], g.on) }

  bucket = each.value.on == "media_bucket" ? google_storage_bucket.media.name : google_storage_bucket.source.name
  role   = each.value.role
  member = "serviceAccount:${google_service_account.workload[each.value.sa].email}"
}

resource "google_artifact_registry_repository_iam_member" "grant" {
  for_each = { for k, g in local.active_grants : k => g if g.on == "images_repo" }

  location   = google_artifact_registry_repository.images.location
  repository = google_artifact_registry_repository.images.name
  role       = each.value.role
  member     = "serviceAccount:${google_service_account.workload[each.value.sa].email}"
}

resource "google_service_account_iam_member" "grant" {
  for_each = { for k, g in local.active_grants : k => g if startswith(g.on, "sa:") }

  service_account_id = google_service_account.workload[trimprefix(each.value.on, "sa:")].name
  role               = each.value.role
  member             = "serviceAccount:${google_service_account.workload[each.value.sa].email}"
}

# Who may invoke a private function: run.invoker on its underlying Cloud Run service.
resource "google_cloud_run_service_iam_member" "invoker" {
  for_each = { for k, g in local.active_grants : k => g if startswith(g.on, "function:") }

  location = var.region
  service  = google_cloudfunctions2_function.fn[trimprefix(each.value.on, "function:")].name
  role     = each.value.role
  member   = "serviceAccount:${google_service_account.workload[each.value.sa].email}"
}

# Public functions (only the api): anyone may call it; the app authenticates every route but
# /healthz and /openapi.json with the user's JWT (docs/api.md).
resource "google_cloud_run_service_iam_member" "public" {
  #checkov:skip=CKV_GCP_102:The api is the public HTTP API for browsers and apps (docs/api.md); every route but /healthz and /openapi.json checks the user's JWT in the app.
  for_each = { for name, fn in local.functions : name => fn.public if fn.public }

  location = var.region
  service  = google_cloudfunctions2_function.fn[each.key].name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# Secrets each workload reads as environment variables (functions.tf, relay.tf): accessor on
# exactly those secrets.
resource "google_secret_manager_secret_iam_member" "env" {
  for_each = merge(
    {
      for pair in flatten([
        for name, fn in local.functions : [
          for env, secret in fn.secrets : { sa = name, secret = secret }
        ]
      ]) : "${pair.sa} ${pair.secret}" => pair
    },
    { for env, secret in local.relay.secrets : "relay ${secret}" => { sa = "relay", secret = secret } },
  )

  secret_id = local.all_secrets[each.value.secret].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.workload[each.value.sa].email}"
}

# GCS event triggers: the Cloud Storage service agent publishes the bucket's events to the
# Pub/Sub transport of Eventarc (https://cloud.google.com/functions/docs/calling/storage).
data "google_storage_project_service_account" "gcs" {
  count = local.has_gcs_trigger ? 1 : 0

  depends_on = [google_project_service.enabled]
}

resource "google_project_iam_member" "gcs_publishes_events" {
  count = local.has_gcs_trigger ? 1 : 0

  project = var.project_id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${data.google_storage_project_service_account.gcs[0].email_address}"
}
