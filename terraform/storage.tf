# Cloud Storage and Artifact Registry: the media bucket (user uploads, docs/api.md#media), the bucket of
# the functions' source archives, and the image repository of the builds.

resource "google_storage_bucket" "media" {
  name                        = "${var.project_id}-sharecast-media"
  location                    = upper(var.region) # same region as the GCS trigger of media_finalized
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  # Deleted objects stay recoverable for 7 days (soft delete instead of versioning: every upload
  # has a unique path, so no object is ever overwritten).
  soft_delete_policy {
    retention_duration_seconds = 604800
  }

  # Browsers PUT uploads straight to the signed URL from these origins (docs/api.md#media). The signed
  # headers are the content type and the allowed content-length range.
  dynamic "cors" {
    for_each = length(var.cors_origins) > 0 ? [var.cors_origins] : []
    content {
      origin          = cors.value
      method          = ["PUT", "GET", "HEAD"]
      response_header = ["Content-Type", "x-goog-content-length-range", "x-goog-if-generation-match", "ETag"]
      max_age_seconds = 3600
    }
  }

  # Backstop only: the sweeper deletes each object at its record's expires_at (docs/semantics.md#the-sweeper).
  lifecycle_rule {
    condition {
      age            = var.media_retention_days
      matches_prefix = ["media/"]
    }
    action {
      type = "Delete"
    }
  }

  # Multipart uploads a client never completed.
  lifecycle_rule {
    condition {
      age = 1
    }
    action {
      type = "AbortIncompleteMultipartUpload"
    }
  }

  #checkov:skip=CKV_GCP_78:Every upload has a unique object path (nothing is overwritten) and soft delete keeps deleted objects 7 days; versions would only keep user-deleted media longer.
  #checkov:skip=CKV_GCP_62:Access is audited with Cloud Audit Logs (Data Access) instead of legacy usage-log objects in a third bucket.

  depends_on = [google_project_service.enabled]
}

resource "google_storage_bucket" "source" {
  name                        = "${var.project_id}-sharecast-source"
  location                    = upper(var.region)
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  soft_delete_policy {
    retention_duration_seconds = 604800
  }

  # Source uploads of the relay's Cloud Build runs (make deploy: --gcs-source-staging-dir).
  # The function archives under functions/ are managed by Terraform (functions.tf).
  lifecycle_rule {
    condition {
      age            = 30
      matches_prefix = ["relay-source/"]
    }
    action {
      type = "Delete"
    }
  }

  #checkov:skip=CKV_GCP_78:Objects are named by the hash of their content and never overwritten; Terraform replaces the archive object when the source changes.
  #checkov:skip=CKV_GCP_62:Build inputs only; access is audited with Cloud Audit Logs (Data Access).

  depends_on = [google_project_service.enabled]
}

# Images of the relay (make deploy) and of the functions (their build_config.docker_repository).
resource "google_artifact_registry_repository" "images" {
  location      = var.region
  repository_id = "sharecast"
  format        = "DOCKER"
  description   = "Sharecast images: the relay and the Cloud Functions builds"

  # Keep the 10 newest versions of every image (a rollback target), delete the rest after 30 days.
  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 10
    }
  }
  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      tag_state  = "ANY"
      older_than = "2592000s"
    }
  }

  #checkov:skip=CKV_GCP_84:Images are built from the open-source functions/ tree and hold no secrets (those come from Secret Manager at run time); Google-managed encryption, no KMS key to operate.

  depends_on = [google_project_service.enabled]
}
