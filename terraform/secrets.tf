# Secret Manager: the keys the workloads read as environment variables, and (empty) containers
# for the networks' OAuth client secrets.
#
# The three application keys are generated here (they are Sharecast's own: nobody else needs
# them), so a fresh project works after one apply. They are therefore in the Terraform state:
# keep the state in a private bucket. Rotate by adding a version (gcloud secrets versions add);
# workloads read "latest" at instance start.

locals {
  # Secret ID => what it holds. Referenced by functions.tf (secrets) and relay.tf.
  app_secrets = {
    "jwt-secret"            = "JWT_SECRET: HS256 key of user tokens (unused for users when jwt_jwks_url is set)"
    "sse-token-secret"      = "SSE_TOKEN_SECRET: HS256 key of the short-lived relay tokens"
    "token-encryption-keys" = "TOKEN_ENCRYPTION_KEYS: kid:base64url(32 bytes)[,...] AES-256-GCM keys of the token vault"
  }

  app_secret_values = {
    "jwt-secret"       = random_password.hmac["jwt-secret"].result
    "sse-token-secret" = random_password.hmac["sse-token-secret"].result
    # sharecast.vault: "kid:base64url(32 bytes)", unpadded URL-safe alphabet.
    "token-encryption-keys" = "k1:${replace(replace(trimsuffix(random_bytes.token_key.base64, "="), "+", "-"), "/", "_")}"
  }
}

resource "random_password" "hmac" {
  for_each = toset(["jwt-secret", "sse-token-secret"])

  length  = 64
  special = false
}

resource "random_bytes" "token_key" {
  length = 32
}

resource "google_secret_manager_secret" "app" {
  for_each = local.app_secrets

  secret_id = each.key
  labels    = { purpose = "app-key" }
  annotations = {
    description = each.value
  }

  replication {
    auto {}
  }

  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret_version" "generated" {
  for_each = local.app_secrets

  secret      = google_secret_manager_secret.app[each.key].id
  secret_data = local.app_secret_values[each.key]
}

# OAuth client secrets of the networks, read by the api (code exchange) and the publisher
# (refresh) as <PLATFORM>_CLIENT_SECRET (functions.tf). Terraform creates each secret with a
# placeholder first version "unset" (read as "not configured", so the functions deploy before
# the networks are set up); add the real value with
#   printf %s "$SECRET" | gcloud secrets versions add facebook-app-secret --data-file=-
# and redeploy (instances read "latest" at start).
locals {
  # Secret ID => the environment variable that carries it.
  platform_secrets = {
    "facebook-app-secret"    = "FACEBOOK_CLIENT_SECRET"
    "threads-app-secret"     = "THREADS_CLIENT_SECRET"
    "linkedin-client-secret" = "LINKEDIN_CLIENT_SECRET"
    "x-client-secret"        = "X_CLIENT_SECRET"
    "google-client-secret"   = "YOUTUBE_CLIENT_SECRET"
  }
  # Every secret a workload may read, by ID (functions.tf and iam.tf look secrets up here).
  all_secrets = merge(google_secret_manager_secret.app, google_secret_manager_secret.platform)
}

resource "google_secret_manager_secret" "platform" {
  for_each = local.platform_secrets

  secret_id = each.key
  labels    = { purpose = "platform-client-secret" }
  annotations = {
    description = "${each.value}: OAuth client secret"
  }

  replication {
    auto {}
  }

  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret_version" "platform_placeholder" {
  for_each = local.platform_secrets

  secret      = google_secret_manager_secret.platform[each.key].id
  secret_data = "unset"
}
