# Checks that compare variables with each other, which Terraform 1.0 variable validations cannot do: a failing
# check stops `terraform plan` with its message (through file() of a path that cannot exist), before anything is
# created. `terraform validate` does not see variable values, so it passes either way.

locals {
  # OCI Functions joins the configuration of the application and of all its functions into one object of at most
  # 4 KB (read strictly: the application as a whole). Bytes, not characters: base64 carries the UTF-8 length. The
  # authorizer holds two secret OCIDs (unknown until apply when created here): a fixed allowance stands for them.
  config_bytes = {
    for role, config in { application = local.app_config, gateway = local.function_config.gateway, ingest = local.function_config.ingest } :
    role => ceil(length(base64encode(join("", [for key, value in config : "${key}${value}" if value != null]))) * 3 / 4)
  }
  config_bytes_total = sum(values(local.config_bytes)) + (local.use_api_keys ? 400 : 0)

  preflight_problems = [for problem in [
    local.use_api_keys || length(var.jwt_issuers) > 0 ? "" : "auth_mode = jwt needs jwt_issuers (the iss values API Gateway accepts)",
    local.use_api_keys || length(var.jwt_audiences) > 0 ? "" : "auth_mode = jwt needs jwt_audiences (the aud values API Gateway accepts)",
    local.use_api_keys || var.jwt_jwks_uri != null ? "" : "auth_mode = jwt needs jwt_jwks_uri (the identity provider's JSON Web Key Set)",
    !local.create_pepper_secret || nonsensitive(var.api_keys_pepper != null) ? "" : "auth_mode = api_key needs TF_VAR_api_keys_pepper (docs/deploying.md) or an existing api_keys_pepper_secret_ocid",
    !local.streaming || var.streaming_image != null ? "" : "streaming = ${var.streaming} needs streaming_image (make push writes it to images.auto.tfvars.json)",
    var.streaming != "api_gateway" || var.streaming_instance_count == 1 ? "" : "streaming = api_gateway serves one container; set streaming to load_balancer for ${var.streaming_instance_count}",
    !local.streaming || local.create_network || var.streaming_subnet_id != null ? "" : "streaming with existing_network needs streaming_subnet_id",
    !local.streaming || local.create_network || length(var.streaming_private_ips) >= var.streaming_instance_count ? "" : "streaming with existing_network needs streaming_private_ips, one per instance",
    local.config_bytes_total <= 4096 ? "" : "the functions' configuration is ${local.config_bytes_total} bytes (${jsonencode(local.config_bytes)}); OCI Functions allows 4096 for an application: ship long alias tables in the image (MODEL_ALIASES_FILE)",
  ] : problem if problem != ""]

  preflight = length(local.preflight_problems) == 0 ? "ok" : file("PREFLIGHT FAILED: ${join("; ", local.preflight_problems)}")
}
