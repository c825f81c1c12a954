# Example inputs: copy to terraform/prod.tfvars (git-ignored), edit, then
#   make deploy TFVARS=terraform/prod.tfvars
# make deploy sets relay_image itself (it builds the image first).

project_id = "my-sharecast-project"
region     = "us-central1"

# Firestore location: the region above, or a multi-region (nam5, eur3). Cannot change later.
# firestore_location = "nam5"

# Origins of the web app that uploads media straight to Cloud Storage (https only).
cors_origins = ["https://app.example.com"]

# Networks that publish on this deployment.
publish_platforms = ["facebook", "x"]

# User tokens: HS256 with the generated jwt-secret by default. With an identity provider:
# jwt_jwks_url   = "https://issuer.example.com/.well-known/jwks.json"
# jwt_algorithms = ["RS256"]
# jwt_issuer     = "https://issuer.example.com/"
# jwt_audience   = "sharecast"

# Alerts (publish failure rate, queue backlog) go to these addresses.
alert_emails = ["oncall@example.com"]

# Capacity.
relay_min_instances = 1
relay_max_instances = 10
api_max_instances   = 20

# Sweeper (docs/semantics.md#the-sweeper): a target that never ran this long after its time fails as MISSED unless its
# post was created with allowLate.
# missed_after_s = 3600
