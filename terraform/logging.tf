# Service logs: function invocations (stdout/stderr of all three functions), API Gateway access and execution,
# Events rule execution (shows delivery failures such as a missing Events policy).

resource "oci_logging_log_group" "main" {
  compartment_id = var.compartment_ocid
  display_name   = "${var.name_prefix}-logs"
  description    = "Logs of the OCI GenAI Gateway"
  freeform_tags  = local.tags
}

locals {
  # One service log per source: what it records, which resource emits it, which service owns the category.
  service_logs = {
    functions-invoke = { category = "invoke", resource = oci_functions_application.main.id, service = "functions" }
    api-access       = { category = "access", resource = oci_apigateway_deployment.openai.id, service = "apigateway" }
    api-execution    = { category = "execution", resource = oci_apigateway_deployment.openai.id, service = "apigateway" }
    ingest-rule      = { category = "ruleexecutionlog", resource = oci_events_rule.ingest.id, service = "cloudevents" }
  }
}

resource "oci_logging_log" "service" {
  for_each           = local.service_logs
  display_name       = "${var.name_prefix}-${each.key}"
  log_group_id       = oci_logging_log_group.main.id
  log_type           = "SERVICE"
  is_enabled         = true
  retention_duration = var.log_retention_days
  freeform_tags      = local.tags

  configuration {
    compartment_id = var.compartment_ocid

    source {
      category    = each.value.category
      resource    = each.value.resource
      service     = each.value.service
      source_type = "OCISERVICE"
    }
  }
}
