"""Every deployment mode, evaluated offline with real variable values (``terraform console``, no provider calls).

``terraform validate`` never sees variable values, so what each mode derives (IAM statements, identity
headers, egress, the preflight checks of preflight.tf) is read here from the configuration itself.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import pytest

from core import policy
from tests.terraform import hcl_checks

pytestmark = pytest.mark.terraform

JWT = {"auth_mode": "jwt", "jwt_issuers": ["https://idp.example.com/"], "jwt_audiences": ["genai-gateway"],
       "jwt_jwks_uri": "https://idp.example.com/jwks"}
STREAMING_IMAGE = "fra.ocir.io/examplens/genai-gw/oci-genai-gateway:1.0.0-asgi"
EXISTING_SECRETS = {"api_keys_secret_ocid": "ocid1.vaultsecret.oc1.eu-frankfurt-1.table",
                    "api_keys_pepper_secret_ocid": "ocid1.vaultsecret.oc1.eu-frankfurt-1.pepper"}
MODES: dict[str, dict[str, Any]] = {
    "api_key with existing secrets": EXISTING_SECRETS,
    "jwt": JWT,
    "jwt, private gateway, custom claim": {**JWT, "api_gateway_endpoint_type": "PRIVATE",
                                           "jwt_allowed_models_claim": "genai_models"},
    "cross-region Generative AI, service gateway only": {**EXISTING_SECRETS, "genai_region": "us-chicago-1",
                                                          "egress": "service_gateway"},
    "same region, service gateway only": {**EXISTING_SECRETS, "egress": "service_gateway"},
    "nat only": {**EXISTING_SECRETS, "egress": "nat"},
    "streaming through API Gateway": {**EXISTING_SECRETS, "streaming": "api_gateway", "streaming_image": STREAMING_IMAGE},
    "streaming behind a load balancer, existing network": {
        **EXISTING_SECRETS, "streaming": "load_balancer", "streaming_instance_count": 2, "streaming_image": STREAMING_IMAGE,
        "streaming_image_digest": "sha256:" + "ab" * 32, "streaming_subnet_id": "ocid1.subnet.oc1..ci",
        "streaming_private_ips": ["10.1.3.20", "10.1.3.21"],
        "existing_network": {"functions_subnet_id": "ocid1.subnet.oc1..fn", "api_gateway_subnet_id": "ocid1.subnet.oc1..gw"}},
    "guardrails grant": {**EXISTING_SECRETS, "guardrails_iam_grant": True},
    "native responses": {**EXISTING_SECRETS,
                         "genai_project_ocid": "ocid1.generativeaiproject.oc1.eu-frankfurt-1.project"},
    "no stored responses": {**EXISTING_SECRETS, "responses_store_enabled": False},
    "existing network, provisioned concurrency": {
        **EXISTING_SECRETS, "provisioned_concurrency": {"gateway": 40, "authorizer": 40},
        "existing_network": {"functions_subnet_id": "ocid1.subnet.oc1..fn", "api_gateway_subnet_id": "ocid1.subnet.oc1..gw"}},
}
# ApplyGuardrails and OCI's own Responses API have no documented resource type: the family grant, only behind
# guardrails_iam_grant or genai_project_ocid.
GUARDRAILS_GRANT = {"Allow dynamic-group genai-gw-gateway-fn to use generative-ai-family in compartment id "
                    "ocid1.compartment.oc1..aaaaaaaaexample"}
SUMMARY = ("{statements = local.function_policy_templates, services = local.service_policy_templates, "
           "groups = values(local.dynamic_group_names), headers = local.identity_headers, "
           "blocked = local.blocked_request_headers, claims = local.jwt_required_claims, "
           "sources = local.identity_header_sources, nat = local.use_nat, sgw = local.use_service_gateway, "
           "preflight = local.preflight, config_bytes = local.config_bytes_total, "
           "ingest_config = local.function_config.ingest}")


@pytest.fixture(scope="module")
def summaries(evaluate: Callable[..., Any]) -> dict[str, dict[str, Any]]:
    return {mode: evaluate(SUMMARY, **variables) for mode, variables in MODES.items()}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_every_mode_passes_preflight_with_scoped_statements(mode: str, summaries: dict) -> None:
    found = summaries[mode]
    assert found["preflight"] == "ok"
    assert found["config_bytes"] < 4096
    statements = [s for s in found["statements"] if s not in GUARDRAILS_GRANT]  # checked on its own below
    assert hcl_checks.statement_problems(statements + found["services"], found["groups"]) == []


@pytest.mark.parametrize("mode", sorted(MODES))
def test_each_identity_header_is_overwritten_or_blocked_never_both(mode: str, summaries: dict) -> None:
    found = summaries[mode]
    assert hcl_checks.identity_header_problems(found["sources"], found["headers"], found["blocked"],
                                               policy.IDENTITY_HEADERS) == []
    blocked = {name.lower() for name in found["blocked"]}
    assert {"authorization", "api-key"} <= blocked  # strip_client_credentials defaults to true


def test_jwt_mode_requires_every_claim_behind_a_header(summaries: dict) -> None:
    assert sorted(summaries["jwt"]["claims"]) == ["allowed_models", "sub"]
    custom = summaries["jwt, private gateway, custom claim"]
    assert sorted(custom["claims"]) == ["genai_models", "sub"]
    assert custom["headers"]["X-Gateway-Allowed-Models"] == "${request.auth[genai_models]}"


def test_api_key_mode_takes_headers_from_the_authorizer_context(summaries: dict) -> None:
    headers = summaries["api_key with existing secrets"]["headers"]
    assert headers == {"X-Gateway-Key-Id": "${request.auth[key_id]}",
                       "X-Gateway-Allowed-Models": "${request.auth[allowed_models]}",
                       "X-Gateway-Admin": "${request.auth[admin]}",
                       "X-Gateway-Guardrails": "${request.auth[guardrails]}"}


def test_jwt_mode_blocks_the_admin_header_it_has_no_claim_for(summaries: dict) -> None:
    assert "X-Gateway-Admin" not in summaries["jwt"]["headers"]
    assert "X-Gateway-Admin" in summaries["jwt"]["blocked"]


def test_jwt_mode_blocks_the_guardrails_header_without_a_guardrails_claim(summaries: dict) -> None:
    assert "X-Gateway-Guardrails" not in summaries["jwt"]["headers"]
    assert "X-Gateway-Guardrails" in summaries["jwt"]["blocked"]


def test_nat_is_forced_when_generative_ai_is_in_another_region(summaries: dict) -> None:
    assert summaries["cross-region Generative AI, service gateway only"]["nat"] is True
    assert summaries["same region, service gateway only"]["nat"] is False
    assert summaries["same region, service gateway only"]["sgw"] is True
    assert (summaries["nat only"]["nat"], summaries["nat only"]["sgw"]) == (True, False)
    assert (summaries["jwt"]["nat"], summaries["jwt"]["sgw"]) == (True, True)  # default egress "both"


def _grants(statements: list[str], group_suffix: str) -> list[str]:
    return sorted(s.split(" to ", 1)[1].split(" in ", 1)[0] for s in statements
                  if s.startswith(f"Allow dynamic-group genai-gw-{group_suffix} "))


def test_each_role_gets_only_what_it_calls(summaries: dict) -> None:
    statements = summaries["api_key with existing secrets"]["statements"]
    assert _grants(statements, "gateway-fn") == ["inspect generative-ai-model", "manage objects",
                                                 "use generative-ai-chat", "use generative-ai-text-embedding",
                                                 "use generative-ai-text-rerank"]
    stored = next(s for s in statements if s.startswith("Allow dynamic-group genai-gw-gateway-fn to manage objects"))
    assert "target.bucket.name = 'genai-gw-responses'" in stored and "OBJECT_OVERWRITE" not in stored
    assert _grants(statements, "ingest-fn") == ["manage objects", "read fn-function", "read objects",
                                                "use fn-invocation", "use generative-ai-text-embedding"]
    # The continuation grants name the ingest function itself (its OCID is filled in at apply).
    assert all("target.function.id = '{ingest_function_id}'" in s for s in statements if "fn-" in s)
    assert _grants(statements, "authorizer-fn") == ["read secret-bundles"]

    assert not [s for s in statements if "generative-ai-family" in s]
    secret_read = next(s for s in statements if "secret-bundles" in s)
    assert "target.secret.id = 'ocid1.vaultsecret.oc1.eu-frankfurt-1.table'" in secret_read
    assert "target.secret.id = 'ocid1.vaultsecret.oc1.eu-frankfurt-1.pepper'" in secret_read
    assert not [s for s in summaries["jwt"]["statements"] if "authorizer" in s]

def test_the_family_grant_is_given_only_for_guardrails_and_native_responses(summaries: dict) -> None:
    family = {mode: [s for s in found["statements"] if "generative-ai-family" in s] for mode, found in summaries.items()}
    assert sorted(mode for mode, rows in family.items() if rows) == ["guardrails grant", "native responses"]
    assert set(family["guardrails grant"]) == set(family["native responses"]) == GUARDRAILS_GRANT


def test_stored_responses_grants_follow_the_switch(summaries: dict) -> None:
    on, off = summaries["api_key with existing secrets"], summaries["no stored responses"]
    lifecycle = [s for s in on["services"] if s.startswith("Allow service objectstorage-")]
    assert lifecycle == ["Allow service objectstorage-eu-frankfurt-1 to manage object-family in compartment id "
                         "ocid1.compartment.oc1..aaaaaaaaexample where target.bucket.name = 'genai-gw-responses'"]
    assert not [s for s in off["services"] if "objectstorage" in s]
    assert "manage objects" not in _grants(off["statements"], "gateway-fn")


def test_ingest_gets_only_the_alias_it_embeds_with(evaluate: Callable[..., Any]) -> None:
    aliases = {"gpt-4o": "meta.llama-3.3-70b-instruct", "docs": "cohere.embed-v4.0"}
    found = evaluate("local.function_config.ingest", **EXISTING_SECRETS, model_aliases=aliases,
                     ingest_embedding_model="docs")
    assert found["MODEL_ALIASES"] == '{"docs":"cohere.embed-v4.0"}'
    plain = evaluate("local.function_config.ingest", **EXISTING_SECRETS, model_aliases=aliases)
    assert plain["MODEL_ALIASES"] is None


PREFLIGHT_FAILURES = {
    "jwt without issuers, audiences or JWKS": (
        {"auth_mode": "jwt"}, ["auth_mode = jwt needs jwt_issuers", "needs jwt_audiences", "needs jwt_jwks_uri"]),
    "api_key without a pepper": ({"api_keys_pepper": None}, ["needs TF_VAR_api_keys_pepper"]),
    "configuration over 4 KB": (
        {**EXISTING_SECRETS, "served_models": ",".join(f"vendor.model-{i:04d}" for i in range(260)),
         "model_aliases": {f"alias-{i:03d}": "cohere.embed-v4.0" for i in range(90)},
         "ingest_embedding_model": "alias-001"},
        ["OCI Functions allows 4096", "MODEL_ALIASES_FILE"]),
    "streaming without an image": ({**EXISTING_SECRETS, "streaming": "api_gateway"}, ["needs streaming_image"]),
    "several containers without a load balancer": (
        {**EXISTING_SECRETS, "streaming": "api_gateway", "streaming_image": STREAMING_IMAGE,
         "streaming_instance_count": 2}, ["set streaming to load_balancer for 2"]),
    "existing network without a streaming subnet": (
        {**EXISTING_SECRETS, "streaming": "load_balancer", "streaming_image": STREAMING_IMAGE,
         "existing_network": {"functions_subnet_id": "ocid1.subnet.oc1..fn", "api_gateway_subnet_id": "ocid1.subnet.oc1..gw"}},
        ["needs streaming_subnet_id", "needs streaming_private_ips"]),
}


@pytest.mark.parametrize("case", sorted(PREFLIGHT_FAILURES))
def test_preflight_stops_the_plan_with_the_fix(case: str, terraform_bin: str, stand_in_env: dict[str, str],
                                               tmp_path: Any) -> None:
    from tests.terraform import tooling

    variables, fragments = PREFLIGHT_FAILURES[case]
    copy = tooling.copy_config(tmp_path / "terraform")
    result = tooling.evaluate(terraform_bin, copy, stand_in_env, variables, "local.preflight")
    message = " ".join(re.sub(r"\x1b\[[0-9;]*m|│", " ", result.stderr + result.stdout).split())
    assert "PREFLIGHT FAILED" in message
    for fragment in fragments:
        assert fragment in message, message


def test_the_sdk_still_says_filters_apply_after_set_headers() -> None:
    """Why a header is set or blocked, never both: OCI's own model documents the order."""
    from oci.apigateway.models import FilterHeaderPolicy

    assert "applies filters after other transformations" in " ".join((FilterHeaderPolicy.__doc__ or "").split())


def test_a_grant_row_is_one_line_and_when_leaves_it_out(terraform_bin: str, stand_in_env: dict[str, str],
                                                        tmp_path: Any) -> None:
    """The documented way to add a permission (terraform/README.md, "Adding a permission") works as written."""
    from tests.terraform import tooling

    copy = tooling.copy_config(tmp_path / "terraform")
    tooling.replace_once(copy / "iam.tf", "  iam_grants = [\n", "  iam_grants = [\n"
                         '    { role = "gateway", grant = "use generative-ai-text-rerank in ${local.genai_scope}" },\n'
                         '    { role = "ingest", grant = "read buckets in ${local.buckets_scope} where target.bucket.name'
                         ' = \'x\'", when = false },\n')
    statements = tooling.evaluated(tooling.evaluate(terraform_bin, copy, stand_in_env, EXISTING_SECRETS,
                                                    "local.function_policy_templates"))
    assert "Allow dynamic-group genai-gw-gateway-fn to use generative-ai-text-rerank in compartment id " \
           "ocid1.compartment.oc1..aaaaaaaaexample" in statements
    assert not [s for s in statements if "read buckets" in s]


STREAMING = ("{groups = local.role_dynamic_groups, statements = local.function_policy_templates, "
             "ips = local.streaming_ips, image = local.streaming_image_url, env = local.streaming_environment, "
             "gateway = local.function_config.gateway, routes = local.api_routes}")


def test_streaming_containers_act_as_the_gateway_role(evaluate: Callable[..., Any]) -> None:
    found = evaluate(STREAMING, **MODES["streaming through API Gateway"])
    assert found["groups"]["gateway"] == ["genai-gw-gateway-fn", "genai-gw-streaming-ci"]
    container_grants = _grants(found["statements"], "streaming-ci")
    assert container_grants == sorted(_grants(found["statements"], "gateway-fn") + ["read repos"])
    assert found["ips"] == ["10.60.3.10"]  # pinned: API Gateway's URL names it
    assert found["image"] == STREAMING_IMAGE
    # The same settings as the gateway function, plus a deadline inside API Gateway's 300 s read timeout.
    assert {k: v for k, v in found["env"].items() if k != "REQUEST_TIMEOUT_SECONDS" and k != "LOG_LEVEL"} == \
        {k: v for k, v in found["gateway"].items() if v is not None}
    assert 0 < int(found["env"]["REQUEST_TIMEOUT_SECONDS"]) < 300
    assert [r["path"] for r in found["routes"] if r["streams"]] == ["/v1/chat/completions", "/v1/responses"]


def test_streaming_image_digest_pins_the_repository_not_the_tag(evaluate: Callable[..., Any]) -> None:
    found = evaluate(STREAMING, **MODES["streaming behind a load balancer, existing network"])
    assert found["image"] == "fra.ocir.io/examplens/genai-gw/oci-genai-gateway@sha256:" + "ab" * 32
    assert found["ips"] == ["10.1.3.20", "10.1.3.21"]
    off = evaluate(STREAMING, **EXISTING_SECRETS)
    assert off["groups"]["streaming"] == [] and not [s for s in off["statements"] if "streaming" in s]
