# Firestore (native mode): the database, its composite indexes, TTL policies and index
# exemptions (docs/data-model.md).
#
# The indexes are not written by hand from memory: functions/sharecast/store/queries.py declares
# every query the code makes, and tests/unit/terraform derives the composite and collection-group
# indexes they need (required_composite_indexes, required_field_indexes) and compares them with
# local.composite_indexes and local.field_indexes, both ways. The Firestore emulator never
# enforces indexes (docs/local-stack.md), so that test is what catches a missing one.

locals {
  # Composite indexes, key => index. find_connection filters on three
  # equalities (served by merging single-field indexes) and list_events_after filters and sorts
  # on the same field (id) of one user's events collection (its single-field index).
  # Shape of an entry:
  #   users_by_status = {
  #     collection  = "users"
  #     query_scope = "COLLECTION"
  #     fields = [
  #       { field_path = "status", order = "ASCENDING" },
  #       { field_path = "created_at", order = "DESCENDING" },
  #     ]
  #   }
  composite_indexes = {
    # GET /posts: a user's posts newest first, optionally by status (USER_POSTS[_BY_STATUS]).
    posts_user_created = {
      collection  = "posts"
      query_scope = "COLLECTION"
      fields = [
        { field_path = "user_id", order = "ASCENDING" },
        { field_path = "created_at", order = "DESCENDING" },
      ]
    }
    posts_status_user_created = {
      collection  = "posts"
      query_scope = "COLLECTION"
      fields = [
        { field_path = "status", order = "ASCENDING" },
        { field_path = "user_id", order = "ASCENDING" },
        { field_path = "created_at", order = "DESCENDING" },
      ]
    }
    # GET /admin/dead-letters: FAILED targets of every post, newest first (DEAD_LETTERS).
    targets_status_updated = {
      collection  = "targets"
      query_scope = "COLLECTION_GROUP"
      fields = [
        { field_path = "status", order = "ASCENDING" },
        { field_path = "updated_at", order = "DESCENDING" },
      ]
    }
    # GET /admin/attempts: the attempt log by outcome / post / target (ATTEMPT_QUERIES).
    attempts_outcome_finished = {
      collection  = "attempts"
      query_scope = "COLLECTION"
      fields = [
        { field_path = "outcome", order = "ASCENDING" },
        { field_path = "finished_at", order = "DESCENDING" },
      ]
    }
    attempts_post_finished = {
      collection  = "attempts"
      query_scope = "COLLECTION"
      fields = [
        { field_path = "post_id", order = "ASCENDING" },
        { field_path = "finished_at", order = "DESCENDING" },
      ]
    }
    attempts_outcome_post_finished = {
      collection  = "attempts"
      query_scope = "COLLECTION"
      fields = [
        { field_path = "outcome", order = "ASCENDING" },
        { field_path = "post_id", order = "ASCENDING" },
        { field_path = "finished_at", order = "DESCENDING" },
      ]
    }
    attempts_post_target_finished = {
      collection  = "attempts"
      query_scope = "COLLECTION"
      fields = [
        { field_path = "post_id", order = "ASCENDING" },
        { field_path = "target_id", order = "ASCENDING" },
        { field_path = "finished_at", order = "DESCENDING" },
      ]
    }
    attempts_outcome_post_target_finished = {
      collection  = "attempts"
      query_scope = "COLLECTION"
      fields = [
        { field_path = "outcome", order = "ASCENDING" },
        { field_path = "post_id", order = "ASCENDING" },
        { field_path = "target_id", order = "ASCENDING" },
        { field_path = "finished_at", order = "DESCENDING" },
      ]
    }
    # store.shares.list_audit: a user's share audit entries of one video, newest first.
    share_audit_by_user = {
      collection  = "share_audit"
      query_scope = "COLLECTION"
      fields = [
        { field_path = "user_id", order = "ASCENDING" },
        { field_path = "video_id", order = "ASCENDING" },
        { field_path = "created_at", order = "DESCENDING" },
      ]
    }
    # store.shares.list_audit for admins: every user's entries of one video, newest first.
    share_audit_by_video = {
      collection  = "share_audit"
      query_scope = "COLLECTION"
      fields = [
        { field_path = "video_id", order = "ASCENDING" },
        { field_path = "created_at", order = "DESCENDING" },
      ]
    }
    # analytics_user_targets: a user's targets created in a time range (GET /analytics/summary).
    targets_user_created = {
      collection  = "targets"
      query_scope = "COLLECTION_GROUP"
      fields = [
        { field_path = "user_id", order = "ASCENDING" },
        { field_path = "created_at", order = "ASCENDING" },
      ]
    }
    # analytics_user_attempts: a user's attempts started in a time range.
    attempts_user_started = {
      collection  = "attempts"
      query_scope = "COLLECTION"
      fields = [
        { field_path = "user_id", order = "ASCENDING" },
        { field_path = "started_at", order = "ASCENDING" },
      ]
    }
    # media cleanup (sharecast.store.media.expired): uploaded/failed files past expires_at.
    media_status_expires_at = {
      collection  = "media"
      query_scope = "COLLECTION"
      fields = [
        { field_path = "status", order = "ASCENDING" },
        { field_path = "expires_at", order = "ASCENDING" },
      ]
    }
    # media cleanup (sharecast.store.media.stale_uploads): UPLOADING past the PUT URL's expiry.
    media_status_upload_expires_at = {
      collection  = "media"
      query_scope = "COLLECTION"
      fields = [
        { field_path = "status", order = "ASCENDING" },
        { field_path = "upload_expires_at", order = "ASCENDING" },
      ]
    }
    # store.sweeps.enqueue_pending_posts: enqueue_pending == true, oldest first.
    posts_enqueue_pending = {
      collection  = "posts"
      query_scope = "COLLECTION"
      fields = [
        { field_path = "enqueue_pending", order = "ASCENDING" },
        { field_path = "created_at", order = "ASCENDING" },
      ]
    }
    # store.sweeps.due_targets: status in (PENDING, RETRYING), next_attempt_at < t, every post.
    targets_due = {
      collection  = "targets"
      query_scope = "COLLECTION_GROUP"
      fields = [
        { field_path = "status", order = "ASCENDING" },
        { field_path = "next_attempt_at", order = "ASCENDING" },
      ]
    }
    # store.sweeps.expired_leases: status == PUBLISHING, lease_until < t, every post.
    targets_lease_expired = {
      collection  = "targets"
      query_scope = "COLLECTION_GROUP"
      fields = [
        { field_path = "status", order = "ASCENDING" },
        { field_path = "lease_until", order = "ASCENDING" },
      ]
    }
    # store.sweeps.due_continuations: status == PUBLISHING, continue_at < t, every post.
    targets_continuation_due = {
      collection  = "targets"
      query_scope = "COLLECTION_GROUP"
      fields = [
        { field_path = "status", order = "ASCENDING" },
        { field_path = "continue_at", order = "ASCENDING" },
      ]
    }
    # store.events.list_unpublished: published_at == null, created_at < t, every user.
    events_unpublished = {
      collection  = "events"
      query_scope = "COLLECTION_GROUP"
      fields = [
        { field_path = "published_at", order = "ASCENDING" },
        { field_path = "created_at", order = "ASCENDING" },
      ]
    }
    # Outbox.catch_up of the webhook fan-out: webhooks_at == null, created_at < t, every user.
    events_webhooks_pending = {
      collection  = "events"
      query_scope = "COLLECTION_GROUP"
      fields = [
        { field_path = "webhooks_at", order = "ASCENDING" },
        { field_path = "created_at", order = "ASCENDING" },
      ]
    }
    # GET /webhooks/{id}/deliveries?status=: one endpoint's log by status, newest first.
    deliveries_status_created = {
      collection  = "deliveries"
      query_scope = "COLLECTION"
      fields = [
        { field_path = "status", order = "ASCENDING" },
        { field_path = "created_at", order = "DESCENDING" },
      ]
    }
  }

  # Single-field indexes at COLLECTION_GROUP scope (not automatic), key => index:
  #   { collection = "targets", field = "next_attempt_at", order = "ASCENDING" }.
  field_indexes = {
    # analytics_targets: every target created in a time range (viewers and up).
    targets_created_at = { collection = "targets", field = "created_at", order = "ASCENDING" }
  }

  # TTL policies: documents of `collection` (a collection group) are deleted after `field`.
  # Must equal sharecast.store.queries.ALL_TTL_POLICIES.
  ttl_policies = {
    events_expire_at       = { collection = "events", field = "expire_at" }           # users/{uid}/events
    oauth_states_expire_at = { collection = "oauth_states", field = "expire_at" }     # OAuth state
    rate_limit_windows     = { collection = "rate_limits", field = "expire_at" }      # sharecast.ratelimit
    idempotency_expire     = { collection = "idempotency_keys", field = "expire_at" } # sharecast.idempotency
    webhook_deliveries     = { collection = "deliveries", field = "expire_at" }       # the webhook delivery log
  }

  # Fields never queried whose automatic single-field indexes are switched off: a large map
  # (every nested field would be indexed) and the TTL timestamps (monotonically increasing
  # values hotspot their index; https://cloud.google.com/firestore/docs/ttl).
  index_exemptions = {
    events_data = { collection = "events", field = "data" } # the event's snapshot payload
    # A delivery's exact body and its attempts: never queried, possibly large.
    deliveries_payload = { collection = "deliveries", field = "payload" }
    deliveries_history = { collection = "deliveries", field = "history" }
  }
}

resource "google_firestore_database" "main" {
  name                              = "(default)"
  location_id                       = coalesce(var.firestore_location, var.region)
  type                              = "FIRESTORE_NATIVE"
  concurrency_mode                  = "PESSIMISTIC"
  app_engine_integration_mode       = "DISABLED"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = var.firestore_delete_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  # `terraform destroy` forgets the database instead of deleting it (it holds everyone's data).
  deletion_policy = "ABANDON"

  depends_on = [google_project_service.enabled]
}

resource "google_firestore_index" "composite" {
  for_each = local.composite_indexes

  database    = google_firestore_database.main.name
  collection  = each.value.collection
  query_scope = each.value.query_scope

  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path = fields.value.field_path
      order      = fields.value.order
    }
  }
}

resource "google_firestore_field" "collection_group_index" {
  for_each = local.field_indexes

  database   = google_firestore_database.main.name
  collection = each.value.collection
  field      = each.value.field

  # An index_config replaces the field's automatic indexes: keep the collection-scope ones.
  index_config {
    indexes {
      order       = "ASCENDING"
      query_scope = "COLLECTION"
    }
    indexes {
      order       = "DESCENDING"
      query_scope = "COLLECTION"
    }
    indexes {
      order       = each.value.order
      query_scope = "COLLECTION_GROUP"
    }
  }
}

resource "google_firestore_field" "ttl" {
  for_each = local.ttl_policies

  database   = google_firestore_database.main.name
  collection = each.value.collection
  field      = each.value.field

  ttl_config {}
  index_config {} # never queried; see index_exemptions
}

resource "google_firestore_field" "exempt" {
  for_each = local.index_exemptions

  database   = google_firestore_database.main.name
  collection = each.value.collection
  field      = each.value.field

  index_config {}
}
