"""OpenAI chat <-> COHEREV2: request bodies the oci SDK accepts, responses OpenAI clients expect."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.catalog import lookup
from core.chat.common import tool_call_id
from core.chat.cohere_v2 import from_cohere_v2_chat_response, to_cohere_v2_chat_request
from core.chat.request import parse_chat_request
from core.errors import APIError
from tests.support.oci_sdk import assert_sdk_roundtrip, sdk_model
from tests.unit.test_chat_cohere import WEATHER_TOOL, _TOOLS, call, conversations

MODEL = "cohere.command-a-03-2025"
COMMAND_A = lookup(MODEL)
VISION = lookup("cohere.command-a-vision")
REASONING = lookup("cohere.command-a-reasoning")
COMPARTMENT = "ocid1.compartment.oc1..x"
DEDICATED = {"servingType": "DEDICATED", "endpointId": "ocid1.generativeaiendpoint.oc1..x"}
IMAGE = "data:image/png;base64,iVBORw0KGgo="


def openai(messages: list[dict[str, Any]], **params: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": messages, **params}


def v2(body: dict[str, Any], *, info=COMMAND_A, max_tokens: int | None = None,
       serving: dict[str, Any] | None = None) -> dict[str, Any]:
    """Translate, and prove the result is a ChatDetails the oci SDK reads and writes back unchanged."""
    chat_request = to_cohere_v2_chat_request(parse_chat_request(body), info, max_tokens=max_tokens)
    serving = serving or {"servingType": "ON_DEMAND", "modelId": info.id}
    assert_sdk_roundtrip({"compartmentId": COMPARTMENT, "servingMode": serving, "chatRequest": chat_request},
                         "ChatDetails")
    return chat_request


def text(value: str) -> list[dict[str, Any]]:
    return [{"type": "TEXT", "text": value}]


# ---------------------------------------------------------------- messages


def test_roles_and_content_parts_map_to_v2_messages():
    body = v2(openai([
        {"role": "system", "content": "Be brief."},
        {"role": "developer", "content": "Answer in French."},
        {"role": "user", "content": "Hi", "name": "ann"},
        {"role": "assistant", "content": "Bonjour"},
        {"role": "user", "content": [{"type": "text", "text": "Tell "}, {"type": "text", "text": "a joke"}]},
    ], temperature=0.3, top_p=0.8, top_k=10, frequency_penalty=0.1, presence_penalty=0.2, seed=42, stop="END"),
        max_tokens=100)
    assert body == {
        "apiFormat": "COHEREV2",
        "messages": [
            {"role": "SYSTEM", "content": text("Be brief.")},
            {"role": "SYSTEM", "content": text("Answer in French.")},
            {"role": "USER", "content": text("Hi")},
            {"role": "ASSISTANT", "content": text("Bonjour")},
            {"role": "USER", "content": [{"type": "TEXT", "text": "Tell "}, {"type": "TEXT", "text": "a joke"}]},
        ],
        "maxTokens": 100, "temperature": 0.3, "topK": 10, "topP": 0.8, "frequencyPenalty": 0.1,
        "presencePenalty": 0.2, "seed": 42, "stopSequences": ["END"],
    }


def test_empty_content_is_never_sent_empty():
    body = v2(openai([{"role": "system", "content": ""}, {"role": "user", "content": []},
                      {"role": "assistant", "content": ""},
                      {"role": "user", "content": [{"type": "text", "text": ""}]}]))
    for message in body["messages"]:
        assert message["content"] and all(p["text"] for p in message["content"])


def test_images_become_image_url_parts_with_detail():
    body = v2(openai([{"role": "user", "content": [
        {"type": "text", "text": "Compare"},
        {"type": "image_url", "image_url": {"url": IMAGE}},
        {"type": "image_url", "image_url": {"url": IMAGE, "detail": "high"}},
    ]}], model=VISION.id), info=VISION)
    assert body["messages"] == [{"role": "USER", "content": [
        {"type": "TEXT", "text": "Compare"},
        {"type": "IMAGE_URL", "imageUrl": {"url": IMAGE}},
        {"type": "IMAGE_URL", "imageUrl": {"url": IMAGE, "detail": "HIGH"}},
    ]}]


def test_images_to_a_model_without_vision_are_a_400():
    with pytest.raises(APIError) as err:
        v2(openai([{"role": "user", "content": "x"},
                   {"role": "assistant", "content": "y"},
                   {"role": "user", "content": [{"type": "image_url", "image_url": {"url": IMAGE}}]}]))
    assert (err.value.status, err.value.param) == (400, "messages[2].content")
    # an unknown (new) Cohere model is given the benefit of the doubt
    assert v2(openai([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": IMAGE}}]}]),
              info=lookup("cohere.command-b-2027"))["messages"][0]["content"][0]["type"] == "IMAGE_URL"


def test_tool_calls_results_single_and_parallel():
    body = v2(openai([
        {"role": "user", "content": "Weather in Paris and Lyon?"},
        {"role": "assistant", "content": "I will check both.", "tool_calls": [
            call("c1", "get_weather", {"city": "Paris"}), call("c2", "get_weather", {"city": "Lyon"})]},
        {"role": "tool", "tool_call_id": "c2", "content": "rain"},
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": '{"sky": "sun"}'}]},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c3", "type": "function",
                                                               "function": {"name": "get_weather", "arguments": ""}}]},
        {"role": "tool", "tool_call_id": "c3", "content": ""},
    ], tools=[WEATHER_TOOL]))
    assert body["messages"][1:] == [
        {"role": "ASSISTANT", "content": text(" "), "toolPlan": "I will check both.", "toolCalls": [
            {"id": "c1", "type": "FUNCTION", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
            {"id": "c2", "type": "FUNCTION", "function": {"name": "get_weather", "arguments": '{"city": "Lyon"}'}}]},
        {"role": "TOOL", "toolCallId": "c2", "content": text("rain")},
        {"role": "TOOL", "toolCallId": "c1", "content": text('{"sky": "sun"}')},
        {"role": "ASSISTANT", "content": text(" "), "toolCalls": [
            {"id": "c3", "type": "FUNCTION", "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "TOOL", "toolCallId": "c3", "content": text(" ")},
    ]
    assert body["tools"] == [{"type": "FUNCTION", "function": {"name": "get_weather", "description": "Get the weather",
                                                               "parameters": WEATHER_TOOL["function"]["parameters"]}}]


def test_dedicated_serving_mode_body_is_accepted():
    body = v2(openai([{"role": "user", "content": "hi"}], tools=[WEATHER_TOOL], tool_choice="required"),
              max_tokens=64, serving=DEDICATED)
    assert body["toolsChoice"] == "REQUIRED"


# ---------------------------------------------------------------- tools and tool_choice

NESTED = {"type": "function", "function": {"name": "book_trip", "strict": True, "parameters": {
    "$defs": {"Leg": {"type": "object", "title": "Leg", "properties": {"from": {"type": "string"}},
                      "required": ["from"]}},
    "type": "object", "title": "Trip",
    "properties": {"legs": {"type": "array", "items": {"$ref": "#/$defs/Leg"}},
                   "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}},
    "required": ["legs"]}}}


def test_nested_pydantic_schema_is_simplified_not_flattened():
    body = v2(openai([{"role": "user", "content": "x"}], tools=[NESTED]))
    assert body["tools"] == [{"type": "FUNCTION", "function": {"name": "book_trip", "description": "book_trip",
                                                               "parameters": {
        "type": "object",
        "properties": {"legs": {"type": "array", "items": {"type": "object", "properties": {"from": {"type": "string"}},
                                                           "required": ["from"]}},
                       "note": {"type": "string"}},
        "required": ["legs"]}}}]
    assert body["isStrictToolsEnabled"] is True


def test_strict_only_when_every_tool_is_strict():
    body = v2(openai([{"role": "user", "content": "x"}], tools=[NESTED, WEATHER_TOOL]))
    assert "isStrictToolsEnabled" not in body


@pytest.mark.parametrize("choice,expected_choice,expected_tools", [
    ("auto", None, ["book_trip", "get_weather"]),
    ("none", "NONE", ["book_trip", "get_weather"]),
    ("required", "REQUIRED", ["book_trip", "get_weather"]),
    ({"type": "function", "function": {"name": "get_weather"}}, "REQUIRED", ["get_weather"]),
])
def test_tool_choice_variants(choice, expected_choice, expected_tools):
    body = v2(openai([{"role": "user", "content": "x"}], tools=[NESTED, WEATHER_TOOL], tool_choice=choice))
    assert body.get("toolsChoice") == expected_choice
    assert [t["function"]["name"] for t in body["tools"]] == expected_tools


def test_bad_tool_schema_is_a_400_naming_the_tool():
    tool = {"type": "function", "function": {"name": "f", "parameters": {
        "type": "object", "properties": {"v": {"type": ["string", "integer"]}}}}}
    with pytest.raises(APIError) as err:
        v2(openai([{"role": "user", "content": "x"}], tools=[WEATHER_TOOL, tool]))
    assert (err.value.status, err.value.param) == (400, "tools[1].function.parameters")


# ---------------------------------------------------------------- reasoning, logprobs, response_format


@pytest.mark.parametrize("effort,max_tokens,expected", [
    ("minimal", 8000, {"type": "ENABLED", "tokenBudget": 1000}),
    ("low", 8000, {"type": "ENABLED", "tokenBudget": 2000}),
    ("medium", 8000, {"type": "ENABLED", "tokenBudget": 4000}),
    ("high", 8000, {"type": "ENABLED", "tokenBudget": 6000}),
    ("high", None, {"type": "ENABLED", "tokenBudget": 3000}),  # bounded by the model's 4000 on-demand ceiling
    ("none", 8000, {"type": "DISABLED"}),
    ("disable", None, {"type": "DISABLED"}),
])
def test_reasoning_effort_becomes_a_thinking_budget_within_max_tokens(effort, max_tokens, expected):
    body = v2(openai([{"role": "user", "content": "x"}], model=REASONING.id, reasoning_effort=effort),
              info=REASONING, max_tokens=max_tokens)
    assert body["thinking"] == expected
    if "tokenBudget" in expected:
        assert expected["tokenBudget"] < (max_tokens or REASONING.max_output_tokens)


def test_logprobs_enable_cohere_log_probabilities():
    assert v2(openai([{"role": "user", "content": "x"}], logprobs=True))["isLogProbsEnabled"] is True
    assert "isLogProbsEnabled" not in v2(openai([{"role": "user", "content": "x"}], logprobs=False))


def test_response_format_json_object_and_json_schema():
    messages = [{"role": "user", "content": "x"}]
    assert v2(openai(messages, response_format={"type": "json_object"}))["responseFormat"] == {"type": "JSON_OBJECT"}
    body = v2(openai(messages, response_format={"type": "json_schema", "json_schema": {
        "name": "out", "strict": True, "schema": {"type": "object", "title": "Out",
                                                  "properties": {"a": {"type": "integer", "title": "A"}}}}}))
    assert body["responseFormat"] == {"type": "JSON_OBJECT", "schema": {"type": "object",
                                                                        "properties": {"a": {"type": "integer"}}}}


# ---------------------------------------------------------------- responses (COHEREV2 answers)

V2_RESPONSE = {"modelId": "cohere.command-a-03-2025", "modelVersion": "1.0", "chatResponse": {
    "apiFormat": "COHEREV2", "id": "resp-1", "finishReason": "TOOL_CALL",
    "message": {"role": "ASSISTANT", "content": [{"type": "THINKING", "thinking": "need weather"},
                                                 {"type": "TEXT", "text": "Calling a tool"}],
                "toolPlan": "I will call weather",
                "toolCalls": [{"id": "tc-1", "type": "FUNCTION",
                               "function": {"name": "weather", "arguments": "{\"city\": \"Paris\"}"}}]},
    "usage": {"promptTokens": 30, "completionTokens": 12, "totalTokens": 42}}}


def _with(**changes: Any) -> dict[str, Any]:
    fixture = {**V2_RESPONSE, "chatResponse": {**V2_RESPONSE["chatResponse"], **changes}}
    assert type(sdk_model(fixture, "ChatResult").chat_response).__name__ == "CohereChatResponseV2"
    return fixture


def test_fixture_is_ocis_v2_format():
    result = sdk_model(V2_RESPONSE, "ChatResult").chat_response
    assert type(result).__name__ == "CohereChatResponseV2" and result.message.tool_calls[0].id == "tc-1"


def test_response_maps_text_reasoning_tool_calls_usage_and_id():
    before = int(time.time())
    out = from_cohere_v2_chat_response(V2_RESPONSE, model=MODEL, response_id="chatcmpl-x")
    assert before <= out.pop("created") <= int(time.time()) + 1
    assert out == {
        "id": "resp-1", "object": "chat.completion", "model": MODEL,
        "choices": [{"index": 0, "logprobs": None, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": "Calling a tool", "refusal": None, "reasoning_content": "need weather",
            "tool_calls": [{"id": "tc-1", "type": "function",
                            "function": {"name": "weather", "arguments": '{"city": "Paris"}'}}]}}],
        "usage": {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42},
        "system_fingerprint": None,
    }


def test_tool_plan_is_the_content_when_there_is_no_text():
    fixture = _with(message={"role": "ASSISTANT", "content": [], "toolPlan": "I will call weather", "toolCalls": [
        {"type": "FUNCTION", "function": {"name": "weather", "arguments": {"city": "Rome"}}}]})
    message = from_cohere_v2_chat_response(fixture, model=MODEL, response_id="r")["choices"][0]["message"]
    assert message["content"] == "I will call weather"
    # no id from OCI: a stable one is synthesized; object arguments become a JSON string
    assert message["tool_calls"] == [{"id": tool_call_id("weather", '{"city": "Rome"}', 0), "type": "function",
                                      "function": {"name": "weather", "arguments": '{"city": "Rome"}'}}]
    assert "reasoning_content" not in message


@pytest.mark.parametrize("reason,expected", [("COMPLETE", "stop"), ("STOP_SEQUENCE", "stop"),
                                             ("MAX_TOKENS", "length"), ("ERROR", "stop"), (None, "stop")])
def test_finish_reasons_without_tool_calls(reason, expected):
    fixture = _with(finishReason=reason, message={"role": "ASSISTANT", "content": [{"type": "TEXT", "text": "ok"}]})
    choice = from_cohere_v2_chat_response(fixture, model=MODEL, response_id="r")["choices"][0]
    assert (choice["finish_reason"], choice["message"]["content"]) == (expected, "ok")
    assert "tool_calls" not in choice["message"]


def test_complete_with_tool_calls_is_tool_calls():
    out = from_cohere_v2_chat_response(_with(finishReason="COMPLETE"), model=MODEL, response_id="r")
    assert out["choices"][0]["finish_reason"] == "tool_calls"


def test_usage_details_and_logprobs():
    fixture = _with(finishReason="COMPLETE",
                    message={"role": "ASSISTANT", "content": [{"type": "TEXT", "text": "Hi there"}]},
                    usage={"promptTokens": 5, "completionTokens": 40, "totalTokens": 45,
                           "completionTokensDetails": {"reasoningTokens": 32},
                           "promptTokensDetails": {"cachedTokens": 4}},
                    logProbabilities=[{"tokenIds": [1], "text": "Hi", "logProbabilities": [-0.5]},
                                      {"tokenIds": [2, 3], "text": " there", "logProbabilities": [-0.25, -0.25]}])
    out = from_cohere_v2_chat_response(fixture, model=MODEL, response_id="r")
    assert out["usage"] == {"prompt_tokens": 5, "completion_tokens": 40, "total_tokens": 45,
                            "prompt_tokens_details": {"cached_tokens": 4},
                            "completion_tokens_details": {"reasoning_tokens": 32}}
    assert out["choices"][0]["logprobs"] == {"refusal": None, "content": [
        {"token": "Hi", "logprob": -0.5, "bytes": list(b"Hi"), "top_logprobs": []},
        {"token": " there", "logprob": -0.5, "bytes": list(b" there"), "top_logprobs": []}]}


def test_missing_id_falls_back_to_the_gateway_id():
    fixture = {"chatResponse": {"apiFormat": "COHEREV2", "finishReason": "COMPLETE",
                                "message": {"role": "ASSISTANT", "content": [{"type": "TEXT", "text": "x"}]}}}
    assert from_cohere_v2_chat_response(fixture, model=MODEL, response_id="chatcmpl-9")["id"] == "chatcmpl-9"


def test_a_response_replays_as_the_next_request():
    reply = from_cohere_v2_chat_response(V2_RESPONSE, model=MODEL, response_id="r")["choices"][0]["message"]
    assistant = {"role": "assistant", "content": reply["content"], "tool_calls": reply["tool_calls"]}
    body = v2(openai([{"role": "user", "content": "Weather?"}, assistant,
                      {"role": "tool", "tool_call_id": "tc-1", "content": "sunny"}],
                     tools=[{"type": "function", "function": {"name": "weather"}}]))
    # The SDK marks content required on every V2 message: a tool-calling turn carries one space.
    assert body["messages"][1] == {"role": "ASSISTANT", "content": text(" "), "toolPlan": "Calling a tool",
                                   "toolCalls": V2_RESPONSE["chatResponse"]["message"]["toolCalls"]}
    assert body["messages"][2] == {"role": "TOOL", "toolCallId": "tc-1", "content": text("sunny")}


# ---------------------------------------------------------------- property-based

_image_part = st.sampled_from([{"type": "image_url", "image_url": {"url": IMAGE}},
                               {"type": "image_url", "image_url": {"url": IMAGE, "detail": "low"}}])


@st.composite
def v2_requests(draw) -> dict[str, Any]:
    messages = draw(conversations(end_with_tools=draw(st.booleans())))
    if draw(st.booleans()):  # sprinkle images into user turns
        for message in messages:
            if message["role"] == "user" and draw(st.booleans()):
                parts = message["content"] if isinstance(message["content"], list) else \
                    [{"type": "text", "text": message["content"]}]
                message["content"] = [*parts, draw(_image_part)]
    if draw(st.booleans()):  # V2 may also end on an assistant turn
        messages.append({"role": "assistant", "content": draw(st.text(max_size=20))})
    body: dict[str, Any] = {"model": VISION.id, "messages": messages}
    optional = {
        "temperature": st.floats(0, 1), "top_p": st.floats(0, 1), "top_k": st.integers(-1, 500),
        "seed": st.integers(0, 2**31), "stop": st.lists(st.text(min_size=1, max_size=5), max_size=4),
        "response_format": st.sampled_from([{"type": "json_object"}, {"type": "json_schema", "json_schema": {
            "name": "o", "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}}]),
        "tool_choice": st.sampled_from(["auto", "none", "required",
                                        {"type": "function", "function": {"name": "search"}}]),
        "reasoning_effort": st.sampled_from(["none", "minimal", "low", "medium", "high"]),
        "logprobs": st.booleans(), "max_tokens": st.integers(1, 8000),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            body[key] = draw(strategy)
    if "tool_choice" in body or draw(st.booleans()):
        body["tools"] = [*_TOOLS, NESTED] if draw(st.booleans()) else _TOOLS
    return body


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(v2_requests())
def test_any_valid_conversation_yields_a_body_the_sdk_accepts(body):
    request = parse_chat_request(body)
    chat_request = v2(body, info=VISION, max_tokens=request.max_tokens)
    assert len(chat_request["messages"]) == len(body["messages"])
    for message in chat_request["messages"]:
        assert message.get("content", [1]) != [] and message.get("toolCalls", [1]) != []
        assert all(p.get("text", "x") != "" for p in message.get("content", []))
        assert "content" in message or message.get("toolCalls")
    tool_ids = [m["toolCallId"] for m in chat_request["messages"] if m["role"] == "TOOL"]
    assert tool_ids == [m["tool_call_id"] for m in body["messages"] if m["role"] == "tool"]
    if "thinking" in chat_request and "tokenBudget" in chat_request["thinking"]:
        assert chat_request["thinking"]["tokenBudget"] <= max(1, request.max_tokens or VISION.max_output_tokens)
    json.dumps(chat_request)
