# Terraform and provider versions. `terraform -chdir=terraform init` downloads the providers and
# writes .terraform.lock.hcl (commit it). Everything is offline-checked by tests/unit/terraform
# (python-hcl2) and `make tfcheck` (checkov); `terraform validate` needs the providers.

terraform {
  # 1.5: check blocks; lifecycle preconditions are used for cross-variable rules.
  required_version = ">= 1.5.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.14"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.7"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region

  default_labels = {
    app = "sharecast"
  }
}
