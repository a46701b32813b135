# Long objects and lost events. The ingest function finishes an object that does not fit in one invocation by
# invoking itself in detached mode (up to ingest_detached_timeout_seconds), and a Resource Scheduler schedule invokes
# it with {"gatewayReconcile": {}} so the outputs and vector stores match the input bucket whatever events were lost.

locals {
  reconcile_on = var.reconcile_schedule != null
}

# The scheduled reconciliation: the ingest function, invoked with {"gatewayReconcile": {}}, makes the outputs and
# the vector stores match the input bucket whatever events were lost (docs/ingestion.md).
resource "oci_resource_scheduler_schedule" "reconcile" {
  count              = local.reconcile_on ? 1 : 0
  compartment_id     = var.compartment_ocid
  display_name       = "${var.name_prefix}-reconcile"
  description        = "Reconciles the ${var.name_prefix} ingestion with its input bucket"
  action             = "START_RESOURCE"
  recurrence_type    = "CRON"
  recurrence_details = var.reconcile_schedule
  freeform_tags      = local.tags

  resources {
    id = oci_functions_function.ingest.id
    parameters {
      parameter_type = "BODY"
      value          = jsonencode({ gatewayReconcile = {} })
    }
  }
}

