"""One golden test per row of the live-service facts the gateway fixed, run against the emulator.

The emulator refuses what OCI refuses (``local/emulator/live_rules.py``), so a translation that
still made one of the recorded mistakes would get OCI's 400 or 404 here. The gateway runs in
process (the router, the chat and embeddings services, the real pooled client) and talks HTTP to
an emulator on loopback; each test also counts the upstream calls, since "before OCI is called"
and "send once more" are part of the contract.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from core import aliases
from local.emulator import Emulator, ModelSpec
from tests.support.runtime import reset_settings
from tests.support.in_process import configure, emu, env, post, served  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
ENDPOINT = "ocid1.generativeaiendpoint.oc1.us-chicago-1.amaaaaaacoherev2"
PROFILE = "ocid1.generativeairoutingprofile.oc1.us-chicago-1.amaaaaaarouted"


def chat_calls(emulator: Emulator) -> list[dict[str, Any]]:
    return [r.json for r in emulator.requests if r.path.endswith("/actions/chat")]


def chat(model: str, text: str = "hello", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


# -- 7a: reasoning_effort only where the model has the knob ----------------------------------------------------


async def test_7a_reasoning_effort_is_dropped_and_named_for_a_model_without_the_knob(emu):
    response, body = await post("/v1/chat/completions", chat("xai.grok-4.20-reasoning", reasoning_effort="high"))
    assert response.status == 200, body
    assert response.headers["x-gateway-dropped-params"] == "reasoning_effort"
    assert [("reasoningEffort" in c["chatRequest"]) for c in chat_calls(emu)] == [False]


async def test_7a_an_effort_the_model_has_is_sent(emu):
    response, body = await post("/v1/chat/completions", chat("xai.grok-3-mini", reasoning_effort="high"))
    assert response.status == 200 and "x-gateway-dropped-params" not in response.headers
    assert chat_calls(emu)[0]["chatRequest"]["reasoningEffort"] == "HIGH"
    response, body = await post("/v1/chat/completions", chat("xai.grok-3-mini", reasoning_effort="medium"))
    assert (response.status, body["error"]["param"]) == (400, "reasoning_effort")
    assert "'low', 'high'" in body["error"]["message"] and len(chat_calls(emu)) == 1


async def test_7a_safety_net_oci_refusing_effort_is_dropped_resent_once_and_remembered(emu):
    emu.models.add(ModelSpec("xai.grok-5", "chat", api_formats=("GENERIC",), efforts=()))  # the table is behind
    response, body = await post("/v1/chat/completions", chat("xai.grok-5", reasoning_effort="low"))
    assert response.status == 200, body
    assert response.headers["x-gateway-dropped-params"] == "reasoning_effort"
    assert [c["chatRequest"].get("reasoningEffort") for c in chat_calls(emu)] == ["LOW", None]
    # Remembered for this model: the next request does not ask OCI again.
    response, _ = await post("/v1/chat/completions", chat("xai.grok-5", reasoning_effort="low"))
    assert response.status == 200 and len(chat_calls(emu)) == 3


# -- 7b: penalties and stop on xAI -------------------------------------------------------------------------------


async def test_7b_a_refused_penalty_is_a_400_naming_it_before_oci(emu):
    response, body = await post("/v1/chat/completions", chat("xai.grok-4.3", presence_penalty=0.5))
    assert (response.status, body["error"]["param"], body["error"]["code"]) == (400, "presence_penalty",
                                                                                "unsupported_parameter")
    response, body = await post("/v1/chat/completions", chat("xai.grok-4.3", stop=["\n"]))
    assert (response.status, body["error"]["param"]) == (400, "stop")
    assert chat_calls(emu) == []


async def test_7b_with_drop_unsupported_params_they_are_dropped_and_named(emu, env):
    configure(env, DROP_UNSUPPORTED_PARAMS="true")
    response, body = await post("/v1/chat/completions", chat("xai.grok-4.3", presence_penalty=0.5,
                                                             frequency_penalty=0.1, stop="x"))
    assert response.status == 200, body
    assert response.headers["x-gateway-dropped-params"] == "frequency_penalty, presence_penalty, stop"
    sent = chat_calls(emu)[0]["chatRequest"]
    assert not {"presencePenalty", "frequencyPenalty", "stop"} & set(sent)


async def test_7b_a_neutral_penalty_is_left_out_without_a_word(emu):
    response, body = await post("/v1/chat/completions", chat("xai.grok-4.3", presence_penalty=0,
                                                             frequency_penalty=0.0))
    assert response.status == 200, body
    assert "x-gateway-dropped-params" not in response.headers


async def test_7b_safety_net_without_drop_the_refusal_maps_back_and_is_remembered(emu):
    emu.models.add(ModelSpec("meta.llama-5", "chat", api_formats=("GENERIC",), refuses=frozenset({"seed"})))
    response, body = await post("/v1/chat/completions", chat("meta.llama-5", seed=7))
    assert (response.status, body["error"]["param"], body["error"]["code"]) == (400, "seed", "unsupported_parameter")
    assert len(chat_calls(emu)) == 1
    response, body = await post("/v1/chat/completions", chat("meta.llama-5", seed=7))
    assert (response.status, body["error"]["param"]) == (400, "seed") and len(chat_calls(emu)) == 1  # before OCI


async def test_7b_safety_net_with_drop_the_parameter_goes_and_the_request_is_sent_once_more(emu, env):
    configure(env, DROP_UNSUPPORTED_PARAMS="true")
    emu.models.add(ModelSpec("meta.llama-6", "chat", api_formats=("GENERIC",), refuses=frozenset({"topK"})))
    response, body = await post("/v1/chat/completions", chat("meta.llama-6", top_k=5))
    assert response.status == 200, body
    assert response.headers["x-gateway-dropped-params"] == "top_k"
    assert [c["chatRequest"].get("topK") for c in chat_calls(emu)] == [5, None]


# -- 7c: the output-limit field ----------------------------------------------------------------------------------


async def test_7c_openai_models_get_max_completion_tokens(emu):
    response, body = await post("/v1/chat/completions", chat("openai.gpt-5.4", max_tokens=50))
    assert response.status == 200, body
    sent = chat_calls(emu)[0]["chatRequest"]
    assert sent["maxCompletionTokens"] == 50 and "maxTokens" not in sent


async def test_7c_safety_net_a_refused_limit_field_is_switched_not_dropped(emu):
    emu.models.add(ModelSpec("meta.llama-7", "chat", api_formats=("GENERIC",), refuses=frozenset({"maxTokens"})))
    response, body = await post("/v1/chat/completions", chat("meta.llama-7", max_tokens=40))
    assert response.status == 200, body
    assert "x-gateway-dropped-params" not in response.headers
    calls = chat_calls(emu)
    assert [(c["chatRequest"].get("maxTokens"), c["chatRequest"].get("maxCompletionTokens")) for c in calls] == [
        (40, None), (None, 40)]
    await post("/v1/chat/completions", chat("meta.llama-7"))
    assert "maxCompletionTokens" in chat_calls(emu)[2]["chatRequest"]


# -- 7e and 2: COHEREV2 tool continuations, streamed plans, restated calls ----------------------------------------


async def test_7e_a_coherev2_tool_continuation_is_accepted(emu):
    first, body = await post("/v1/chat/completions", chat("cohere.command-a-vision", "call:get_weather in Paris",
                                                         tools=[WEATHER]))
    # Command A Vision takes no tools in the catalog; the reasoning model speaks COHEREV2 with tools.
    assert first.status == 400 and body["error"]["param"] == "tools"
    first, body = await post("/v1/chat/completions", chat("cohere.command-a-reasoning",
                                                         "call:get_weather in Paris", tools=[WEATHER]))
    assert first.status == 200, body
    message = body["choices"][0]["message"]
    assert message["tool_calls"] and message["content"] == "I will call get_weather."
    follow = {"model": "cohere.command-a-reasoning", "tools": [WEATHER], "messages": [
        {"role": "user", "content": "call:get_weather in Paris"}, message,
        {"role": "tool", "tool_call_id": message["tool_calls"][0]["id"], "content": "sunny"}]}
    response, body = await post("/v1/chat/completions", follow)
    assert response.status == 200, body
    assert body["choices"][0]["message"]["content"] == "Echo: sunny"


@pytest.mark.parametrize("restates", [False, True])
async def test_2_streamed_coherev2_tool_calls_are_whole_once_and_the_plan_is_content(emu, restates):
    emu.configure_stream(v2_restates_tool_calls=restates)
    response, body = await post("/v1/chat/completions", chat("cohere.command-a-reasoning",
                                                             "call:get_weather in Paris", tools=[WEATHER],
                                                             stream=True))
    assert response.status == 200
    deltas = [c["choices"][0]["delta"] for c in body["events"] if c.get("choices")]
    content = "".join(d.get("content") or "" for d in deltas)
    arguments = "".join(t["function"].get("arguments") or "" for d in deltas for t in d.get("tool_calls") or [])
    assert content == "I will call get_weather."
    assert json.loads(arguments) == {"city": "Paris"}


# -- 6: Gemini schemas ---------------------------------------------------------------------------------------------


async def test_6_gemini_gets_inclusive_bounds(emu):
    tool = {"type": "function", "function": {"name": "pick", "parameters": {"type": "object", "properties": {
        "n": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10},
        "x": {"type": "number", "exclusiveMinimum": 0.5}}}}}
    response, body = await post("/v1/chat/completions", chat("google.gemini-2.5-flash", tools=[tool]))
    assert response.status == 200, body
    sent = chat_calls(emu)[0]["chatRequest"]["tools"][0]["parameters"]["properties"]
    assert sent == {"n": {"type": "integer", "minimum": 1, "maximum": 9}, "x": {"type": "number", "minimum": 0.5}}


# -- 5: xAI usage ---------------------------------------------------------------------------------------------------


async def test_5_xai_completion_tokens_include_reasoning_as_openai_counts(emu):
    response, body = await post("/v1/chat/completions", chat("xai.grok-3-mini", "why", reasoning_effort="high"))
    usage = body["usage"]
    reasoning = usage["completion_tokens_details"]["reasoning_tokens"]
    assert reasoning > 0 and usage["completion_tokens"] > reasoning
    assert usage["prompt_tokens"] + usage["completion_tokens"] == usage["total_tokens"]


# -- 7f: a raw dedicated endpoint hosting a Cohere model --------------------------------------------------------


async def test_7f_a_raw_endpoint_falls_back_to_the_format_its_model_speaks_and_remembers_it(emu, env):
    env.setenv("SERVED_MODELS", "ocid1.generativeaiendpoint.*")  # a raw endpoint OCID is served only when named
    reset_settings()
    emu.add_dedicated_endpoint(ENDPOINT, "cohere.command-a-vision")
    response, body = await post("/v1/chat/completions", chat(ENDPOINT))
    assert response.status == 200, body
    assert [c["chatRequest"]["apiFormat"] for c in chat_calls(emu)] == ["GENERIC", "COHEREV2"]
    assert body["choices"][0]["message"]["content"] == "Echo: hello"
    response, _ = await post("/v1/chat/completions", chat(ENDPOINT))
    assert response.status == 200 and chat_calls(emu)[-1]["chatRequest"]["apiFormat"] == "COHEREV2"
    assert len(chat_calls(emu)) == 3


# -- 9a/9b/9c: the catalog ----------------------------------------------------------------------------------------


async def test_9a_a_retired_embedding_model_is_404_naming_the_replacement_without_oci(emu):
    response, body = await post("/v1/embeddings", {"model": "cohere.embed-multilingual-v3.0", "input": "x"})
    assert (response.status, body["error"]["code"]) == (404, "model_not_found")
    assert "cohere.embed-v4.0" in body["error"]["message"] and emu.requests == []


async def test_9a_before_its_date_a_retiring_model_says_so_in_a_header(emu, monkeypatch):
    monkeypatch.setattr(aliases, "today_utc", lambda: "2026-10-01")
    retired = emu.models.get("cohere.embed-multilingual-v3.0")
    emu.models.add(ModelSpec("cohere.embed-multilingual-v3.0", "embed", dimensions=1024))  # still served then
    try:
        response, body = await post("/v1/embeddings", {"model": "cohere.embed-multilingual-v3.0", "input": "x"})
    finally:
        emu.models.add(retired)
    assert response.status == 200, body
    assert response.headers["x-gateway-model-retirement"] == "2026-10-21; replacement=cohere.embed-v4.0"


@pytest.mark.parametrize("old, new", [("cohere.command-a-vision-07-2025", "cohere.command-a-vision"),
                                      ("xai.grok-4.20", "xai.grok-4.20-reasoning")])
async def test_9b_a_renamed_id_reaches_the_new_one_under_the_callers_name(emu, old, new):
    response, body = await post("/v1/chat/completions", chat(old))
    assert response.status == 200, body
    assert body["model"] == old
    assert chat_calls(emu)[0]["servingMode"]["modelId"] == new


async def test_9c_retired_grok_and_multi_agent_on_chat_never_reach_oci(emu):
    response, body = await post("/v1/chat/completions", chat("xai.grok-4-fast"))
    assert response.status == 404 and "xai.grok-4.3" in body["error"]["message"]
    response, body = await post("/v1/chat/completions", chat("xai.grok-4.20-multi-agent"))
    assert response.status == 400 and "/v1/responses" in body["error"]["message"]
    assert chat_calls(emu) == []


async def test_oci_404_for_a_model_is_model_not_found_not_an_iam_hint(emu):
    response, body = await post("/v1/chat/completions", chat("meta.llama-9-imaginary"))
    assert (response.status, body["error"]["code"], body["error"]["param"]) == (404, "model_not_found", "model")
    assert "meta.llama-9-imaginary" in body["error"]["message"] and "IAM" not in body["error"]["message"]
    assert len(chat_calls(emu)) == 1


# -- OCI's own headers ------------------------------------------------------------------------------------------


async def test_model_retirement_info_and_the_selected_region_are_passed_back(emu, env):
    response, _ = await post("/v1/chat/completions", chat("meta.llama-3.1-405b-instruct"))
    assert response.status == 200 and response.headers["model-retirement-info"]
    emu.models.add_routing_profile(PROFILE, "openai.gpt-oss-120b", "ap-osaka-1")
    configure(env, MODEL_ALIASES={"nearest": PROFILE})
    response, body = await post("/v1/chat/completions", chat("nearest", stream=True))
    assert response.status == 200 and response.headers["x-genai-selected-region"] == "ap-osaka-1"
    assert chat_calls(emu)[-1]["servingMode"] == {"servingType": "ON_DEMAND", "modelId": PROFILE}
