# Google APIs the system uses. Left enabled on destroy: disabling an API other things in the
# project may rely on is never Terraform's call.

locals {
  services = toset([
    "artifactregistry.googleapis.com",     # relay image and the functions' build images
    "cloudbuild.googleapis.com",           # function builds and the relay's buildpacks build
    "cloudfunctions.googleapis.com",       # api, publisher, sweeper, media_finalized (gen2)
    "cloudresourcemanager.googleapis.com", # project IAM bindings
    "cloudscheduler.googleapis.com",       # sweeper jobs (docs/semantics.md#the-sweeper)
    "cloudtasks.googleapis.com",           # the publish queue (docs/semantics.md#the-publisher)
    "eventarc.googleapis.com",             # GCS finalize -> media_finalized
    "firestore.googleapis.com",            # state, audit, event log (docs/data-model.md)
    "iam.googleapis.com",                  # service accounts, custom role
    "iamcredentials.googleapis.com",       # signBlob for V4 signed URLs without key files
    "logging.googleapis.com",              # log-based metrics
    "monitoring.googleapis.com",           # alert policies
    "pubsub.googleapis.com",               # status topic, relay subscriptions, Eventarc transport
    "run.googleapis.com",                  # the relay and the gen2 functions' services
    "secretmanager.googleapis.com",        # JWT, relay-token and token-encryption keys
    "storage.googleapis.com",              # media and function-source buckets
  ])
}

resource "google_project_service" "enabled" {
  for_each = local.services

  service                    = each.value
  disable_on_destroy         = false
  disable_dependent_services = false
}
