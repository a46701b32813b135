output "api_base_url" {
  description = "Base URL for OpenAI clients (base_url / OPENAI_BASE_URL)."
  value       = local.api_base_url
}

output "api_gateway_hostname" {
  description = "Host name of the API Gateway."
  value       = oci_apigateway_gateway.main.hostname
}

output "input_bucket" {
  description = "Bucket whose object events feed the ingestion function."
  value       = oci_objectstorage_bucket.input.name
}

output "output_bucket" {
  description = "Bucket the ingestion function writes to."
  value       = oci_objectstorage_bucket.output.name
}

output "object_storage_namespace" {
  description = "Object Storage namespace of the tenancy (also the OCIR namespace)."
  value       = data.oci_objectstorage_namespace.this.namespace
}

output "function_ids" {
  description = "OCIDs of the functions by role."
  value = {
    gateway    = oci_functions_function.gateway.id
    ingest     = oci_functions_function.ingest.id
    authorizer = local.use_api_keys ? oci_functions_function.authorizer[0].id : null
  }
}

output "gateway_function_id" {
  description = "OCID of the gateway function (oci fn function invoke --function-id ...)."
  value       = oci_functions_function.gateway.id
}

output "functions_application_id" {
  description = "OCID of the Functions application."
  value       = oci_functions_application.main.id
}

output "api_keys_secret_ocid" {
  description = "Vault secret holding the API key table (upload new versions here)."
  value       = local.api_keys_secret_ocid
}

output "api_keys_pepper_secret_ocid" {
  description = "Vault secret holding the pepper of the API key hashes."
  value       = local.api_keys_pepper_ocid
}

output "iam_statements" {
  description = "The policy statements this deployment needs and where they are attached: `make doctor ARGS=\"--policies FILE\"` compares them with the policies it can read."
  value = {
    compartment_id = local.policy_compartment_ocid
    statements     = concat(local.function_policy_statements, local.service_policy_statements)
  }
}

output "smoke_command" {
  description = "The smoke test of this deployment, run from the repository root with OPENAI_API_KEY set (docs/deploying.md)."
  value       = ".venv/bin/python -m deploy.smoke --base-url ${local.api_base_url}"
}

output "streaming_backend_url" {
  description = "Where API Gateway sends the streaming routes (null when streaming = \"off\")."
  value       = local.streaming_base_url
}

output "curl_example" {
  description = "A first call; export OPENAI_API_KEY first (an API key from the key table, or a JWT in jwt mode)."
  value       = "curl -s ${local.api_base_url}/models -H \"Authorization: Bearer $OPENAI_API_KEY\""
}
