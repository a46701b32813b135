"""What no tool checks, over the parsed configuration: IAM scope, routes, events, buckets, config keys."""

from __future__ import annotations

import re

import pytest

from core.settings import ROLES, SETTINGS_TABLE
from tests.terraform import hcl_checks, tooling

pytestmark = pytest.mark.terraform

def known_settings() -> set[str]:
    return {row.env for row in SETTINGS_TABLE}


def test_policies_take_their_statements_from_one_list_each(parsed: dict) -> None:
    assert hcl_checks.policy_source_problems(parsed) == []


def test_dynamic_groups_match_only_these_functions(parsed: dict) -> None:
    assert set(hcl_checks.resources(parsed, "oci_identity_dynamic_group")) == {"gateway", "ingest", "authorizer",
                                                                                  "streaming"}
    assert hcl_checks.dynamic_group_problems(parsed) == []


def test_every_route_is_authenticated_and_gets_identity_headers(parsed: dict) -> None:
    assert hcl_checks.route_problems(parsed) == []


def test_events_rule_targets_only_the_input_bucket(parsed: dict) -> None:
    assert hcl_checks.events_problems(parsed) == []


def test_buckets_are_private_and_input_emits_events(parsed: dict) -> None:
    assert hcl_checks.bucket_problems(parsed) == []


def test_function_config_keys_are_settings_the_code_reads(parsed: dict) -> None:
    keys, _ = hcl_checks.function_config_keys(parsed)
    assert {"oci_functions_function.gateway", "oci_functions_function.ingest",
            "oci_functions_function.authorizer"} <= set(keys)
    assert hcl_checks.config_key_problems(parsed, known_settings(), frozenset()) == []


def test_each_function_has_its_own_role(parsed: dict) -> None:
    assert hcl_checks.role_problems(parsed, ROLES) == []


def test_example_tfvars_sets_only_declared_variables(parsed: dict) -> None:
    example = (tooling.TERRAFORM_DIR / "examples" / "terraform.tfvars.example").read_text(encoding="utf-8")
    names = set(re.findall(r"^(?:# )?([a-z_][a-z0-9_]*) +=", example, re.MULTILINE))
    declared = set(parsed["variable"])
    assert names, "the example sets no variable"
    assert names <= declared, f"unknown variables in the example: {sorted(names - declared)}"
    # function_image and its digest come from `make push` (images.auto.tfvars.json), not from this file.
    required = {name for name, body in parsed["variable"].items() if "default" not in body} - {"function_image"}
    uncommented = set(re.findall(r"^([a-z_][a-z0-9_]*) +=", example, re.MULTILINE))
    assert required <= uncommented, f"required variables missing from the example: {sorted(required - uncommented)}"


def test_every_variable_is_typed_and_described(parsed: dict) -> None:
    for name, body in parsed["variable"].items():
        assert body.get("type"), f"variable {name} has no type"
        assert len(str(body.get("description", ""))) > 15, f"variable {name} has no real description"
