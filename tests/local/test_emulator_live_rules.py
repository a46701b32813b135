"""The emulator refuses what the live service refuses: the evidence table and each of its rules.

Requests are signed by the ``oci`` SDK's signer (fixtures shared with ``test_emulator``); each rule
is shown refusing a body the live service refuses and accepting the corrected one.
"""

from __future__ import annotations

import importlib
from typing import Any

import httpx
import pytest

from local.emulator import Emulator
from local.emulator.live_rules import CAPTURED, DOCUMENTED, INFERRED, LIVE_RULES
from tests.local.test_emulator import (  # noqa: F401 - fixtures
    CHAT_PATH, EMBED_PATH, assert_oci_error, chat_ok, cohere_v2, emu, embed, generic, http, post, private_key, server,
    signer, user_v2,
)

PROFILE = "ocid1.generativeairoutingprofile.oc1.us-chicago-1.amaaaaaaprofile"


def test_every_rule_says_how_it_is_known_and_where_it_acts():
    assert {rule.source for rule in LIVE_RULES} <= {CAPTURED, DOCUMENTED, INFERRED}
    for rule in LIVE_RULES:
        assert rule.evidence and rule.facts_row
        assert (rule.check is None) != (not rule.applied_in), rule.name
        if rule.applied_in:
            module, _, name = rule.applied_in.partition(".")
            target: Any = importlib.import_module(f"local.emulator.{module}")
            for part in name.split("."):
                target = getattr(target, part)


def test_every_mismatch_row_of_the_facts_file_has_a_rule():
    rows = {row for rule in LIVE_RULES for row in rule.facts_row.split("/")}
    assert {"2", "5", "6", "7a", "7b", "7c", "7e", "7f", "9a", "9c"} <= rows


@pytest.mark.parametrize("model, field, value", [
    ("xai.grok-4.20-reasoning", "reasoningEffort", "HIGH"),
    ("xai.grok-4.20-0309-non-reasoning", "reasoningEffort", "LOW"),
    ("xai.grok-4.3", "presencePenalty", 0.5),
    ("xai.grok-4.3", "stop", ["x"]),
    ("xai.grok-4.20-non-reasoning", "frequencyPenalty", 0.5),
    ("xai.grok-3-mini", "stop", ["x"]),
    ("openai.gpt-5.4", "maxTokens", 10),
])
def test_a_parameter_the_model_does_not_take_is_refused_as_oci_words_it(emu: Emulator, http: httpx.Client,
                                                                         signer: Any, model, field, value):
    message = assert_oci_error(post(http, signer, CHAT_PATH, generic(model=model, **{field: value})), 400, "400")
    assert message == f"Model does not support parameter {field}"
    assert chat_ok(http, signer, generic(model=model))["chatResponse"]["apiFormat"] == "GENERIC"


def test_reasoning_effort_where_the_model_has_it(emu: Emulator, http: httpx.Client, signer: Any):
    assert chat_ok(http, signer, generic(model="xai.grok-4.3", reasoningEffort="NONE"))
    assert chat_ok(http, signer, generic(model="xai.grok-3-mini", reasoningEffort="HIGH"))
    message = assert_oci_error(post(http, signer, CHAT_PATH, generic(model="xai.grok-3-mini",
                                                                     reasoningEffort="MEDIUM")), 400, "400")
    assert "reasoningEffort" in message and "MEDIUM" in message


def test_a_coherev2_assistant_turn_needs_content(emu: Emulator, http: httpx.Client, signer: Any):
    call = {"id": "c1", "type": "FUNCTION", "function": {"name": "f", "arguments": "{}"}}
    turns = [user_v2("hi"), {"role": "ASSISTANT", "toolPlan": "calling f", "toolCalls": [call]},
             {"role": "TOOL", "toolCallId": "c1", "content": [{"type": "TEXT", "text": "done"}]}]
    message = assert_oci_error(post(http, signer, CHAT_PATH, cohere_v2(turns)), 400, "400")
    assert message == "Missing required parameter: 'chatRequest.messages[1].content'."
    turns[1]["content"] = [{"type": "TEXT", "text": " "}]
    assert chat_ok(http, signer, cohere_v2(turns))


def test_gemini_refuses_exclusive_bounds_in_a_tool_schema(emu: Emulator, http: httpx.Client, signer: Any):
    def tools(bound: dict) -> list:
        schema = {"type": "object", "properties": {"n": {"type": "number", **bound}}}
        return [{"type": "FUNCTION", "name": "f", "parameters": schema}]

    gemini = "google.gemini-2.5-flash"
    message = assert_oci_error(post(http, signer, CHAT_PATH, generic(model=gemini, tools=tools(
        {"exclusiveMinimum": 0}))), 400, "400")
    assert "exclusiveMinimum" in message
    assert chat_ok(http, signer, generic(model=gemini, tools=tools({"minimum": 0})))
    assert chat_ok(http, signer, generic(tools=tools({"exclusiveMinimum": 0})))  # Llama takes them


def test_the_multi_agent_model_is_not_served_on_chat(emu: Emulator, http: httpx.Client, signer: Any):
    message = assert_oci_error(post(http, signer, CHAT_PATH, generic(model="xai.grok-4.20-multi-agent-0309")),
                               400, "400")
    assert "not allowed on chat completions" in message


@pytest.mark.parametrize("model", ["cohere.command-a-vision-07-2025", "xai.grok-4", "xai.grok-4.1-fast"])
def test_retired_and_misspelled_chat_ids_are_404_naming_the_id(emu: Emulator, http: httpx.Client, signer: Any,
                                                               model):
    message = assert_oci_error(post(http, signer, CHAT_PATH, generic(model=model)), 404, "NotAuthorizedOrNotFound")
    assert message == f"Entity with key {model} not found"


def test_embed_v3_is_retired_on_demand(emu: Emulator, http: httpx.Client, signer: Any):
    assert_oci_error(post(http, signer, EMBED_PATH, embed(["x"], "cohere.embed-multilingual-v3.0")), 404,
                     "NotAuthorizedOrNotFound")
    assert post(http, signer, EMBED_PATH, embed(["x"])).json()["modelId"] == "cohere.embed-v4.0"


def test_xai_usage_counts_reasoning_outside_completion_tokens(emu: Emulator, http: httpx.Client, signer: Any):
    usage = chat_ok(http, signer, generic("why", model="xai.grok-3-mini", reasoningEffort="HIGH"))[
        "chatResponse"]["usage"]
    reasoning = usage["completionTokensDetails"]["reasoningTokens"]
    assert reasoning > 0
    assert usage["promptTokens"] + usage["completionTokens"] + reasoning == usage["totalTokens"]


def test_a_deprecated_model_answers_with_model_retirement_info(emu: Emulator, http: httpx.Client, signer: Any):
    response = post(http, signer, CHAT_PATH, generic(model="meta.llama-3.1-405b-instruct"))
    assert response.status_code == 200 and response.headers["model-retirement-info"]
    assert "model-retirement-info" not in post(http, signer, CHAT_PATH, generic()).headers


def test_a_routing_profile_serves_its_model_and_names_the_region(emu: Emulator, http: httpx.Client, signer: Any):
    emu.models.add_routing_profile(PROFILE, "openai.gpt-oss-120b", "eu-frankfurt-1")
    response = post(http, signer, CHAT_PATH, generic(model=PROFILE))
    assert response.status_code == 200, response.text
    assert response.headers["x-genai-selected-region"] == "eu-frankfurt-1"
    assert response.json()["modelId"] == "openai.gpt-oss-120b"


# -- The management API's model list, read by the oci SDK's own client and paginator ---------------------------


@pytest.fixture
def management(server, private_key):
    import oci

    from tests.local.test_emulator import FINGERPRINT, TENANCY, USER, _pem

    config = {"tenancy": TENANCY, "user": USER, "fingerprint": FINGERPRINT, "key_content": _pem(private_key),
              "region": "us-chicago-1"}
    return oci.generative_ai.GenerativeAiClient(config, service_endpoint=server.url,
                                                retry_strategy=oci.retry.NoneRetryStrategy())


def test_the_sdk_lists_every_model_across_pages(emu: Emulator, management):
    import oci

    emu.models.list_page_size = 7
    first = management.list_models(compartment_id="ocid1.compartment.oc1..c", limit=100)
    assert len(first.data.items) == 7 and first.next_page
    listed = oci.pagination.list_call_get_all_results(management.list_models,
                                                      compartment_id="ocid1.compartment.oc1..c").data
    names = [m.display_name for m in listed]
    assert len(names) == len(set(names)) > 7
    assert "cohere.embed-v4.0" in names and "xai.grok-4.3" in names
    assert "xai.grok-4" not in names  # retired on a date OCI never published: not listed
    v3 = next(m for m in listed if m.display_name == "cohere.embed-multilingual-v3.0")
    assert v3.capabilities == ["TEXT_EMBEDDINGS"] and v3.lifecycle_state == "ACTIVE" and v3.type == "BASE"
    assert v3.time_on_demand_retired.isoformat().startswith("2026-10-21") and v3.compartment_id is None
    chat = next(m for m in listed if m.display_name == "xai.grok-4.3")
    assert chat.capabilities == ["CHAT"] and chat.id.startswith("ocid1.generativeaimodel.")
    assert all(r.path == "/20231130/models" and r.verified for r in emu.requests)


def test_the_sdk_reads_model_discovery(emu: Emulator, management):
    import oci

    found = oci.pagination.list_call_get_all_results(management.list_model_discovery,
                                                     compartment_id="ocid1.compartment.oc1..c",
                                                     region=["us-chicago-1"]).data
    v3 = next(m for m in found if m.model_id == "cohere.embed-english-v3.0")
    assert v3.availability[0].region == "us-chicago-1"
    assert v3.availability[0].supported_replacements == ["cohere.embed-v4.0"]
    assert "ON_DEMAND" in v3.availability[0].serving_modes


def test_the_model_list_needs_a_compartment(emu: Emulator, http: httpx.Client, signer: Any):
    from tests.local.test_emulator import sign

    headers = sign(signer, "GET", f"{http.base_url}/20231130/models", b"", enforce=False)
    assert assert_oci_error(http.get("/20231130/models", headers=headers), 400, "MissingParameter")
