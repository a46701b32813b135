# /v1/responses: the bucket that keeps stored responses (previous_response_id, GET/DELETE /v1/responses/{id}),
# whose objects expire after responses_retention_days, and the project OCID that OCI's own Responses API requires
# (aliases with "responses" = "native").

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

variable "object_storage_namespace" {
  type        = string
  description = "The tenancy's Object Storage namespace (Console: Tenancy details); null reads it at plan time. Setting it lets `terraform console` evaluate the gateway's configuration offline."
  default     = null
}

locals {
  store_responses          = var.responses_store_enabled
  responses_bucket_name    = coalesce(var.responses_bucket_name, "${var.name_prefix}-responses")
  object_storage_namespace = var.object_storage_namespace != null ? var.object_storage_namespace : data.oci_objectstorage_namespace.this.namespace
  # RESPONSES_BUCKET as namespace/bucket, so the gateway never looks its namespace up (that needs a tenancy-wide grant).
  responses_bucket_setting = local.store_responses ? "${local.object_storage_namespace}/${local.responses_bucket_name}" : null
}

resource "oci_objectstorage_bucket" "responses" {
  # checkov:skip=CKV_OCI_9:Oracle-managed encryption by default; set bucket_kms_key_id for a customer-managed key (it needs an Object Storage service policy on the key).
  # checkov:skip=CKV_OCI_8:Every stored response expires (lifecycle rule below) and is written once; versions would keep deleted conversations.
  # checkov:skip=CKV_OCI_7:No rule consumes events of stored responses.
  count                 = local.store_responses ? 1 : 0
  compartment_id        = var.compartment_ocid
  namespace             = local.object_storage_namespace
  name                  = local.responses_bucket_name
  access_type           = "NoPublicAccess"
  object_events_enabled = false
  versioning            = "Disabled"
  kms_key_id            = var.bucket_kms_key_id
  freeform_tags         = local.tags
}

# The grants are rows of iam.tf: the gateway's on this bucket (local.iam_grants) and Object Storage's own, to run the
# lifecycle rule (local.service_policy_statements).

resource "oci_objectstorage_object_lifecycle_policy" "responses" {
  count     = local.store_responses ? 1 : 0
  namespace = local.object_storage_namespace
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
  depends_on = [oci_identity_policy.services]
}

output "responses_bucket" {
  description = "Bucket keeping stored responses (null when responses_store_enabled is false)."
  value       = local.store_responses ? oci_objectstorage_bucket.responses[0].name : null
}
