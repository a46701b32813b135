# Terraform >= 1.0 (the PyPI fallback binary used in CI is 1.0.3): no optional() object attributes, nullable,
# moved/import/check blocks or pre/postconditions anywhere in this configuration.
terraform {
  required_version = ">= 1.0.0"

  required_providers {
    oci = {
      source = "oracle/oci"
      # 8.22 introduced the events rule `actions { action {} }` form used in events.tf.
      version = ">= 8.22.0, < 9.0.0"
    }
  }
}

# Workload region: network, functions, API Gateway, buckets, Events, Vault.
# Authentication comes from ~/.oci/config (profile below), or from the usual OCI_* / TF_VAR_* environment.
provider "oci" {
  region              = var.region
  config_file_profile = var.oci_config_profile
}

# IAM (dynamic groups, policies) can only be written in the tenancy's home region.
provider "oci" {
  alias               = "home"
  region              = var.home_region
  config_file_profile = var.oci_config_profile
}
