# The OpenAI-compatible HTTP API: one gateway, one deployment, the routes of local.api_routes to the gateway function.

resource "oci_apigateway_gateway" "main" {
  compartment_id = var.compartment_ocid
  display_name   = "${var.name_prefix}-apigw"
  endpoint_type  = var.api_gateway_endpoint_type
  subnet_id      = local.api_gateway_subnet_id
  freeform_tags  = local.tags

  response_cache_details {
    type = "NONE"
  }
}

resource "oci_apigateway_deployment" "openai" {
  compartment_id = var.compartment_ocid
  gateway_id     = oci_apigateway_gateway.main.id
  display_name   = "${var.name_prefix}-openai"
  path_prefix    = var.api_path_prefix
  freeform_tags  = local.tags

  # API Gateway checks its permission to invoke the functions when the deployment is created.
  depends_on = [oci_identity_policy.services]

  specification {
    request_policies {
      authentication {
        type = local.use_api_keys ? "CUSTOM_AUTHENTICATION" : "JWT_AUTHENTICATION"

        # api_key: multi-argument authorizer; the key may come as "Authorization: Bearer <key>" (OpenAI SDKs)
        # or "api-key: <key>" (Azure-style clients). Decisions are cached per (Authorization, api-key).
        function_id = local.use_api_keys ? oci_functions_function.authorizer[0].id : null
        parameters = local.use_api_keys ? {
          "authorization" = "request.headers[Authorization]"
          "api-key"       = "request.headers[api-key]"
        } : null
        cache_key = local.use_api_keys ? ["authorization", "api-key"] : null

        # jwt: API Gateway validates the bearer token itself.
        token_header              = local.use_api_keys ? null : "Authorization"
        token_auth_scheme         = local.use_api_keys ? null : "Bearer"
        issuers                   = local.use_api_keys ? null : var.jwt_issuers
        audiences                 = local.use_api_keys ? null : var.jwt_audiences
        max_clock_skew_in_seconds = local.use_api_keys ? null : 60

        is_anonymous_access_allowed = false

        # jwt: a token without a claim that feeds an identity header is refused (locals.tf, identity_header_sources).
        dynamic "verify_claims" {
          for_each = local.use_api_keys ? [] : local.jwt_required_claims
          content {
            key         = verify_claims.value
            is_required = true
          }
        }

        dynamic "public_keys" {
          for_each = local.use_api_keys ? [] : [var.jwt_jwks_uri]
          content {
            type                        = "REMOTE_JWKS"
            uri                         = public_keys.value
            max_cache_duration_in_hours = 1
          }
        }

        dynamic "validation_failure_policy" {
          for_each = local.use_api_keys ? [1] : []
          content {
            type             = "MODIFY_RESPONSE"
            response_code    = "401"
            response_message = "{\"error\":{\"message\":\"Invalid or missing API key\",\"type\":\"invalid_request_error\",\"code\":\"invalid_api_key\"}}"
          }
        }
      }

      rate_limiting {
        rate_in_requests_per_second = var.rate_limit_per_second
        rate_key                    = var.rate_limit_key
      }

      dynamic "cors" {
        for_each = length(var.cors_allowed_origins) > 0 ? [1] : []
        content {
          allowed_origins              = var.cors_allowed_origins
          allowed_methods              = ["GET", "POST", "DELETE", "OPTIONS"]
          allowed_headers              = ["Authorization", "Content-Type", "api-key", "OpenAI-Organization", "OpenAI-Project"]
          exposed_headers              = ["x-request-id", "opc-request-id", "x-guardrails-input", "x-guardrails-output"]
          is_allow_credentials_enabled = false
          max_age_in_seconds           = 600
        }
      }
    }

    logging_policies {
      access_log {
        is_enabled = true
      }
      execution_log {
        is_enabled = true
        log_level  = var.execution_log_level
      }
    }

    dynamic "routes" {
      for_each = local.api_routes
      content {
        path    = routes.value.path
        methods = routes.value.methods

        # A streaming route on the containers: plain HTTP inside the VCN; API Gateway's read timeout defaults to
        # 10 s, too short for a generation, so it is set to its maximum.
        backend {
          type                    = local.streaming && routes.value.streams ? "HTTP_BACKEND" : "ORACLE_FUNCTIONS_BACKEND"
          function_id             = local.streaming && routes.value.streams ? null : oci_functions_function.gateway.id
          url                     = local.streaming && routes.value.streams ? "${local.streaming_base_url}${routes.value.path}" : null
          read_timeout_in_seconds = local.streaming && routes.value.streams ? 300 : null
          send_timeout_in_seconds = local.streaming && routes.value.streams ? 60 : null
        }

        request_policies {
          authorization {
            type = "AUTHENTICATION_ONLY"
          }

          header_transformations {
            # Who the caller is: from the authorizer's context / the token, never from the client.
            set_headers {
              dynamic "items" {
                for_each = local.identity_headers
                content {
                  name      = items.key
                  values    = [items.value]
                  if_exists = "OVERWRITE"
                }
              }
            }

            dynamic "filter_headers" {
              for_each = length(local.blocked_request_headers) > 0 ? [1] : []
              content {
                type = "BLOCK"
                dynamic "items" {
                  for_each = local.blocked_request_headers
                  content {
                    name = items.value
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}
