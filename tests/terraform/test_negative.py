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
        "to read objects in compartment id ${var.compartment_ocid} where target.bucket.name = "
        "'${oci_objectstorage_bucket.input.name}'",
        "to manage all-resources in tenancy", ["grants all-resources", "tenancy-wide"]),
    "tenancy-wide generative AI": (
        "to use generative-ai-family in compartment id ${local.genai_compartment_ocid}\",\n      # Ingest",
        "to use generative-ai-family in tenancy\",\n      # Ingest", ["tenancy-wide"]),
    "manage objects in any bucket": (
        "to manage objects in compartment id ${var.compartment_ocid} where all {target.bucket.name = "
        "'${oci_objectstorage_bucket.output.name}', any {request.permission = 'OBJECT_CREATE', request.permission = "
        "'OBJECT_INSPECT', request.permission = 'OBJECT_OVERWRITE', request.permission = 'OBJECT_READ', "
        "request.permission = 'OBJECT_DELETE'}}",
        "to manage objects in compartment id ${var.compartment_ocid}", ["without a target.bucket.name condition"]),
    "secrets of the whole compartment": (
        "to read secret-bundles in compartment id ${local.vault_compartment_ocid} where any {target.secret.id = "
        "'${local.api_keys_secret_ocid}', target.secret.id = '${local.api_keys_pepper_ocid}'}",
        "to read secret-family in compartment id ${local.vault_compartment_ocid}", ["grant not needed"]),
}


@pytest.mark.parametrize("case", sorted(POLICY_BREAKS))
def test_policy_check_rejects_a_widened_policy(case: str, tools_python: Path, broken_copy: Path,
                                               terraform_bin: str, stand_in_env: dict[str, str]) -> None:
    old, new, expected = POLICY_BREAKS[case]
    tooling.replace_once(broken_copy / "iam.tf", old, new)
    problems = hcl_checks.policy_problems(_checks(tools_python, broken_copy))
    for fragment in expected:
        assert any(fragment in p for p in problems), (fragment, problems)
    if case == "all-resources in tenancy":  # no other tool notices: validate and checkov accept it
        assert tooling.validate(terraform_bin, broken_copy, stand_in_env).returncode == 0


def test_policy_check_rejects_any_user_without_condition(tools_python: Path, broken_copy: Path) -> None:
    tooling.replace_once(
        broken_copy / "iam.tf",
        " where ALL {request.principal.type = 'ApiGateway', request.resource.compartment.id = "
        "'${var.compartment_ocid}'}", "")
    problems = hcl_checks.policy_problems(_checks(tools_python, broken_copy))
    assert any("any-user without a principal-type condition" in p for p in problems), problems


def test_policy_check_rejects_statements_from_a_variable(tools_python: Path, broken_copy: Path) -> None:
    tooling.replace_once(broken_copy / "iam.tf", "    ] : [],\n  )", "    ] : [],\n    var.extra_statements,\n  )")
    problems = hcl_checks.policy_problems(_checks(tools_python, broken_copy))
    assert any("var.extra_statements" in p for p in problems), problems


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
    tooling.replace_once(broken_copy / "locals.tf", '    { path = "/v1/embeddings", methods = ["POST"] },\n', "")
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


RESPONSES_POLICY_BREAKS = {
    "gateway overwrites other objects of the bucket": (
        "request.permission = 'OBJECT_CREATE', request.permission = 'OBJECT_READ', request.permission = "
        "'OBJECT_DELETE'}}",
        "request.permission = 'OBJECT_CREATE'}}\", \"Allow dynamic-group ${oci_identity_dynamic_group.gateway.name} "
        "to manage objects in compartment id ${var.compartment_ocid}", "without a target.bucket.name condition"),
    "Object Storage expires objects of every bucket": (
        "to manage object-family in compartment id ${var.compartment_ocid} where target.bucket.name = "
        "'${oci_objectstorage_bucket.responses[0].name}'",
        "to manage object-family in compartment id ${var.compartment_ocid}", "without a target.bucket.name condition"),
    "the gateway gets object-family": (
        "Allow service objectstorage-${var.region} to manage object-family",
        "Allow dynamic-group ${oci_identity_dynamic_group.gateway.name} to manage object-family",
        "object-family is only for Object Storage's lifecycle rules"),
}


@pytest.mark.parametrize("case", sorted(RESPONSES_POLICY_BREAKS))
def test_policy_check_rejects_a_widened_responses_grant(case: str, tools_python: Path, broken_copy: Path) -> None:
    old, new, expected = RESPONSES_POLICY_BREAKS[case]
    tooling.replace_once(broken_copy / "responses.tf", old, new)
    problems = hcl_checks.policy_problems(_checks(tools_python, broken_copy))
    assert any(expected in p for p in problems), problems


def test_route_check_rejects_a_missing_responses_route(tools_python: Path, broken_copy: Path) -> None:
    tooling.replace_once(broken_copy / "locals.tf", '    { path = "/v1/responses/{id}", methods = ["GET", "DELETE"] },\n',
                         "")
    problems = hcl_checks.route_problems(_checks(tools_python, broken_copy))
    assert any("routes missing" in p and "DELETE" in p for p in problems), problems
