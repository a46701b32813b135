# Least privilege, written in the home region. One dynamic group per function, each matching exactly one function
# OCID, so every function gets only what its role needs (and no other function in the compartment gets anything).
# Every statement names a compartment by OCID; none is tenancy-wide.

locals {
  dynamic_group_names = {
    gateway    = "${var.name_prefix}-gateway-fn"
    ingest     = "${var.name_prefix}-ingest-fn"
    authorizer = "${var.name_prefix}-authorizer-fn"
    streaming  = "${var.name_prefix}-streaming-ci"
  }

  # The dynamic groups that act for each role (none for a role this deployment does not run); the streaming
  # containers serve the gateway role too.
  role_dynamic_groups = {
    gateway    = concat([local.dynamic_group_names.gateway], local.streaming ? [local.dynamic_group_names.streaming] : [])
    ingest     = [local.dynamic_group_names.ingest]
    authorizer = local.use_api_keys ? [local.dynamic_group_names.authorizer] : []
    streaming  = local.streaming ? [local.dynamic_group_names.streaming] : []
  }

  genai_scope   = "compartment id ${local.genai_compartment_ocid}"
  buckets_scope = "compartment id ${var.compartment_ocid}"
  api_key_secrets = join(", ", [for id in [local.api_keys_secret_ocid, local.api_keys_pepper_ocid] :
  "target.secret.id = '${id}'" if id != null])

  # What each role's dynamic groups may do: one row per grant, the statement after "Allow dynamic-group <group> to".
  # A feature that needs a new permission adds one row (terraform/README.md, "Adding a permission"); `when = false`
  # leaves a row out of this deployment.
  iam_grants = [
    { role = "gateway", grant = "use generative-ai-chat in ${local.genai_scope}" },
    { role = "gateway", grant = "use generative-ai-text-embedding in ${local.genai_scope}" },
    { role = "gateway", grant = "inspect generative-ai-model in ${local.genai_scope}" },
    { role = "gateway", grant = "use generative-ai-text-rerank in ${local.genai_scope}" },
    # ApplyGuardrails and OCI's own Responses API (aliases with "responses" = "native", which need the project OCID)
    # have no documented resource type of their own: only the family grant is known to cover them.
    { role = "gateway", grant = "use generative-ai-family in ${local.genai_scope}", when = var.guardrails_iam_grant || var.genai_project_ocid != null },
    { role = "ingest", grant = "use generative-ai-text-embedding in ${local.genai_scope}" },
    { role = "ingest", grant = "read objects in ${local.buckets_scope} where target.bucket.name = '${local.input_bucket_name}'" },
    { role = "ingest", grant = "manage objects in ${local.buckets_scope} where all {target.bucket.name = '${local.output_bucket_name}', any {request.permission = 'OBJECT_CREATE', request.permission = 'OBJECT_INSPECT', request.permission = 'OBJECT_OVERWRITE', request.permission = 'OBJECT_READ', request.permission = 'OBJECT_DELETE'}}" },
    { role = "authorizer", grant = "read secret-bundles in compartment id ${local.vault_compartment_ocid} where any {${local.api_key_secrets}}" },
    { role = "streaming", grant = "read repos in compartment id ${var.compartment_ocid}" },
    # Vector stores (database.tf): the gateway searches, ingest writes; both read the connection string secret only.
    { role = "gateway", grant = "read secret-bundles in compartment id ${local.vault_compartment_ocid} where target.secret.id = '${coalesce(local.database_url_secret, "none")}'", when = local.vector_store_enabled },
    { role = "ingest", grant = "read secret-bundles in compartment id ${local.vault_compartment_ocid} where target.secret.id = '${coalesce(local.database_url_secret, "none")}'", when = local.vector_store_enabled },
    # Continuation (reconcile.tf): ingest looks up its own invoke endpoint, then invokes itself (detached). Nothing else.
    { role = "ingest", grant = "read fn-function in compartment id ${var.compartment_ocid} where target.function.id = '{ingest_function_id}'" },
    { role = "ingest", grant = "use fn-invocation in compartment id ${var.compartment_ocid} where target.function.id = '{ingest_function_id}'" },
    # Stored responses (responses.tf): created once, read, deleted; never overwritten or listed.
    { role = "gateway", grant = "manage objects in ${local.buckets_scope} where all {target.bucket.name = '${local.responses_bucket_name}', any {request.permission = 'OBJECT_CREATE', request.permission = 'OBJECT_READ', request.permission = 'OBJECT_DELETE'}}", when = local.store_responses },
  ]

  function_policy_templates = flatten([
    for row in local.iam_grants : [
      for group in local.role_dynamic_groups[row.role] : "Allow dynamic-group ${group} to ${row.grant}"
    ] if lookup(row, "when", true)
  ])
  # A grant may name a resource of this configuration by a placeholder: its OCID is known only after apply, and the
  # templates stay readable offline (tests/terraform/test_modes.py evaluates them).
  resource_placeholders = {
    "{ingest_function_id}"    = oci_functions_function.ingest.id
    "{reconcile_schedule_id}" = join("", oci_resource_scheduler_schedule.reconcile[*].id)
  }
  function_policy_statements = [for s in local.function_policy_templates : replace(replace(s,
    "{ingest_function_id}", local.resource_placeholders["{ingest_function_id}"]),
  "{reconcile_schedule_id}", local.resource_placeholders["{reconcile_schedule_id}"])]

  # What the OCI services need to call the functions: API Gateway (backends and authorizer) and Events (ingestion).
  service_policy_templates = concat([
    "Allow any-user to use functions-family in compartment id ${var.compartment_ocid} where ALL {request.principal.type = 'ApiGateway', request.resource.compartment.id = '${var.compartment_ocid}'}",
    "Allow service cloudEvents to use functions-family in compartment id ${var.compartment_ocid}",
    ],
    # Object Storage runs the stored-responses bucket's lifecycle rule (responses.tf) itself.
    local.store_responses ? ["Allow service objectstorage-${var.region} to manage object-family in compartment id ${var.compartment_ocid} where target.bucket.name = '${local.responses_bucket_name}'"] : [],
    # The reconciliation schedule (reconcile.tf) invokes the ingest function.
    local.reconcile_on ? ["Allow any-user to use fn-invocation in compartment id ${var.compartment_ocid} where all {request.principal.type = 'resourceschedule', request.principal.id = '{reconcile_schedule_id}'}"] : [],
  )
  service_policy_statements = [for s in local.service_policy_templates : replace(s, "{reconcile_schedule_id}",
  local.resource_placeholders["{reconcile_schedule_id}"])]
}

resource "oci_identity_dynamic_group" "gateway" {
  provider       = oci.home
  compartment_id = var.tenancy_ocid
  name           = local.dynamic_group_names.gateway
  description    = "The ${var.name_prefix} gateway function (OpenAI API)"
  matching_rule  = "ALL {resource.type = 'fnfunc', resource.id = '${oci_functions_function.gateway.id}'}"
  freeform_tags  = local.tags
}

resource "oci_identity_dynamic_group" "ingest" {
  provider       = oci.home
  compartment_id = var.tenancy_ocid
  name           = local.dynamic_group_names.ingest
  description    = "The ${var.name_prefix} ingestion function (Object Storage events)"
  matching_rule  = "ALL {resource.type = 'fnfunc', resource.id = '${oci_functions_function.ingest.id}'}"
  freeform_tags  = local.tags
}

resource "oci_identity_dynamic_group" "authorizer" {
  count          = local.use_api_keys ? 1 : 0
  provider       = oci.home
  compartment_id = var.tenancy_ocid
  name           = local.dynamic_group_names.authorizer
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
  statements     = local.function_policy_statements

  # The statements name the groups by name: they must exist first.
  depends_on = [oci_identity_dynamic_group.gateway, oci_identity_dynamic_group.ingest, oci_identity_dynamic_group.authorizer,
  oci_identity_dynamic_group.streaming]
}

resource "oci_identity_policy" "services" {
  provider       = oci.home
  compartment_id = local.policy_compartment_ocid
  name           = "${var.name_prefix}-services"
  description    = "API Gateway and Events may invoke the ${var.name_prefix} functions"
  freeform_tags  = local.tags
  statements     = local.service_policy_statements
}
