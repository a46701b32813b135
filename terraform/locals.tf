locals {
  tags = merge({ "project" = "oci-genai-gateway" }, var.freeform_tags)

  create_network          = var.existing_network == null
  use_nat                 = var.egress != "service_gateway" || local.genai_region != var.region
  use_service_gateway     = var.egress != "nat"
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
      RESPONSES_BUCKET        = local.responses_bucket_setting
      RESPONSES_STORE_DEFAULT = var.responses_store_default ? "true" : "false"
      OCI_GENAI_PROJECT_ID    = var.genai_project_ocid
      # Vector stores: which buckets are stores, their model, and where the database is.
      INGEST_INPUT_BUCKETS         = local.vector_store_enabled ? local.input_bucket_name : null
      INGEST_EMBEDDING_MODEL       = local.vector_store_enabled ? var.ingest_embedding_model : null
      VECTOR_STORE_URL_SECRET_OCID = local.vector_store_enabled ? local.database_url_secret : null
    }
    ingest = {
      GATEWAY_ROLE           = "ingest"
      OCI_REGION             = local.genai_region
      OCI_COMPARTMENT_ID     = local.genai_compartment_ocid
      MODEL_ALIASES          = contains(keys(var.model_aliases), var.ingest_embedding_model) ? jsonencode({ (var.ingest_embedding_model) = var.model_aliases[var.ingest_embedding_model] }) : null
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

  # Every route of the OpenAI API, behind the deployment's authentication. It goes to the gateway function, or, for
  # a route that `streams` when var.streaming is on, to the streaming containers (streaming.tf).
  api_routes = [
    { path = "/v1/chat/completions", methods = ["POST"], streams = true },
    { path = "/v1/embeddings", methods = ["POST"], streams = false },
    { path = "/v1/models", methods = ["GET"], streams = false },
    { path = "/v1/models/{id}", methods = ["GET"], streams = false },
    { path = "/v1/health", methods = ["GET"], streams = false },
    { path = "/v1/rerank", methods = ["POST"], streams = false },
    { path = "/v2/rerank", methods = ["POST"], streams = false },
    { path = "/rerank", methods = ["POST"], streams = false },
    { path = "/v1/moderations", methods = ["POST"], streams = false },
    { path = "/v1/responses", methods = ["POST"], streams = true },
    { path = "/v1/responses/{id}", methods = ["GET", "DELETE"], streams = false },
    { path = "/v1/responses/{id}/input_items", methods = ["GET"], streams = false },
    { path = "/v1/vector_stores", methods = ["GET"], streams = false },
    { path = "/v1/vector_stores/{id}", methods = ["GET"], streams = false },
    { path = "/v1/vector_stores/{id}/search", methods = ["POST"], streams = false },
  ]

  # Every X-Gateway-* request header the gateway function trusts, and where API Gateway takes its value from in each
  # auth mode: a key of the authorizer's context (api_key) or a token claim (jwt); null when the mode has no source.
  # A feature that needs a new header adds one line here (terraform/README.md, "Adding an identity header").
  identity_header_sources = {
    "X-Gateway-Key-Id"         = { api_key = "key_id", jwt = "sub" }
    "X-Gateway-Allowed-Models" = { api_key = "allowed_models", jwt = var.jwt_allowed_models_claim }
    "X-Gateway-Admin"          = { api_key = "admin", jwt = null }
    "X-Gateway-Guardrails"     = { api_key = "guardrails", jwt = var.jwt_guardrails_claim }
  }
  # Headers with a source are set with OVERWRITE; the others are removed, so a client can never supply one. (API
  # Gateway applies its filters after setting headers and refuses a header named in two policies of one route, so
  # one header is either set or blocked, never both.)
  identity_headers = {
    for name, source in local.identity_header_sources : name => "$${request.auth[${source[var.auth_mode]}]}"
    if source[var.auth_mode] != null
  }
  blocked_identity_headers = [for name, source in local.identity_header_sources : name if source[var.auth_mode] == null]
  # Request headers removed before the call reaches a backend: unsourced identity headers, and the client's
  # credentials once the authorizer or API Gateway has checked them (they would otherwise reach function logs).
  blocked_request_headers = concat(local.blocked_identity_headers, var.strip_client_credentials ? ["Authorization", "api-key"] : [])
  # JWT mode: every claim that feeds a header must be in the token, or API Gateway would skip the header
  # (an expression without a value is ignored) and leave a client-sent value in place.
  jwt_required_claims = distinct([for name, source in local.identity_header_sources : source.jwt if source.jwt != null])

  api_base_url = "https://${oci_apigateway_gateway.main.hostname}${var.api_path_prefix}/v1"
}
