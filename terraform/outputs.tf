# What a frontend and an operator need after `terraform apply`.

output "api_url" {
  description = "Base URL of the public HTTP API (the api function)."
  value       = google_cloudfunctions2_function.fn["api"].url
}

output "relay_url" {
  description = "Base URL of the relay: browsers open EventSource on RELAY_URL/events."
  value       = google_cloud_run_v2_service.relay.uri
}

output "media_bucket" {
  description = "Bucket of user media uploads."
  value       = google_storage_bucket.media.name
}

output "publisher_url" {
  description = "URL of the publisher function (PUBLISHER_URL; Cloud Tasks target and OIDC audience)."
  value       = local.publisher_url
}

output "source_bucket" {
  description = "Bucket of the function source archives and the relay's build sources."
  value       = google_storage_bucket.source.name
}

output "images_repository" {
  description = "Artifact Registry path for images (the relay image goes to IMAGES_REPOSITORY/relay:TAG)."
  value       = "${google_artifact_registry_repository.images.location}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
}

output "builder_service_account" {
  description = "Service account of the Cloud Build runs (cloudbuild.yaml's _BUILDER_SA)."
  value       = google_service_account.workload["builder"].email
}

output "service_accounts" {
  description = "Email of every workload's service account, by workload."
  value       = { for name, account in google_service_account.workload : name => account.email }
}

output "tasks_queue" {
  description = "Full name of the publish queue."
  value       = google_cloud_tasks_queue.publish.id
}

output "status_topic" {
  description = "Full name of the status topic."
  value       = google_pubsub_topic.status.id
}
