locals {
  tags = merge({ "project" = "oci-genai-gateway" }, var.freeform_tags)

  create_network          = var.existing_network == null
  public_api              = var.api_gateway_endpoint_type == "PUBLIC"
  genai_region            = coalesce(var.genai_region, var.region)
  genai_compartment_ocid  = coalesce(var.genai_compartment_ocid, var.compartment_ocid)
  policy_compartment_ocid = coalesce(var.policy_compartment_ocid, var.compartment_ocid)
  vault_compartment_ocid  = coalesce(var.vault_compartment_ocid, var.compartment_ocid)

  functions_subnet_id   = local.create_network ? oci_core_subnet.functions[0].id : var.existing_network.functions_subnet_id
  api_gateway_subnet_id = local.create_network ? oci_core_subnet.api_gateway[0].id : var.existing_network.api_gateway_subnet_id

  input_bucket_name  = coalesce(var.input_bucket_name, "${var.name_prefix}-input")
  output_bucket_name = coalesce(var.output_bucket_name, "${var.name_prefix}-output")

  # API keys live in Vault only when the authorizer is used.
  use_api_keys         = var.auth_mode == "api_key"
  create_keys_secret   = local.use_api_keys && var.api_keys_secret_ocid == null
  create_pepper_secret = local.use_api_keys && var.api_keys_pepper_secret_ocid == null
  create_vault         = (local.create_keys_secret || local.create_pepper_secret || local.create_database) && var.existing_vault == null
  vault_id             = var.existing_vault != null ? var.existing_vault.vault_id : (local.create_vault ? oci_kms_vault.api_keys[0].id : null)
  vault_key_id         = var.existing_vault != null ? var.existing_vault.key_id : (local.create_vault ? oci_kms_key.api_keys[0].id : null)
  api_keys_secret_ocid = local.use_api_keys ? (local.create_keys_secret ? oci_vault_secret.api_keys[0].id : var.api_keys_secret_ocid) : null
  api_keys_pepper_ocid = local.use_api_keys ? (local.create_pepper_secret ? oci_vault_secret.api_keys_pepper[0].id : var.api_keys_pepper_secret_ocid) : null

  # Function configuration, one literal map per role, so tests/terraform can compare every key with
  # core.settings.SETTINGS_TABLE. Null values are dropped where the maps are used.
  app_config = {
    LOG_LEVEL = var.log_level
  }
  function_config = {
    gateway = {
      GATEWAY_ROLE            = "gateway"
      OCI_REGION              = local.genai_region
      OCI_COMPARTMENT_ID      = local.genai_compartment_ocid
      MODEL_ALIASES           = length(keys(var.model_aliases)) > 0 ? jsonencode(var.model_aliases) : null
      SERVED_MODELS           = var.served_models
      DROP_UNSUPPORTED_PARAMS = var.drop_unsupported_params ? "true" : "false"
      # Vector stores: which buckets are stores, their model, and where the database is.
      INGEST_INPUT_BUCKETS         = local.vector_store_enabled ? local.input_bucket_name : null
      INGEST_EMBEDDING_MODEL       = local.vector_store_enabled ? var.ingest_embedding_model : null
      VECTOR_STORE_URL_SECRET_OCID = local.vector_store_enabled ? local.database_url_secret : null
    }
    ingest = {
      GATEWAY_ROLE           = "ingest"
      OCI_REGION             = local.genai_region
      OCI_COMPARTMENT_ID     = local.genai_compartment_ocid
      MODEL_ALIASES          = length(keys(var.model_aliases)) > 0 ? jsonencode(var.model_aliases) : null
      INGEST_INPUT_BUCKETS   = local.input_bucket_name
      INGEST_OUTPUT_BUCKET   = local.output_bucket_name
      INGEST_EMBEDDING_MODEL = var.ingest_embedding_model
      # The vector stores' database (database.tf).
      VECTOR_STORE_URL_SECRET_OCID = local.vector_store_enabled ? local.database_url_secret : null
    }
    authorizer = {
      GATEWAY_ROLE                = "authorizer"
      API_KEYS_SECRET_OCID        = local.api_keys_secret_ocid
      API_KEYS_PEPPER_SECRET_OCID = local.api_keys_pepper_ocid
    }
  }

  # Every route of the OpenAI API goes to the gateway function, behind the deployment's authentication.
  api_routes = [
    { path = "/v1/chat/completions", methods = ["POST"] },
    { path = "/v1/embeddings", methods = ["POST"] },
    { path = "/v1/models", methods = ["GET"] },
    { path = "/v1/models/{id}", methods = ["GET"] },
    { path = "/v1/vector_stores", methods = ["GET"] },
    { path = "/v1/vector_stores/{id}", methods = ["GET"] },
    { path = "/v1/vector_stores/{id}/search", methods = ["POST"] },
  ]

  # What the gateway function learns about the caller, from the authorizer's `context` (api_key) or the
  # token's claims (jwt). Set with OVERWRITE, so a client cannot forge them by sending the headers itself.
  identity_headers = var.auth_mode == "api_key" ? {
    "X-Gateway-Key-Id"         = "$${request.auth[key_id]}"
    "X-Gateway-Allowed-Models" = "$${request.auth[allowed_models]}"
    } : {
    "X-Gateway-Key-Id"         = "$${request.auth[sub]}"
    "X-Gateway-Allowed-Models" = "$${request.auth[${var.jwt_allowed_models_claim}]}"
  }

  api_base_url = "https://${oci_apigateway_gateway.main.hostname}${var.api_path_prefix}/v1"
}
