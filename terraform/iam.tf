# Least privilege, written in the home region. One dynamic group per function, each matching exactly one function
# OCID, so every function gets only what its role needs (and no other function in the compartment gets anything).
# Every statement names a compartment by OCID; none is tenancy-wide.

resource "oci_identity_dynamic_group" "gateway" {
  provider       = oci.home
  compartment_id = var.tenancy_ocid
  name           = "${var.name_prefix}-gateway-fn"
  description    = "The ${var.name_prefix} gateway function (OpenAI API)"
  matching_rule  = "ALL {resource.type = 'fnfunc', resource.id = '${oci_functions_function.gateway.id}'}"
  freeform_tags  = local.tags
}

resource "oci_identity_dynamic_group" "ingest" {
  provider       = oci.home
  compartment_id = var.tenancy_ocid
  name           = "${var.name_prefix}-ingest-fn"
  description    = "The ${var.name_prefix} ingestion function (Object Storage events)"
  matching_rule  = "ALL {resource.type = 'fnfunc', resource.id = '${oci_functions_function.ingest.id}'}"
  freeform_tags  = local.tags
}

resource "oci_identity_dynamic_group" "authorizer" {
  count          = local.use_api_keys ? 1 : 0
  provider       = oci.home
  compartment_id = var.tenancy_ocid
  name           = "${var.name_prefix}-authorizer-fn"
  description    = "The ${var.name_prefix} API key authorizer function"
  matching_rule  = "ALL {resource.type = 'fnfunc', resource.id = '${oci_functions_function.authorizer[0].id}'}"
  freeform_tags  = local.tags
}

# What the functions themselves may do (resource principals).
resource "oci_identity_policy" "functions" {
  provider       = oci.home
  compartment_id = local.policy_compartment_ocid
  name           = "${var.name_prefix}-functions"
  description    = "What the ${var.name_prefix} functions may do"
  freeform_tags  = local.tags

  statements = concat(
    [
      # Gateway: chat, embeddings, rerank, guardrails and models on OCI Generative AI. The family covers them all;
      # rerankText's own type is stated too. ApplyGuardrails has no documented type of its own: the family covers it.
      "Allow dynamic-group ${oci_identity_dynamic_group.gateway.name} to use generative-ai-text-rerank in compartment id ${local.genai_compartment_ocid}",
      "Allow dynamic-group ${oci_identity_dynamic_group.gateway.name} to use generative-ai-family in compartment id ${local.genai_compartment_ocid}",
      # Ingest: embeddings; read the input bucket; write, read back and delete its results in the output bucket only.
      "Allow dynamic-group ${oci_identity_dynamic_group.ingest.name} to use generative-ai-family in compartment id ${local.genai_compartment_ocid}",
      "Allow dynamic-group ${oci_identity_dynamic_group.ingest.name} to read objects in compartment id ${var.compartment_ocid} where target.bucket.name = '${oci_objectstorage_bucket.input.name}'",
      "Allow dynamic-group ${oci_identity_dynamic_group.ingest.name} to manage objects in compartment id ${var.compartment_ocid} where all {target.bucket.name = '${oci_objectstorage_bucket.output.name}', any {request.permission = 'OBJECT_CREATE', request.permission = 'OBJECT_INSPECT', request.permission = 'OBJECT_OVERWRITE', request.permission = 'OBJECT_READ', request.permission = 'OBJECT_DELETE'}}",
    ],
    # Authorizer: read the key table and pepper secrets, nothing else.
    local.use_api_keys ? [
      "Allow dynamic-group ${oci_identity_dynamic_group.authorizer[0].name} to read secret-bundles in compartment id ${local.vault_compartment_ocid} where any {target.secret.id = '${local.api_keys_secret_ocid}', target.secret.id = '${local.api_keys_pepper_ocid}'}",
    ] : [],
  )
}

# What the OCI services need to call the functions: API Gateway (backend and authorizer) and Events (ingestion).
resource "oci_identity_policy" "services" {
  provider       = oci.home
  compartment_id = local.policy_compartment_ocid
  name           = "${var.name_prefix}-services"
  description    = "API Gateway and Events may invoke the ${var.name_prefix} functions"
  freeform_tags  = local.tags

  statements = [
    "Allow any-user to use functions-family in compartment id ${var.compartment_ocid} where ALL {request.principal.type = 'ApiGateway', request.resource.compartment.id = '${var.compartment_ocid}'}",
    "Allow service cloudEvents to use functions-family in compartment id ${var.compartment_ocid}",
  ]
}
