# Object created, updated or deleted in the input bucket (and only there) -> ingestion function.

resource "oci_events_rule" "ingest" {
  compartment_id = var.compartment_ocid
  display_name   = "${var.name_prefix}-ingest"
  description    = "Object events of ${local.input_bucket_name} invoke ${var.name_prefix}-ingest"
  is_enabled     = true
  freeform_tags  = local.tags

  condition = jsonencode({
    eventType = [
      "com.oraclecloud.objectstorage.createobject",
      "com.oraclecloud.objectstorage.updateobject",
      "com.oraclecloud.objectstorage.deleteobject",
    ]
    data = {
      additionalDetails = { bucketName = [oci_objectstorage_bucket.input.name] }
    }
  })

  actions {
    action {
      action_type = "FAAS"
      is_enabled  = true
      function_id = oci_functions_function.ingest.id
      description = "Ingest the changed object"
    }
  }

  # The Events service must be allowed to invoke the function before the rule can deliver anything.
  depends_on = [oci_identity_policy.services]
}
