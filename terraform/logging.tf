# Service logs: function invocations (stdout/stderr of all three functions), API Gateway access and execution,
# Events rule execution (shows delivery failures such as a missing Events policy).

resource "oci_logging_log_group" "main" {
  compartment_id = var.compartment_ocid
  display_name   = "${var.name_prefix}-logs"
  description    = "Logs of the OCI GenAI Gateway"
  freeform_tags  = local.tags
}

resource "oci_logging_log" "functions_invoke" {
  display_name       = "${var.name_prefix}-functions-invoke"
  log_group_id       = oci_logging_log_group.main.id
  log_type           = "SERVICE"
  is_enabled         = true
  retention_duration = var.log_retention_days
  freeform_tags      = local.tags

  configuration {
    compartment_id = var.compartment_ocid

    source {
      category    = "invoke"
      resource    = oci_functions_application.main.id
      service     = "functions"
      source_type = "OCISERVICE"
    }
  }
}

resource "oci_logging_log" "api_access" {
  display_name       = "${var.name_prefix}-api-access"
  log_group_id       = oci_logging_log_group.main.id
  log_type           = "SERVICE"
  is_enabled         = true
  retention_duration = var.log_retention_days
  freeform_tags      = local.tags

  configuration {
    compartment_id = var.compartment_ocid

    source {
      category    = "access"
      resource    = oci_apigateway_deployment.openai.id
      service     = "apigateway"
      source_type = "OCISERVICE"
    }
  }
}

resource "oci_logging_log" "api_execution" {
  display_name       = "${var.name_prefix}-api-execution"
  log_group_id       = oci_logging_log_group.main.id
  log_type           = "SERVICE"
  is_enabled         = true
  retention_duration = var.log_retention_days
  freeform_tags      = local.tags

  configuration {
    compartment_id = var.compartment_ocid

    source {
      category    = "execution"
      resource    = oci_apigateway_deployment.openai.id
      service     = "apigateway"
      source_type = "OCISERVICE"
    }
  }
}

resource "oci_logging_log" "ingest_rule" {
  display_name       = "${var.name_prefix}-ingest-rule"
  log_group_id       = oci_logging_log_group.main.id
  log_type           = "SERVICE"
  is_enabled         = true
  retention_duration = var.log_retention_days
  freeform_tags      = local.tags

  configuration {
    compartment_id = var.compartment_ocid

    source {
      category    = "ruleexecutionlog"
      resource    = oci_events_rule.ingest.id
      service     = "cloudevents"
      source_type = "OCISERVICE"
    }
  }
}
