# API keys for the authorizer (auth_mode = api_key): the key table and the pepper of its hashes, each in a Vault
# secret. Existing secrets can be given instead; a vault and key are created only if a secret has to be and no
# existing vault is given.

resource "oci_kms_vault" "api_keys" {
  count          = local.create_vault ? 1 : 0
  compartment_id = var.compartment_ocid
  display_name   = "${var.name_prefix}-vault"
  vault_type     = "DEFAULT"
  freeform_tags  = local.tags
}

resource "oci_kms_key" "api_keys" {
  count               = local.create_vault ? 1 : 0
  compartment_id      = var.compartment_ocid
  display_name        = "${var.name_prefix}-api-keys"
  management_endpoint = oci_kms_vault.api_keys[0].management_endpoint
  protection_mode     = "HSM"
  freeform_tags       = local.tags

  key_shape {
    algorithm = "AES"
    length    = 32
  }
}

resource "oci_vault_secret" "api_keys" {
  count          = local.create_keys_secret ? 1 : 0
  compartment_id = local.vault_compartment_ocid
  vault_id       = local.vault_id
  key_id         = local.vault_key_id
  secret_name    = "${var.name_prefix}-api-keys"
  description    = "API key table of the OCI GenAI Gateway (hashes only; see docs/security.md)"
  freeform_tags  = local.tags

  # An empty table: no key works until the real table is uploaded as a new secret version (docs/deploying.md).
  secret_content {
    content_type = "BASE64"
    content      = base64encode(jsonencode({ keys = [] }))
  }

  # New versions are uploaded out of band; Terraform must not roll them back.
  lifecycle {
    ignore_changes = [secret_content]
  }
}

resource "oci_vault_secret" "api_keys_pepper" {
  count          = local.create_pepper_secret ? 1 : 0
  compartment_id = local.vault_compartment_ocid
  vault_id       = local.vault_id
  key_id         = local.vault_key_id
  secret_name    = "${var.name_prefix}-api-keys-pepper"
  description    = "Pepper (HMAC key) of the API key hashes of the OCI GenAI Gateway"
  freeform_tags  = local.tags

  secret_content {
    content_type = "BASE64"
    # A missing pepper stops the plan (preflight.tf says how to pass it).
    content = base64encode(var.api_keys_pepper)
  }

  lifecycle {
    ignore_changes = [secret_content]
  }
}
