# One application, three functions from the same image; GATEWAY_ROLE tells each what to do.

resource "oci_functions_application" "main" {
  compartment_id = var.compartment_ocid
  display_name   = "${var.name_prefix}-app"
  subnet_ids     = [local.functions_subnet_id]
  shape          = var.function_shape
  config         = { for k, v in local.app_config : k => v if v != null }
  freeform_tags  = local.tags
}

resource "oci_functions_function" "gateway" {
  application_id     = oci_functions_application.main.id
  display_name       = "${var.name_prefix}-gateway"
  image              = var.function_image
  image_digest       = var.function_image_digest
  memory_in_mbs      = tostring(var.gateway_memory_mb)
  timeout_in_seconds = var.gateway_timeout_seconds
  config             = { for k, v in local.function_config.gateway : k => v if v != null }
  freeform_tags      = local.tags

  dynamic "provisioned_concurrency_config" {
    for_each = lookup(var.provisioned_concurrency, "gateway", 0) > 0 ? [var.provisioned_concurrency["gateway"]] : []
    content {
      strategy = "CONSTANT"
      count    = provisioned_concurrency_config.value
    }
  }
}

resource "oci_functions_function" "ingest" {
  application_id     = oci_functions_application.main.id
  display_name       = "${var.name_prefix}-ingest"
  image              = var.function_image
  image_digest       = var.function_image_digest
  memory_in_mbs      = tostring(var.ingest_memory_mb)
  timeout_in_seconds = var.ingest_timeout_seconds
  # A long object goes on in detached invocations of this function, each allowed this long (reconcile.tf).
  detached_mode_timeout_in_seconds = var.ingest_detached_timeout_seconds
  config                           = { for k, v in local.function_config.ingest : k => v if v != null }
  freeform_tags                    = local.tags

  dynamic "provisioned_concurrency_config" {
    for_each = lookup(var.provisioned_concurrency, "ingest", 0) > 0 ? [var.provisioned_concurrency["ingest"]] : []
    content {
      strategy = "CONSTANT"
      count    = provisioned_concurrency_config.value
    }
  }
}

resource "oci_functions_function" "authorizer" {
  count              = local.use_api_keys ? 1 : 0
  application_id     = oci_functions_application.main.id
  display_name       = "${var.name_prefix}-authorizer"
  image              = var.function_image
  image_digest       = var.function_image_digest
  memory_in_mbs      = tostring(var.authorizer_memory_mb)
  timeout_in_seconds = var.authorizer_timeout_seconds
  config             = { for k, v in local.function_config.authorizer : k => v if v != null }
  freeform_tags      = local.tags

  dynamic "provisioned_concurrency_config" {
    for_each = lookup(var.provisioned_concurrency, "authorizer", 0) > 0 ? [var.provisioned_concurrency["authorizer"]] : []
    content {
      strategy = "CONSTANT"
      count    = provisioned_concurrency_config.value
    }
  }
}
