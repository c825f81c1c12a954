# The Pub/Sub topic "post-status" (docs/README.md#how-it-fits-together, docs/semantics.md#events-and-replay): every status event, published after its
# Firestore commit. Subscriptions are not managed here: each relay instance creates its own at
# start and deletes it at shutdown, with an expiration policy as backstop
# (sharecast/relay/subscription.py).

resource "google_pubsub_topic" "status" {
  name = "post-status" # PUBSUB_TOPIC

  message_storage_policy {
    allowed_persistence_regions = [var.region]
  }

  #checkov:skip=CKV_GCP_83:Status events are encrypted with Google-managed keys like the Firestore event log they copy; a customer-managed key would add a KMS dependency to every publish without a new trust boundary.

  depends_on = [google_project_service.enabled]
}
