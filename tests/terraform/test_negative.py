"""Deliberately broken copies of terraform/: each must fail the check meant to catch it.

Each anchor must occur exactly once in the copied file (tooling.replace_once), so a test whose
anchor no longer exists fails instead of silently validating an unbroken copy.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.terraform import hcl_checks, tooling

pytestmark = pytest.mark.terraform


def _validate(terraform_bin: str, env: dict[str, str], copy: Path) -> str:
    result = tooling.validate(terraform_bin, copy, env)
    assert result.returncode != 0, "terraform validate accepted a broken configuration"
    return result.stderr + result.stdout


def _checks(tools_python: Path, copy: Path) -> dict:
    return hcl_checks.merge(tooling.parse_hcl(tools_python, copy))


# --- terraform validate (the stand-in provider) ---------------------------------------------------------------------

def test_validate_rejects_a_wrong_argument_name(terraform_bin: str, stand_in_env: dict[str, str],
                                                broken_copy: Path) -> None:
    tooling.replace_once(broken_copy / "functions.tf", "memory_in_mbs      = tostring(var.gateway_memory_mb)",
                         "memory_mb          = tostring(var.gateway_memory_mb)")
    output = _validate(terraform_bin, stand_in_env, broken_copy)
    assert "Unsupported argument" in output and '"memory_mb"' in output
    assert "Missing required argument" in output and '"memory_in_mbs"' in output


def test_validate_rejects_an_unknown_resource_type(terraform_bin: str, stand_in_env: dict[str, str],
                                                   broken_copy: Path) -> None:
    (broken_copy / "broken.tf").write_text(
        'resource "oci_apigateway_authentication" "invented" {\n  compartment_id = var.compartment_ocid\n}\n')
    output = _validate(terraform_bin, stand_in_env, broken_copy)
    assert "Invalid resource type" in output and "oci_apigateway_authentication" in output


def test_validate_rejects_a_reference_to_a_missing_attribute(terraform_bin: str, stand_in_env: dict[str, str],
                                                             broken_copy: Path) -> None:
    tooling.replace_once(broken_copy / "locals.tf", "oci_apigateway_gateway.main.hostname}",
                         "oci_apigateway_gateway.main.hostnam}")
    output = _validate(terraform_bin, stand_in_env, broken_copy)
    assert "Unsupported attribute" in output and "hostnam" in output


def test_validate_rejects_a_value_outside_the_provider_enum(terraform_bin: str, stand_in_env: dict[str, str],
                                                            broken_copy: Path) -> None:
    tooling.replace_once(broken_copy / "events.tf", 'action_type = "FAAS"', 'action_type = "LAMBDA"')
    output = _validate(terraform_bin, stand_in_env, broken_copy)
    assert "expected action_type to be one of [FAAS ONS OSS], got LAMBDA" in output


def test_validate_rejects_a_block_written_as_an_attribute(terraform_bin: str, stand_in_env: dict[str, str],
                                                          broken_copy: Path) -> None:
    tooling.replace_once(broken_copy / "apigateway.tf", "response_cache_details {", "response_cache_details = {")
    output = _validate(terraform_bin, stand_in_env, broken_copy)
    assert "response_cache_details" in output


# --- fmt and checkov ----------------------------------------------------------------------------------------------

def test_fmt_rejects_misformatted_code(terraform_bin: str, broken_copy: Path) -> None:
    tooling.replace_once(broken_copy / "events.tf", "  is_enabled     = true\n", "  is_enabled = true\n")
    result = tooling.fmt_check(terraform_bin, broken_copy)
    assert result.returncode != 0 and "events.tf" in result.stdout


def test_checkov_rejects_a_public_bucket(checkov_python: Path, broken_copy: Path) -> None:
    tooling.replace_once(broken_copy / "storage.tf", 'name                  = local.input_bucket_name\n'
                         '  access_type           = "NoPublicAccess"',
                         'name                  = local.input_bucket_name\n  access_type           = "ObjectRead"')
    result = tooling.checkov(checkov_python, broken_copy / "storage.tf")
    assert result.returncode != 0
    assert "CKV_OCI_10" in result.stdout


# --- HCL property checks ------------------------------------------------------------------------------------------

POLICY_BREAKS = {
    "all-resources in tenancy": (
        'grant = "inspect generative-ai-model in ${local.genai_scope}"', 'grant = "manage all-resources in tenancy"',
        ["grants all-resources", "tenancy-wide"]),
    "the whole Generative AI family": (
        'grant = "use generative-ai-chat in ${local.genai_scope}"',
        'grant = "use generative-ai-family in ${local.genai_scope}"', ["not a known narrow grant"]),
    "manage objects in any bucket": (
        " where all {target.bucket.name = '${local.output_bucket_name}', any {request.permission = 'OBJECT_CREATE', "
        "request.permission = 'OBJECT_INSPECT', request.permission = 'OBJECT_OVERWRITE', request.permission = "
        "'OBJECT_READ', request.permission = 'OBJECT_DELETE'}}", "",
        ["without a target.bucket.name condition", "manage without a request.permission list"]),
    "secrets of the whole compartment": (
        "read secret-bundles in compartment id ${local.vault_compartment_ocid} where any {${local.api_key_secrets}}",
        "read secret-family in compartment id ${local.vault_compartment_ocid}", ["not a known narrow grant"]),
    "any-user without a condition": (
        " where ALL {request.principal.type = 'ApiGateway', request.resource.compartment.id = "
        "'${var.compartment_ocid}'}", "", ["any-user without a principal-type condition"]),
    "a group from elsewhere": (
        '"Allow dynamic-group ${group} to ${row.grant}"', '"Allow dynamic-group Administrators to ${row.grant}"',
        ["not a dynamic group of this configuration"]),
    # The stored-responses grants: the gateway's on its bucket, Object Storage's to run the lifecycle rule.
    "the gateway in any bucket": (
        " where all {target.bucket.name = '${local.responses_bucket_name}', any {request.permission = 'OBJECT_CREATE', "
        "request.permission = 'OBJECT_READ', request.permission = 'OBJECT_DELETE'}}", "",
        ["without a target.bucket.name condition", "manage without a request.permission list"]),
    "the gateway gets object-family": (
        "grant = \"manage objects in ${local.buckets_scope} where all {target.bucket.name = "
        "'${local.responses_bucket_name}'", "grant = \"manage object-family in ${local.buckets_scope} where all "
        "{target.bucket.name = '${local.responses_bucket_name}'", ["not a known narrow grant"]),
    "Object Storage expires objects of every bucket": (
        " where target.bucket.name = '${local.responses_bucket_name}'\"] : []", "\"] : []",
        ["Object Storage may only manage object-family in one bucket"]),
    "Object Storage gets more than object-family": (
        "to manage object-family in compartment id ${var.compartment_ocid} where target.bucket.name",
        "to manage all-resources in compartment id ${var.compartment_ocid} where target.bucket.name",
        ["Object Storage may only manage object-family in one bucket", "grants all-resources"]),
}
# Secrets given by OCID, so every statement is known without a plan.
EXISTING_SECRETS = {"api_keys_secret_ocid": "ocid1.vaultsecret.oc1..table",
                    "api_keys_pepper_secret_ocid": "ocid1.vaultsecret.oc1..pepper"}
ALL_STATEMENTS = "{statements = concat(local.function_policy_templates, local.service_policy_templates), " \
                 "groups = values(local.dynamic_group_names)}"


@pytest.mark.parametrize("case", sorted(POLICY_BREAKS))
def test_policy_check_rejects_a_widened_policy(case: str, broken_copy: Path, terraform_bin: str,
                                               stand_in_env: dict[str, str]) -> None:
    old, new, expected = POLICY_BREAKS[case]
    tooling.replace_once(broken_copy / "iam.tf", old, new)
    found = tooling.evaluated(tooling.evaluate(terraform_bin, broken_copy, stand_in_env, EXISTING_SECRETS,
                                               ALL_STATEMENTS))
    problems = hcl_checks.statement_problems(found["statements"], found["groups"])
    for fragment in expected:
        assert any(fragment in p for p in problems), (fragment, problems)
    if case == "all-resources in tenancy":  # no other tool notices: validate and checkov accept it
        assert tooling.validate(terraform_bin, broken_copy, stand_in_env).returncode == 0


def test_policy_check_rejects_statements_from_a_variable(tools_python: Path, broken_copy: Path) -> None:
    tooling.replace_once(broken_copy / "iam.tf", "statements     = local.function_policy_statements",
                         "statements     = var.extra_statements")
    problems = hcl_checks.policy_source_problems(_checks(tools_python, broken_copy))
    assert any("var.extra_statements" in p for p in problems), problems


def test_identity_header_check_rejects_a_header_the_code_does_not_know(broken_copy: Path, terraform_bin: str,
                                                                      stand_in_env: dict[str, str]) -> None:
    from core.policy import IDENTITY_HEADERS

    tooling.replace_once(broken_copy / "locals.tf", '  identity_header_sources = {\n',
                         '  identity_header_sources = {\n    "X-Gateway-Invented" = { api_key = "invented", jwt = null }\n')
    found = tooling.evaluated(tooling.evaluate(
        terraform_bin, broken_copy, stand_in_env, {},
        "{sources = keys(local.identity_header_sources), set = local.identity_headers, "
        "blocked = local.blocked_request_headers}"))
    problems = hcl_checks.identity_header_problems(found["sources"], found["set"], found["blocked"], IDENTITY_HEADERS)
    assert problems == ["x-gateway-invented: in identity_header_sources but not trusted by the code"]


def test_dynamic_group_check_rejects_a_compartment_wide_rule(tools_python: Path, broken_copy: Path) -> None:
    tooling.replace_once(broken_copy / "iam.tf",
                         "resource.id = '${oci_functions_function.gateway.id}'",
                         "resource.compartment.id = '${var.compartment_ocid}'")
    problems = hcl_checks.dynamic_group_problems(_checks(tools_python, broken_copy))
    assert any("dynamic group gateway does not match one function" in p for p in problems), problems


def test_route_check_rejects_an_anonymous_route(tools_python: Path, broken_copy: Path) -> None:
    tooling.replace_once(broken_copy / "apigateway.tf", 'type = "AUTHENTICATION_ONLY"', 'type = "ANONYMOUS"')
    problems = hcl_checks.route_problems(_checks(tools_python, broken_copy))
    assert sum("route authorization must be AUTHENTICATION_ONLY" in p for p in problems) == 1, problems
    assert "POST /v1/chat/completions" in problems[0]


def test_route_check_rejects_forgeable_identity_headers(tools_python: Path, broken_copy: Path) -> None:
    tooling.replace_once(broken_copy / "apigateway.tf", 'if_exists = "OVERWRITE"', 'if_exists = "SKIP"')
    problems = hcl_checks.route_problems(_checks(tools_python, broken_copy))
    assert any("a client could forge it" in p for p in problems), problems


def test_route_check_rejects_a_missing_route(tools_python: Path, broken_copy: Path) -> None:
    tooling.replace_once(broken_copy / "locals.tf",
                         '    { path = "/v1/embeddings", methods = ["POST"], streams = false },\n', "")
    problems = hcl_checks.route_problems(_checks(tools_python, broken_copy))
    assert any("routes missing" in p and "/v1/embeddings" in p for p in problems), problems


def test_events_check_rejects_a_rule_on_the_output_bucket(tools_python: Path, broken_copy: Path) -> None:
    tooling.replace_once(broken_copy / "events.tf", "bucketName = [oci_objectstorage_bucket.input.name]",
                         "bucketName = [oci_objectstorage_bucket.input.name, oci_objectstorage_bucket.output.name]")
    problems = hcl_checks.events_problems(_checks(tools_python, broken_copy))
    assert any("expected only the input bucket" in p for p in problems), problems


def test_config_check_rejects_a_key_the_code_does_not_read(tools_python: Path, broken_copy: Path) -> None:
    from core.settings import SETTINGS_TABLE

    tooling.replace_once(broken_copy / "locals.tf", "INGEST_EMBEDDING_MODEL = var.ingest_embedding_model",
                         "INGEST_EMBEDING_MODEL  = var.ingest_embedding_model")
    problems = hcl_checks.config_key_problems(_checks(tools_python, broken_copy), {r.env for r in SETTINGS_TABLE})
    assert problems == ["oci_functions_function.ingest: config keys the code does not read: ['INGEST_EMBEDING_MODEL']"]


def test_config_check_rejects_config_it_cannot_see(tools_python: Path, broken_copy: Path) -> None:
    tooling.replace_once(broken_copy / "functions.tf",
                         "config             = { for k, v in local.function_config.gateway : k => v if v != null }",
                         "config             = var.gateway_config")
    _, problems = hcl_checks.function_config_keys(_checks(tools_python, broken_copy))
    assert any("oci_functions_function.gateway: config is not a literal map" in p for p in problems), problems


def test_route_check_rejects_a_missing_responses_route(tools_python: Path, broken_copy: Path) -> None:
    tooling.replace_once(broken_copy / "locals.tf",
                         '    { path = "/v1/responses/{id}", methods = ["GET", "DELETE"], streams = false },\n', "")
    problems = hcl_checks.route_problems(_checks(tools_python, broken_copy))
    assert any("routes missing" in p and "DELETE" in p for p in problems), problems
