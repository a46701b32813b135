# ---------------------------------------------------------------------------------------------------------------------
# Where: tenancy, regions, compartments
# ---------------------------------------------------------------------------------------------------------------------

variable "tenancy_ocid" {
  type        = string
  description = "OCID of the tenancy. Dynamic groups live at the tenancy root; nothing else is created there."

  validation {
    condition     = can(regex("^ocid1\\.tenancy\\.[a-z0-9]+\\.[a-z0-9-]*\\.[a-z0-9]+$", var.tenancy_ocid))
    error_message = "The tenancy_ocid value must be a tenancy OCID (ocid1.tenancy.<realm>..<id>)."
  }
}

variable "compartment_ocid" {
  type        = string
  description = "Compartment that receives every resource (network, functions, API Gateway, buckets, Events rule, logs, Vault) and the IAM policy."

  validation {
    condition     = can(regex("^ocid1\\.(compartment|tenancy)\\.[a-z0-9]+\\.[a-z0-9-]*\\.[a-z0-9]+$", var.compartment_ocid))
    error_message = "The compartment_ocid value must be a compartment (or tenancy) OCID."
  }
}

variable "region" {
  type        = string
  description = "Region of the deployment (functions, API Gateway, buckets), e.g. eu-frankfurt-1. Images must be pushed to OCIR in this region."

  validation {
    condition     = can(regex("^[a-z]+(-[a-z]+)+-[0-9]+$", var.region))
    error_message = "The region value must be an OCI region identifier such as us-chicago-1."
  }
}

variable "home_region" {
  type        = string
  description = "The tenancy's home region (Tenancy details in the console); IAM resources can only be created there."

  validation {
    condition     = can(regex("^[a-z]+(-[a-z]+)+-[0-9]+$", var.home_region))
    error_message = "The home_region value must be an OCI region identifier such as eu-frankfurt-1."
  }
}

variable "oci_config_profile" {
  type        = string
  description = "Profile of ~/.oci/config used by both providers."
  default     = "DEFAULT"
}

variable "genai_region" {
  type        = string
  description = "Region of OCI Generative AI if it differs from `region` (Generative AI runs in a few regions only, e.g. us-chicago-1). Null: same as `region`."
  default     = null

  validation {
    condition     = var.genai_region == null || can(regex("^[a-z]+(-[a-z]+)+-[0-9]+$", var.genai_region))
    error_message = "The genai_region value must be null or an OCI region identifier."
  }
}

variable "genai_compartment_ocid" {
  type        = string
  description = "Compartment billed for Generative AI calls (OCI_COMPARTMENT_ID). Null: compartment_ocid. If it is not compartment_ocid or one of its children, set policy_compartment_ocid to a common ancestor."
  default     = null

  validation {
    condition     = var.genai_compartment_ocid == null || can(regex("^ocid1\\.(compartment|tenancy)\\.[a-z0-9]+\\.[a-z0-9-]*\\.[a-z0-9]+$", var.genai_compartment_ocid))
    error_message = "The genai_compartment_ocid value must be null or a compartment OCID."
  }
}

variable "policy_compartment_ocid" {
  type        = string
  description = "Compartment the IAM policy is attached to; it must contain (or be) every compartment the statements name. Null: compartment_ocid."
  default     = null

  validation {
    condition     = var.policy_compartment_ocid == null || can(regex("^ocid1\\.(compartment|tenancy)\\.[a-z0-9]+\\.[a-z0-9-]*\\.[a-z0-9]+$", var.policy_compartment_ocid))
    error_message = "The policy_compartment_ocid value must be null or a compartment OCID."
  }
}

variable "name_prefix" {
  type        = string
  description = "Prefix of every display name, bucket name, dynamic group and policy name (unique per tenancy for IAM names)."
  default     = "genai-gw"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,23}$", var.name_prefix))
    error_message = "The name_prefix value must be 2-24 characters: lower-case letters, digits and dashes, starting with a letter."
  }
}

variable "freeform_tags" {
  type        = map(string)
  description = "Free-form tags added to every resource that takes tags."
  default     = {}
}

# ---------------------------------------------------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------------------------------------------------

variable "existing_network" {
  type = object({
    functions_subnet_id   = string
    api_gateway_subnet_id = string
  })
  description = "Existing regional subnets to use instead of creating a VCN. functions_subnet_id: private, with a route to a NAT gateway (and optionally a service gateway for All Services); egress TCP 443, and ingress of the replies if its rules are stateless. api_gateway_subnet_id: public with an internet gateway for a PUBLIC gateway; ingress TCP 443 from clients and egress TCP 443. Null: create the VCN."
  default     = null

  validation {
    condition = var.existing_network == null || (
      can(regex("^ocid1\\.subnet\\.", var.existing_network.functions_subnet_id)) &&
      can(regex("^ocid1\\.subnet\\.", var.existing_network.api_gateway_subnet_id))
    )
    error_message = "The existing_network subnet ids must be subnet OCIDs (ocid1.subnet...)."
  }
}

variable "vcn_cidr" {
  type        = string
  description = "CIDR of the VCN created when existing_network is null."
  default     = "10.60.0.0/16"

  validation {
    condition     = can(cidrhost(var.vcn_cidr, 0)) && can(regex("/([0-9]|1[0-9]|2[0-4])$", var.vcn_cidr))
    error_message = "The vcn_cidr value must be an IPv4 CIDR block of /24 or larger."
  }
}

variable "functions_subnet_cidr" {
  type        = string
  description = "CIDR of the private functions subnet (inside vcn_cidr)."
  default     = "10.60.1.0/24"

  validation {
    condition     = can(cidrhost(var.functions_subnet_cidr, 0))
    error_message = "The functions_subnet_cidr value must be an IPv4 CIDR block."
  }
}

variable "api_gateway_subnet_cidr" {
  type        = string
  description = "CIDR of the API Gateway subnet (inside vcn_cidr): public for a PUBLIC gateway, private otherwise."
  default     = "10.60.2.0/24"

  validation {
    condition     = can(cidrhost(var.api_gateway_subnet_cidr, 0))
    error_message = "The api_gateway_subnet_cidr value must be an IPv4 CIDR block."
  }
}

variable "egress" {
  type        = string
  description = "How the functions subnet reaches OCI services: \"nat\" (a NAT gateway to the services' public endpoints), \"service_gateway\" (a service gateway only; no OCI document lists Generative AI inference among its services) or \"both\" (the default until a deployment proves Generative AI answers through the service gateway). A NAT gateway is added whatever this says when genai_region differs from region: a service gateway reaches only the services of its own region. Ignored with existing_network."
  default     = "both"

  validation {
    condition     = contains(["nat", "service_gateway", "both"], var.egress)
    error_message = "The egress value must be nat, service_gateway or both."
  }
}

variable "api_client_cidrs" {
  type        = list(string)
  description = "Client networks allowed to reach the API Gateway on TCP 443 (security list of the created gateway subnet)."
  default     = ["0.0.0.0/0"]

  validation {
    condition     = length(var.api_client_cidrs) > 0 && alltrue([for c in var.api_client_cidrs : can(cidrhost(c, 0))])
    error_message = "The api_client_cidrs value must be a non-empty list of IPv4 CIDR blocks."
  }
}

# ---------------------------------------------------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------------------------------------------------

variable "function_image" {
  type        = string
  description = "Full OCIR URI of the gateway image in the deployment region, e.g. fra.ocir.io/<namespace>/genai-gw/oci-genai-gateway:0.1.0. Built and pushed before apply (docs/deploying.md); every function runs it, GATEWAY_ROLE selects the job."

  validation {
    condition     = can(regex("^[a-z0-9.-]+\\.ocir\\.io/[a-z0-9_.-]+/[a-z0-9_./-]+:[A-Za-z0-9_.-]+$", var.function_image))
    error_message = "The function_image value must be an OCIR image URI with a tag: <region-key>.ocir.io/<namespace>/<repo>:<tag>."
  }
}

variable "function_image_digest" {
  type        = string
  description = "Digest of function_image (sha256:...) to pin the exact image; null trusts the tag."
  default     = null

  validation {
    condition     = var.function_image_digest == null || can(regex("^sha256:[0-9a-f]{64}$", var.function_image_digest))
    error_message = "The function_image_digest value must be null or sha256:<64 hex digits>."
  }
}

variable "function_shape" {
  type        = string
  description = "Functions application shape; must match the image architecture (GENERIC_X86 for an amd64 image)."
  default     = "GENERIC_X86"

  validation {
    condition     = contains(["GENERIC_X86", "GENERIC_ARM", "GENERIC_X86_ARM"], var.function_shape)
    error_message = "The function_shape value must be GENERIC_X86, GENERIC_ARM or GENERIC_X86_ARM."
  }
}

variable "gateway_memory_mb" {
  type        = number
  description = "Memory of the gateway function (OpenAI API): it only relays requests, 256 MB is plenty."
  default     = 256

  validation {
    condition     = contains([128, 256, 512, 1024, 2048, 3072], var.gateway_memory_mb)
    error_message = "The gateway_memory_mb value must be one of 128, 256, 512, 1024, 2048, 3072."
  }
}

variable "gateway_timeout_seconds" {
  type        = number
  description = "Timeout of the gateway function: long generations need up to a few minutes (300 is the synchronous maximum)."
  default     = 120

  validation {
    condition     = var.gateway_timeout_seconds >= 5 && var.gateway_timeout_seconds <= 300
    error_message = "The gateway_timeout_seconds value must be between 5 and 300."
  }
}

variable "ingest_memory_mb" {
  type        = number
  description = "Memory of the ingestion function: objects stream through it (JSON documents and PDFs are held whole); at 512 MB or more a large object's text is cut in a child process (about 65 MB)."
  default     = 1024

  validation {
    condition     = contains([128, 256, 512, 1024, 2048, 3072], var.ingest_memory_mb)
    error_message = "The ingest_memory_mb value must be one of 128, 256, 512, 1024, 2048, 3072."
  }
}

variable "ingest_timeout_seconds" {
  type        = number
  description = "Timeout of the ingestion function: embedding a large document takes many upstream calls."
  default     = 300

  validation {
    condition     = var.ingest_timeout_seconds >= 5 && var.ingest_timeout_seconds <= 300
    error_message = "The ingest_timeout_seconds value must be between 5 and 300."
  }
}

variable "authorizer_memory_mb" {
  type        = number
  description = "Memory of the API key authorizer function (one Vault read, cached; tiny)."
  default     = 128

  validation {
    condition     = contains([128, 256, 512, 1024, 2048, 3072], var.authorizer_memory_mb)
    error_message = "The authorizer_memory_mb value must be one of 128, 256, 512, 1024, 2048, 3072."
  }
}

variable "authorizer_timeout_seconds" {
  type        = number
  description = "Timeout of the authorizer function; keep it short, every first call of a key waits for it."
  default     = 30

  validation {
    condition     = var.authorizer_timeout_seconds >= 5 && var.authorizer_timeout_seconds <= 300
    error_message = "The authorizer_timeout_seconds value must be between 5 and 300."
  }
}

variable "provisioned_concurrency" {
  type        = map(number)
  description = "Provisioned concurrency units per role, e.g. { gateway = 40, authorizer = 40 }: that many units stay warm (and are billed while idle), so the first call skips two cold starts (authorizer, then gateway). Roles left out (default: all) start on demand."
  default     = {}

  validation {
    condition = alltrue([for role, units in var.provisioned_concurrency :
    contains(["gateway", "ingest", "authorizer"], role) && units >= 0 && floor(units) == units])
    error_message = "The provisioned_concurrency keys must be gateway, ingest or authorizer, with whole numbers of units."
  }
}

variable "log_level" {
  type        = string
  description = "LOG_LEVEL of every function."
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "The log_level value must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "model_aliases" {
  type        = any
  description = "Model aliases (MODEL_ALIASES, docs/api.md \"Models and aliases\") as an object, e.g. { \"gpt-4o\" = \"meta.llama-3.3-70b-instruct\" }. OCI caps a function's whole configuration at 4 KB: ship long tables in the image (MODEL_ALIASES_FILE)."
  default     = {}

  validation {
    condition     = can(keys(var.model_aliases)) && length(jsonencode(var.model_aliases)) <= 3000
    error_message = "The model_aliases value must be an object whose JSON form is at most 3000 characters (4 KB function configuration limit)."
  }
}

variable "served_models" {
  type        = string
  description = "SERVED_MODELS of the gateway function: comma-separated model ids or globs; null serves the whole catalog."
  default     = null
}

variable "drop_unsupported_params" {
  type        = bool
  description = "DROP_UNSUPPORTED_PARAMS of the gateway function: drop parameters a model family cannot take instead of answering 400."
  default     = false
}

variable "ingest_embedding_model" {
  type        = string
  description = "INGEST_EMBEDDING_MODEL: model id or alias the ingestion function embeds documents with."
  default     = "cohere.embed-v4.0"

  validation {
    condition     = length(var.ingest_embedding_model) > 0
    error_message = "The ingest_embedding_model value must not be empty."
  }
}

# ---------------------------------------------------------------------------------------------------------------------
# API Gateway
# ---------------------------------------------------------------------------------------------------------------------

variable "api_gateway_endpoint_type" {
  type        = string
  description = "PUBLIC (internet-facing, public subnet with an internet gateway) or PRIVATE (reachable from the VCN and peered networks only)."
  default     = "PUBLIC"

  validation {
    condition     = contains(["PUBLIC", "PRIVATE"], var.api_gateway_endpoint_type)
    error_message = "The api_gateway_endpoint_type value must be PUBLIC or PRIVATE."
  }
}

variable "api_path_prefix" {
  type        = string
  description = "Path prefix of the deployment; clients use https://<host><prefix>/v1 as their OpenAI base URL."
  default     = "/genai"

  validation {
    condition     = can(regex("^(/[A-Za-z0-9._~-]+)+$", var.api_path_prefix))
    error_message = "The api_path_prefix value must start with / and contain no trailing slash, spaces or braces, e.g. /genai."
  }
}

variable "auth_mode" {
  type        = string
  description = "API authentication: \"api_key\" (the authorizer function checks keys from the Vault key table; default) or \"jwt\" (API Gateway validates JWTs from your identity provider)."
  default     = "api_key"

  validation {
    condition     = contains(["api_key", "jwt"], var.auth_mode)
    error_message = "The auth_mode value must be api_key or jwt."
  }
}

variable "jwt_issuers" {
  type        = list(string)
  description = "auth_mode = jwt (required there): accepted `iss` values."
  default     = []

  validation {
    condition     = alltrue([for issuer in var.jwt_issuers : length(trimspace(issuer)) > 0])
    error_message = "The jwt_issuers entries must not be empty."
  }
}

variable "jwt_audiences" {
  type        = list(string)
  description = "auth_mode = jwt (required there): accepted `aud` values."
  default     = []

  validation {
    condition     = alltrue([for audience in var.jwt_audiences : length(trimspace(audience)) > 0])
    error_message = "The jwt_audiences entries must not be empty."
  }
}

variable "jwt_jwks_uri" {
  type        = string
  description = "auth_mode = jwt (required there): HTTPS URI of the identity provider's JSON Web Key Set."
  default     = null

  validation {
    condition     = var.jwt_jwks_uri == null || can(regex("^https://", var.jwt_jwks_uri))
    error_message = "The jwt_jwks_uri value must be null or an https:// URI."
  }
}

variable "jwt_allowed_models_claim" {
  type        = string
  description = "auth_mode = jwt: claim whose value (comma-separated model patterns) becomes X-Gateway-Allowed-Models; the `sub` claim becomes X-Gateway-Key-Id. API Gateway rejects a token without either claim (verify_claims), so a client can never supply the header itself."
  default     = "allowed_models"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.:-]+$", var.jwt_allowed_models_claim))
    error_message = "The jwt_allowed_models_claim value must be a plain claim name."
  }
}

variable "jwt_guardrails_claim" {
  type        = string
  description = "auth_mode = jwt: claim (e.g. \"guardrails\", value like \"pii=mask,prompt_injection=block\") that becomes X-Gateway-Guardrails; it is then required in every token. null: only the deployment's and aliases' guardrails apply."
  default     = null

  validation {
    condition     = var.jwt_guardrails_claim == null || can(regex("^[A-Za-z0-9_.:-]+$", var.jwt_guardrails_claim))
    error_message = "The jwt_guardrails_claim value must be null or a plain claim name."
  }
}

variable "rate_limit_per_second" {
  type        = number
  description = "Requests per second the deployment accepts (per client IP or in total, see rate_limit_key)."
  default     = 20

  validation {
    condition     = var.rate_limit_per_second >= 1 && var.rate_limit_per_second <= 10000
    error_message = "The rate_limit_per_second value must be between 1 and 10000."
  }
}

variable "rate_limit_key" {
  type        = string
  description = "CLIENT_IP (a limit per client address) or TOTAL (one limit for the deployment)."
  default     = "CLIENT_IP"

  validation {
    condition     = contains(["CLIENT_IP", "TOTAL"], var.rate_limit_key)
    error_message = "The rate_limit_key value must be CLIENT_IP or TOTAL."
  }
}

variable "cors_allowed_origins" {
  type        = list(string)
  description = "Origins allowed to call the API from a browser (CORS), e.g. [\"https://chat.example.com\"]; empty disables CORS."
  default     = []

  validation {
    condition     = alltrue([for o in var.cors_allowed_origins : o == "*" || can(regex("^https?://[^/]+$", o))])
    error_message = "The cors_allowed_origins entries must be \"*\" or scheme://host[:port] origins without a path."
  }
}

variable "strip_client_credentials" {
  type        = bool
  description = "Remove the client's Authorization and api-key headers before the call reaches a backend (the authorizer or API Gateway already checked them; keeps keys out of function logs)."
  default     = true
}

variable "execution_log_level" {
  type        = string
  description = "Level of the API Gateway execution log."
  default     = "WARN"

  validation {
    condition     = contains(["INFO", "WARN", "ERROR"], var.execution_log_level)
    error_message = "The execution_log_level value must be INFO, WARN or ERROR."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the function, API Gateway and Events logs (30-day steps, 30-180)."
  default     = 30

  validation {
    condition     = contains([30, 60, 90, 120, 150, 180], var.log_retention_days)
    error_message = "The log_retention_days value must be 30, 60, 90, 120, 150 or 180."
  }
}

# ---------------------------------------------------------------------------------------------------------------------
# Object Storage
# ---------------------------------------------------------------------------------------------------------------------

variable "input_bucket_name" {
  type        = string
  description = "Name of the input bucket (documents to ingest); null: <name_prefix>-input."
  default     = null

  validation {
    condition     = var.input_bucket_name == null || can(regex("^[A-Za-z0-9_.-]{1,256}$", var.input_bucket_name))
    error_message = "The input_bucket_name value must be letters, digits, dashes, underscores and periods."
  }
}

variable "output_bucket_name" {
  type        = string
  description = "Name of the output bucket (embeddings written by the ingestion function); null: <name_prefix>-output."
  default     = null

  validation {
    condition     = var.output_bucket_name == null || can(regex("^[A-Za-z0-9_.-]{1,256}$", var.output_bucket_name))
    error_message = "The output_bucket_name value must be letters, digits, dashes, underscores and periods."
  }
}

variable "bucket_kms_key_id" {
  type        = string
  description = "OCID of a customer-managed Vault key for both buckets; null uses Oracle-managed keys. Object Storage must be allowed to use the key (policy `allow service objectstorage-<region> to use keys ...`)."
  default     = null

  validation {
    condition     = var.bucket_kms_key_id == null || can(regex("^ocid1\\.key\\.", var.bucket_kms_key_id))
    error_message = "The bucket_kms_key_id value must be null or a key OCID."
  }
}

# ---------------------------------------------------------------------------------------------------------------------
# API keys in OCI Vault (auth_mode = api_key)
# ---------------------------------------------------------------------------------------------------------------------

variable "api_keys_secret_ocid" {
  type        = string
  description = "Existing Vault secret holding the API key table (API_KEYS_SECRET_OCID). Null: a secret is created with an empty table; upload the real table out of band."
  default     = null

  validation {
    condition     = var.api_keys_secret_ocid == null || can(regex("^ocid1\\.vaultsecret\\.", var.api_keys_secret_ocid))
    error_message = "The api_keys_secret_ocid value must be null or a Vault secret OCID (ocid1.vaultsecret...)."
  }
}

variable "api_keys_pepper_secret_ocid" {
  type        = string
  description = "Existing Vault secret holding the pepper of the key hashes (API_KEYS_PEPPER_SECRET_OCID). Null: a secret is created from api_keys_pepper."
  default     = null

  validation {
    condition     = var.api_keys_pepper_secret_ocid == null || can(regex("^ocid1\\.vaultsecret\\.", var.api_keys_pepper_secret_ocid))
    error_message = "The api_keys_pepper_secret_ocid value must be null or a Vault secret OCID (ocid1.vaultsecret...)."
  }
}

variable "api_keys_pepper" {
  type        = string
  description = "Pepper for a newly created pepper secret (`python -m core.apikeys pepper`); required when auth_mode = api_key and api_keys_pepper_secret_ocid is null. Pass it as TF_VAR_api_keys_pepper; it is stored in the Terraform state, so protect the state or create the secret yourself."
  default     = null
  sensitive   = true

  validation {
    condition     = var.api_keys_pepper == null || length(coalesce(var.api_keys_pepper, "x")) >= 32
    error_message = "The api_keys_pepper value must be at least 32 characters."
  }
}

variable "existing_vault" {
  type = object({
    vault_id = string
    key_id   = string
  })
  description = "Existing Vault and master encryption key for the secrets created here (a tenancy has few vaults, and deleting one takes 7-30 days). Null: a DEFAULT vault and an AES key are created when a secret has to be."
  default     = null

  validation {
    condition = var.existing_vault == null || (
      can(regex("^ocid1\\.vault\\.", var.existing_vault.vault_id)) && can(regex("^ocid1\\.key\\.", var.existing_vault.key_id))
    )
    error_message = "The existing_vault value must hold a vault OCID (ocid1.vault...) and a key OCID (ocid1.key...)."
  }
}

variable "vault_compartment_ocid" {
  type        = string
  description = "Compartment of the API key secrets (where the authorizer's read is granted). Null: compartment_ocid; set it when the existing secrets live elsewhere."
  default     = null

  validation {
    condition     = var.vault_compartment_ocid == null || can(regex("^ocid1\\.(compartment|tenancy)\\.[a-z0-9]+\\.[a-z0-9-]*\\.[a-z0-9]+$", var.vault_compartment_ocid))
    error_message = "The vault_compartment_ocid value must be null or a compartment OCID."
  }
}

# ---------------------------------------------------------------------------------------------------------------------
# Streaming container (optional): real token streaming from the `asgi` image on OCI Container Instances
# ---------------------------------------------------------------------------------------------------------------------

variable "streaming" {
  type        = string
  description = "Serve the streaming routes (chat completions) from the asgi image on OCI Container Instances instead of the gateway function, which can only answer a stream at once: \"off\" (default), \"api_gateway\" (API Gateway calls one container at a pinned private IP) or \"load_balancer\" (API Gateway calls a private load balancer in front of streaming_instance_count containers; survives a recreated container's new IP). Whether API Gateway passes an event stream through as it arrives is not documented: the smoke test's time to first byte answers it (docs/streaming.md)."
  default     = "off"

  validation {
    condition     = contains(["off", "api_gateway", "load_balancer"], var.streaming)
    error_message = "The streaming value must be off, api_gateway or load_balancer."
  }
}

variable "streaming_image" {
  type        = string
  description = "OCIR URI of the asgi image (Dockerfile target asgi), e.g. fra.ocir.io/<namespace>/genai-gw/oci-genai-gateway:0.1.0-asgi; `make push` writes it to images.auto.tfvars.json. Required unless streaming = \"off\"."
  default     = null

  validation {
    condition     = var.streaming_image == null || can(regex("^[a-z0-9.-]+\\.ocir\\.io/[a-z0-9_.-]+/[a-z0-9_./-]+:[A-Za-z0-9_.-]+$", var.streaming_image))
    error_message = "The streaming_image value must be null or an OCIR image URI with a tag."
  }
}

variable "streaming_image_digest" {
  type        = string
  description = "Digest of streaming_image (sha256:...); the containers then run exactly that image, and a new digest replaces them."
  default     = null

  validation {
    condition     = var.streaming_image_digest == null || can(regex("^sha256:[0-9a-f]{64}$", var.streaming_image_digest))
    error_message = "The streaming_image_digest value must be null or sha256:<64 hex digits>."
  }
}

variable "streaming_instance_count" {
  type        = number
  description = "Container instances serving the streaming routes; more than one needs streaming = \"load_balancer\"."
  default     = 1

  validation {
    condition     = var.streaming_instance_count >= 1 && var.streaming_instance_count <= 10 && floor(var.streaming_instance_count) == var.streaming_instance_count
    error_message = "The streaming_instance_count value must be a whole number from 1 to 10."
  }
}

variable "streaming_shape" {
  type = object({
    shape         = string
    ocpus         = number
    memory_in_gbs = number
  })
  description = "Container instance shape and size; the asgi image is linux/amd64 unless built otherwise."
  default     = { shape = "CI.Standard.E4.Flex", ocpus = 1, memory_in_gbs = 4 }
}

variable "streaming_subnet_cidr" {
  type        = string
  description = "CIDR of the private subnet created for the streaming containers (and the load balancer) when existing_network is null."
  default     = "10.60.3.0/24"

  validation {
    condition     = can(cidrhost(var.streaming_subnet_cidr, 0))
    error_message = "The streaming_subnet_cidr value must be an IPv4 CIDR block."
  }
}

variable "streaming_subnet_id" {
  type        = string
  description = "With existing_network: the private subnet of the streaming containers (route to NAT and/or a service gateway; ingress TCP 8080 from the API Gateway subnet, and TCP 80 for the load balancer)."
  default     = null

  validation {
    condition     = var.streaming_subnet_id == null || can(regex("^ocid1\\.subnet\\.", var.streaming_subnet_id))
    error_message = "The streaming_subnet_id value must be null or a subnet OCID."
  }
}

variable "streaming_private_ips" {
  type        = list(string)
  description = "Fixed private IPs of the streaming containers, one per instance (API Gateway or the load balancer names them; a recreated container keeps its address). Empty: hosts 10, 11, ... of the created streaming subnet; required with streaming_subnet_id."
  default     = []

  validation {
    condition     = alltrue([for ip in var.streaming_private_ips : can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$", ip))])
    error_message = "The streaming_private_ips entries must be IPv4 addresses."
  }
}

variable "streaming_availability_domain" {
  type        = string
  description = "Availability domain of the containers (name, e.g. Uocm:EU-FRANKFURT-1-AD-1). Null: the region's first, and the instances are spread over all of them."
  default     = null
}

variable "guardrails_iam_grant" {
  description = "Grant the gateway `use generative-ai-family` so guardrails (GUARDRAILS, alias or key policies) can call ApplyGuardrails: OCI documents no narrower resource type for it. Leave false when no guardrail is configured."
  type        = bool
  default     = false
}

# ---------------------------------------------------------------------------------------------------------------------
# Vector stores and the scheduled reconciliation (database.tf, reconcile.tf)
# ---------------------------------------------------------------------------------------------------------------------

variable "vector_store" {
  type        = string
  description = "none: ingestion writes JSONL only. create: an OCI Database with PostgreSQL system (pgvector) in the functions subnet; every input bucket is a vector store searchable at /v1/vector_stores. existing: use vector_store_url_secret_ocid."
  default     = "none"

  validation {
    condition     = contains(["none", "create", "existing"], var.vector_store)
    error_message = "The vector_store value must be none, create or existing."
  }
}

variable "vector_store_url_secret_ocid" {
  type        = string
  description = "With vector_store = existing: OCID of a Vault secret holding the PostgreSQL (pgvector) connection string, postgresql://user:password@host:5432/db?sslmode=require."
  default     = null
}

variable "database_vcn_id" {
  type        = string
  description = "With vector_store = create and existing_network: the VCN of the functions subnet (for the database's network security group)."
  default     = null
}

variable "database_version" {
  type        = string
  description = "PostgreSQL major version of the created database system."
  default     = "16"
}

variable "database_shape" {
  type        = string
  description = "Shape of the created database system (a flexible PostgreSQL shape)."
  default     = "PostgreSQL.VM.Standard.E5.Flex"
}

variable "database_ocpus" {
  type        = number
  description = "OCPUs of the created database system."
  default     = 2
}

variable "database_memory_gbs" {
  type        = number
  description = "Memory in GB of the created database system."
  default     = 32
}

variable "database_admin_username" {
  type        = string
  description = "Admin user of the created database system (the functions connect as it)."
  default     = "vectoradmin"
}

variable "database_admin_password" {
  type        = string
  description = "With vector_store = create: the admin password (stored in Vault; the connection string secret embeds it). At least 8 characters with upper, lower, digit and special characters, as the service requires."
  default     = null
  sensitive   = true
}

variable "ingest_detached_timeout_seconds" {
  type        = number
  description = "detached_mode_timeout_in_seconds of the ingest function: how long each continuation of a long object may run (5-3600)."
  default     = 3600

  validation {
    condition     = var.ingest_detached_timeout_seconds >= 5 && var.ingest_detached_timeout_seconds <= 3600
    error_message = "The ingest_detached_timeout_seconds value must be within 5..3600."
  }
}

variable "reconcile_schedule" {
  type        = string
  description = "Cron expression of the scheduled reconciliation (Resource Scheduler), e.g. 0 3 * * * for 03:00 UTC daily; null: no schedule (run python -m core.ingest.reconcile by hand)."
  default     = "0 3 * * *"
}
