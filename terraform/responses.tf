# /v1/responses: the bucket that keeps stored responses (previous_response_id, GET/DELETE /v1/responses/{id}),
# whose objects expire after responses_retention_days, what the gateway and Object Storage may do with it, and the
# project OCID that OCI's own Responses API requires (aliases with "responses" = "native").

variable "responses_store_enabled" {
  type        = bool
  description = "Create the stored-responses bucket and let the gateway keep responses in it (false: the gateway keeps none; previous_response_id is then a 400)."
  default     = true
}

variable "responses_store_default" {
  type        = bool
  description = "What a Responses request without `store` means (OpenAI's default is true: keep it)."
  default     = true
}

variable "responses_retention_days" {
  type        = number
  description = "Days a stored response is kept before the bucket's lifecycle rule deletes it (OpenAI keeps them 30 days)."
  default     = 30

  validation {
    condition     = var.responses_retention_days >= 1 && var.responses_retention_days <= 3650
    error_message = "The responses_retention_days value must be between 1 and 3650."
  }
}

variable "responses_bucket_name" {
  type        = string
  description = "Name of the stored-responses bucket; null: <name_prefix>-responses."
  default     = null

  validation {
    condition     = var.responses_bucket_name == null || can(regex("^[A-Za-z0-9_.-]{1,256}$", var.responses_bucket_name))
    error_message = "The responses_bucket_name value must be letters, digits, dashes, underscores and periods."
  }
}

variable "genai_project_ocid" {
  type        = string
  description = "Generative AI project OCID sent as OpenAI-Project to OCI's own Responses API, used by aliases that say \"responses\" = \"native\" (OCI requires a project there); null: no native pass-through."
  default     = null

  validation {
    condition     = var.genai_project_ocid == null || can(regex("^ocid1\\.generativeaiproject\\.", var.genai_project_ocid))
    error_message = "The genai_project_ocid value must be null or a Generative AI project OCID."
  }
}

locals {
  store_responses       = var.responses_store_enabled
  responses_bucket_name = coalesce(var.responses_bucket_name, "${var.name_prefix}-responses")
  # RESPONSES_BUCKET as namespace/bucket, so the gateway never needs to look its namespace up.
  responses_bucket_setting = local.store_responses ? "${data.oci_objectstorage_namespace.this.namespace}/${local.responses_bucket_name}" : null
}

resource "oci_objectstorage_bucket" "responses" {
  # checkov:skip=CKV_OCI_9:Oracle-managed encryption by default; set bucket_kms_key_id for a customer-managed key (it needs an Object Storage service policy on the key).
  # checkov:skip=CKV_OCI_8:Every stored response expires (lifecycle rule below) and is written once; versions would keep deleted conversations.
  # checkov:skip=CKV_OCI_7:No rule consumes events of stored responses.
  count                 = local.store_responses ? 1 : 0
  compartment_id        = var.compartment_ocid
  namespace             = data.oci_objectstorage_namespace.this.namespace
  name                  = local.responses_bucket_name
  access_type           = "NoPublicAccess"
  object_events_enabled = false
  versioning            = "Disabled"
  kms_key_id            = var.bucket_kms_key_id
  freeform_tags         = local.tags
}

# The gateway creates, reads and deletes stored responses in this bucket only (ids are never reused: no overwrite).
# Object Storage itself deletes expired ones, which needs its own grant on the bucket.
resource "oci_identity_policy" "responses" {
  count          = local.store_responses ? 1 : 0
  provider       = oci.home
  compartment_id = local.policy_compartment_ocid
  name           = "${var.name_prefix}-responses"
  description    = "The ${var.name_prefix} gateway keeps stored responses; Object Storage expires them"
  freeform_tags  = local.tags

  statements = [
    "Allow dynamic-group ${oci_identity_dynamic_group.gateway.name} to manage objects in compartment id ${var.compartment_ocid} where all {target.bucket.name = '${oci_objectstorage_bucket.responses[0].name}', any {request.permission = 'OBJECT_CREATE', request.permission = 'OBJECT_READ', request.permission = 'OBJECT_DELETE'}}",
    "Allow service objectstorage-${var.region} to manage object-family in compartment id ${var.compartment_ocid} where target.bucket.name = '${oci_objectstorage_bucket.responses[0].name}'",
  ]
}

resource "oci_objectstorage_object_lifecycle_policy" "responses" {
  count     = local.store_responses ? 1 : 0
  namespace = data.oci_objectstorage_namespace.this.namespace
  bucket    = oci_objectstorage_bucket.responses[0].name

  rules {
    name        = "expire-stored-responses"
    action      = "DELETE"
    target      = "objects"
    is_enabled  = true
    time_amount = tostring(var.responses_retention_days)
    time_unit   = "DAYS"

    object_name_filter {
      inclusion_prefixes = ["responses/"]
    }
  }

  # Object Storage checks its own permission on the bucket when the rule is written.
  depends_on = [oci_identity_policy.responses]
}

output "responses_bucket" {
  description = "Bucket keeping stored responses (null when responses_store_enabled is false)."
  value       = local.store_responses ? oci_objectstorage_bucket.responses[0].name : null
}
