"""OpenAI chat <-> COHERE (v1): request bodies the oci SDK accepts, responses OpenAI clients expect."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.catalog import lookup
from core.chat.cohere import from_cohere_chat_response, needs_v2, to_cohere_chat_request
from core.chat.common import tool_call_id
from core.chat.request import parse_chat_request
from core.errors import APIError
from tests.support.oci_sdk import assert_sdk_roundtrip, sdk_model

MODEL = "cohere.command-r-plus-08-2024"
INFO = lookup(MODEL)
COMPARTMENT = "ocid1.compartment.oc1..x"
ON_DEMAND = {"servingType": "ON_DEMAND", "modelId": MODEL}
DEDICATED = {"servingType": "DEDICATED", "endpointId": "ocid1.generativeaiendpoint.oc1..x"}

WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City"}},
                   "required": ["city"]}}}


def openai(messages: list[dict[str, Any]], **params: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": messages, **params}


def cohere(body: dict[str, Any], *, max_tokens: int | None = None, serving: dict[str, Any] = ON_DEMAND,
           info=INFO) -> dict[str, Any]:
    """Translate, and prove the result is a ChatDetails the oci SDK reads and writes back unchanged."""
    chat_request = to_cohere_chat_request(parse_chat_request(body), info, max_tokens=max_tokens)
    assert_sdk_roundtrip({"compartmentId": COMPARTMENT, "servingMode": serving, "chatRequest": chat_request},
                         "ChatDetails")
    return chat_request


def call(id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"id": id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


# ---------------------------------------------------------------- messages and parameters


def test_reproduces_the_captured_oci_request():
    """A real captured request (traceloop's test_cohere_chat_legacy.yaml), from the OpenAI equivalent."""
    body = cohere(openai([
        {"role": "system", "content": "You are a terse assistant."},
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi! How can I help?"},
        {"role": "user", "content": "Tell me a joke about opentelemetry"},
    ], temperature=0.3, top_p=0.8, seed=42, stop=["END"]), max_tokens=100)
    assert body == {"apiFormat": "COHERE", "message": "Tell me a joke about opentelemetry",
                    "chatHistory": [{"role": "USER", "message": "Hello"},
                                    {"role": "CHATBOT", "message": "Hi! How can I help?"}],
                    "preambleOverride": "You are a terse assistant.", "maxTokens": 100, "temperature": 0.3,
                    "topP": 0.8, "seed": 42, "stopSequences": ["END"]}


def test_every_sampling_parameter_maps_to_its_cohere_name():
    body = cohere(openai([{"role": "user", "content": "x"}], temperature=0.5, top_p=0.9, top_k=40,
                         frequency_penalty=0.25, presence_penalty=0.5, seed=7, stop="STOP"), max_tokens=321)
    assert body == {"apiFormat": "COHERE", "message": "x", "maxTokens": 321, "temperature": 0.5, "topK": 40,
                    "topP": 0.9, "frequencyPenalty": 0.25, "presencePenalty": 0.5, "seed": 7,
                    "stopSequences": ["STOP"]}
    assert "isStream" not in body and "maxTokens" not in cohere(openai([{"role": "user", "content": "x"}]))


def test_top_k_minus_one_is_off_and_above_500_is_a_400():
    assert cohere(openai([{"role": "user", "content": "x"}], top_k=-1))["topK"] == 0
    with pytest.raises(APIError) as err:
        cohere(openai([{"role": "user", "content": "x"}], top_k=501))
    assert (err.value.status, err.value.param) == (400, "top_k")


def test_system_and_developer_messages_join_into_the_preamble():
    body = cohere(openai([
        {"role": "system", "content": "Rule one."},
        {"role": "user", "content": "a"},
        {"role": "developer", "content": [{"type": "text", "text": "Rule two."}]},
        {"role": "user", "content": "b"},
    ]))
    assert body["preambleOverride"] == "Rule one.\nRule two."
    assert body["chatHistory"] == [{"role": "USER", "message": "a"}]
    assert body["message"] == "b"


def test_user_parts_are_joined_and_empty_text_is_never_sent():
    body = cohere(openai([
        {"role": "user", "content": ""},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": [{"type": "text", "text": "Tell "}, {"type": "text", "text": "a joke"}],
         "name": "ann"},
    ]))
    assert body["message"] == "Tell a joke"
    assert body["chatHistory"] == [{"role": "USER", "message": " "}, {"role": "CHATBOT", "message": " "}]


def test_tool_round_trip_in_history_keeps_the_question_before_the_results():
    body = cohere(openai([
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "Checking.", "tool_calls": [call("c1", "get_weather", {"city": "Paris"})]},
        {"role": "tool", "tool_call_id": "c1", "content": '{"temp_c": 21}'},
        {"role": "assistant", "content": "21 degrees."},
        {"role": "user", "content": "Thanks! And tomorrow?"},
    ], tools=[WEATHER_TOOL]))
    assert body["message"] == "Thanks! And tomorrow?"
    assert body["chatHistory"] == [
        {"role": "USER", "message": "Weather in Paris?"},
        {"role": "CHATBOT", "message": "Checking.",
         "toolCalls": [{"name": "get_weather", "parameters": {"city": "Paris"}}]},
        {"role": "TOOL", "toolResults": [{"call": {"name": "get_weather", "parameters": {"city": "Paris"}},
                                          "outputs": [{"temp_c": 21}]}]},
        {"role": "CHATBOT", "message": "21 degrees."},
    ]
    assert "toolResults" not in body


def test_agentic_continuation_sends_empty_message_and_top_level_results():
    body = cohere(openai([
        {"role": "system", "content": "Use tools."},
        {"role": "user", "content": "Weather in Paris and Lyon?"},
        {"role": "assistant", "content": None, "tool_calls": [call("a", "get_weather", {"city": "Paris"}),
                                                              call("b", "get_weather", {"city": "Lyon"})]},
        {"role": "tool", "tool_call_id": "a", "content": "sunny"},
        {"role": "tool", "tool_call_id": "b", "content": [{"type": "text", "text": '{"sky": "rain"}'}]},
    ], tools=[WEATHER_TOOL]))
    assert body["message"] == ""
    # the question stays first, where the user asked it (not moved after the results)
    assert body["chatHistory"] == [
        {"role": "USER", "message": "Weather in Paris and Lyon?"},
        {"role": "CHATBOT", "toolCalls": [{"name": "get_weather", "parameters": {"city": "Paris"}},
                                          {"name": "get_weather", "parameters": {"city": "Lyon"}}]},
    ]
    assert body["toolResults"] == [
        {"call": {"name": "get_weather", "parameters": {"city": "Paris"}}, "outputs": [{"output": "sunny"}]},
        {"call": {"name": "get_weather", "parameters": {"city": "Lyon"}}, "outputs": [{"sky": "rain"}]},
    ]
    assert body["preambleOverride"] == "Use tools."


def test_multi_step_agent_keeps_earlier_results_in_history_and_merges_parallel_ones():
    body = cohere(openai([
        {"role": "user", "content": "Plan a trip"},
        {"role": "assistant", "tool_calls": [call("a", "get_weather", {"city": "Paris"}),
                                             call("b", "get_weather", {"city": "Rome"})]},
        {"role": "tool", "tool_call_id": "b", "content": "[1, 2]"},
        {"role": "tool", "tool_call_id": "a", "content": "hot"},
        {"role": "assistant", "content": "Now flights.", "tool_calls": [call("c", "get_weather", {"city": "Oslo"})]},
        {"role": "tool", "tool_call_id": "c", "content": "cold"},
    ], tools=[WEATHER_TOOL]))
    assert body["message"] == ""
    history = body["chatHistory"]
    assert [h["role"] for h in history] == ["USER", "CHATBOT", "TOOL", "CHATBOT"]
    # results matched to calls by id, in the order the caller sent them; a JSON array is not an object
    assert history[2]["toolResults"] == [
        {"call": {"name": "get_weather", "parameters": {"city": "Rome"}}, "outputs": [{"output": "[1, 2]"}]},
        {"call": {"name": "get_weather", "parameters": {"city": "Paris"}}, "outputs": [{"output": "hot"}]},
    ]
    assert history[3] == {"role": "CHATBOT", "message": "Now flights.",
                          "toolCalls": [{"name": "get_weather", "parameters": {"city": "Oslo"}}]}
    assert body["toolResults"] == [{"call": {"name": "get_weather", "parameters": {"city": "Oslo"}},
                                    "outputs": [{"output": "cold"}]}]


def test_dedicated_serving_mode_body_is_accepted():
    body = cohere(openai([{"role": "user", "content": "hi"}], tools=[WEATHER_TOOL]), max_tokens=50,
                  serving=DEDICATED)
    assert body["message"] == "hi" and body["tools"][0]["name"] == "get_weather"


def test_bad_tool_call_arguments_are_a_400_naming_them():
    for arguments, problem in (("{oops", "not valid JSON"), ("[1]", "JSON object")):
        request = openai([
            {"role": "user", "content": "x"},
            {"role": "assistant", "tool_calls": [{"id": "c", "type": "function",
                                                  "function": {"name": "get_weather", "arguments": arguments}}]},
            {"role": "tool", "tool_call_id": "c", "content": "r"},
        ], tools=[WEATHER_TOOL])
        with pytest.raises(APIError) as err:
            cohere(request)
        assert err.value.param == "messages[1].tool_calls[0].function.arguments"
        assert problem in err.value.message


def test_empty_arguments_mean_no_parameters():
    body = cohere(openai([
        {"role": "user", "content": "x"},
        {"role": "assistant", "tool_calls": [{"id": "c", "type": "function",
                                              "function": {"name": "get_weather", "arguments": ""}}]},
        {"role": "tool", "tool_call_id": "c", "content": "r"},
    ], tools=[WEATHER_TOOL]))
    assert body["toolResults"][0]["call"] == {"name": "get_weather", "parameters": {}}


# ---------------------------------------------------------------- tools


def test_tool_definitions_are_flat_python_typed_with_constraints_in_the_description():
    tool = {"type": "function", "function": {"name": "search", "parameters": {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "What to look for.", "minLength": 1},
            "limit": {"type": "integer", "minimum": 1, "maximum": 50, "default": 10},
            "ratio": {"type": "number", "exclusiveMinimum": 0},
            "exact": {"type": "boolean"},
            "unit": {"type": "string", "enum": ["c", "f"]},
            "when": {"type": "string", "format": "date-time"},
            "code": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "ids": {"type": "array", "items": {"type": "integer"}, "maxItems": 5},
            "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
            "grid": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
            "extra": {"type": "object", "description": "Anything else"},
            "anything": {"type": "array"},
        },
        "required": ["query", "unit"]}}}
    body = cohere(openai([{"role": "user", "content": "x"}], tools=[tool]))
    assert body["tools"] == [{"name": "search", "description": "search", "parameterDefinitions": {
        "query": {"type": "str", "description": "What to look for. Minimum length: 1", "isRequired": True},
        "limit": {"type": "int", "description": "Default: 10. Range: >= 1, <= 50", "isRequired": False},
        "ratio": {"type": "float", "description": "Range: > 0", "isRequired": False},
        "exact": {"type": "bool", "isRequired": False},
        "unit": {"type": "str", "description": 'Allowed values: "c", "f"', "isRequired": True},
        "when": {"type": "str", "description": "Format: date-time", "isRequired": False},
        "code": {"type": "str", "description": "Pattern: ^[A-Z]{3}$", "isRequired": False},
        "ids": {"type": "List[int]", "description": "Maximum items: 5", "isRequired": False},
        "tags": {"type": "List[str]", "description": 'Allowed item values: "a", "b"', "isRequired": False},
        "grid": {"type": "List[List[float]]", "isRequired": False},
        "extra": {"type": "Dict", "description": "Anything else", "isRequired": False},
        "anything": {"type": "List", "isRequired": False},
    }}]


def test_pydantic_style_schema_is_simplified_before_flattening():
    pydantic_schema = {
        "$defs": {"Unit": {"enum": ["c", "f"], "title": "Unit", "type": "string"}},
        "properties": {"city": {"title": "City", "type": "string"},
                       "unit": {"anyOf": [{"$ref": "#/$defs/Unit"}, {"type": "null"}], "default": None}},
        "required": ["city"], "title": "Weather", "type": "object"}
    body = cohere(openai([{"role": "user", "content": "x"}], tools=[
        {"type": "function", "function": {"name": "weather", "description": "Weather.",
                                          "parameters": pydantic_schema}}]))
    assert body["tools"] == [{"name": "weather", "description": "Weather.", "parameterDefinitions": {
        "city": {"type": "str", "isRequired": True},
        "unit": {"type": "str", "description": 'Allowed values: "c", "f"', "isRequired": False}}}]


def test_tool_without_parameters_sends_no_definitions():
    body = cohere(openai([{"role": "user", "content": "x"}],
                         tools=[{"type": "function", "function": {"name": "now"}}]))
    assert body["tools"] == [{"name": "now", "description": "now"}]


def test_tool_choice_none_sends_no_tools_and_auto_sends_them():
    messages = [{"role": "user", "content": "x"}]
    assert "tools" not in cohere(openai(messages, tools=[WEATHER_TOOL], tool_choice="none"))
    assert cohere(openai(messages, tools=[WEATHER_TOOL], tool_choice="auto"))["tools"][0]["name"] == "get_weather"


def test_schema_no_format_can_take_is_a_400_not_a_v2_switch():
    tool = {"type": "function", "function": {"name": "f", "parameters": {
        "type": "object", "properties": {"v": {"anyOf": [{"type": "string"}, {"type": "integer"}]}}}}}
    request = parse_chat_request(openai([{"role": "user", "content": "x"}], tools=[tool]))
    assert needs_v2(request) is None
    with pytest.raises(APIError) as err:
        to_cohere_chat_request(request, INFO, max_tokens=None)
    assert (err.value.status, err.value.param) == (400, "tools[0].function.parameters")


# ---------------------------------------------------------------- what needs COHEREV2

NESTED = {"type": "function", "function": {"name": "book", "parameters": {
    "type": "object", "properties": {"trip": {"type": "object", "properties": {"from": {"type": "string"}}}}}}}
ARRAY_OF_OBJECTS = {"type": "function", "function": {"name": "book", "parameters": {
    "type": "object", "properties": {"legs": {"type": "array", "items": {
        "type": "object", "properties": {"from": {"type": "string"}}}}}}}}
V2_CASES = {
    "image": (openai([{"role": "user", "content": [
        {"type": "text", "text": "what is this"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]), "messages[0].content"),
    "reasoning": (openai([{"role": "user", "content": "x"}], reasoning_effort="high"), "reasoning_effort"),
    "nested object": (openai([{"role": "user", "content": "x"}], tools=[NESTED]),
                      "tools[0].function.parameters.properties.trip"),
    "array of objects": (openai([{"role": "user", "content": "x"}], tools=[ARRAY_OF_OBJECTS]),
                         "tools[0].function.parameters.properties.legs.items"),
    "hyphenated tool name": (openai([{"role": "user", "content": "x"}], tools=[
        {"type": "function", "function": {"name": "get-weather"}}]), "tools[0].function.name"),
    "forced tool": (openai([{"role": "user", "content": "x"}], tools=[WEATHER_TOOL], tool_choice="required"),
                    "tool_choice"),
    "named tool": (openai([{"role": "user", "content": "x"}], tools=[WEATHER_TOOL],
                          tool_choice={"type": "function", "function": {"name": "get_weather"}}), "tool_choice"),
    "logprobs": (openai([{"role": "user", "content": "x"}], logprobs=True), "logprobs"),
    "ends with assistant": (openai([{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]),
                            "messages[1]"),
    "no user message": (openai([{"role": "system", "content": "x"}]), "messages"),
}


@pytest.mark.parametrize("case", sorted(V2_CASES))
def test_what_v1_cannot_express_is_reported_and_is_a_400_in_v1(case):
    body, param = V2_CASES[case]
    request = parse_chat_request(body)
    assert needs_v2(request)
    with pytest.raises(APIError) as err:
        to_cohere_chat_request(request, INFO, max_tokens=None)
    assert (err.value.status, err.value.param) == (400, param)
    assert MODEL in err.value.message and "COHERE" in err.value.message


def test_plain_requests_do_not_need_v2():
    assert needs_v2(parse_chat_request(openai([{"role": "user", "content": "x"}], tools=[WEATHER_TOOL],
                                              reasoning_effort="none"))) is None
    # a nested schema only matters when tools are actually sent
    assert needs_v2(parse_chat_request(openai([{"role": "user", "content": "x"}], tools=[NESTED],
                                              tool_choice="none"))) is None


# ---------------------------------------------------------------- response_format


def test_response_format_json_object_json_schema_and_text():
    messages = [{"role": "user", "content": "x"}]
    assert cohere(openai(messages, response_format={"type": "json_object"}))["responseFormat"] == \
        {"type": "JSON_OBJECT"}
    schema = {"$defs": {"P": {"type": "object", "title": "P", "properties": {"n": {"type": "integer"}}}},
              "type": "object", "properties": {"p": {"$ref": "#/$defs/P"}}, "title": "Out"}
    body = cohere(openai(messages, response_format={"type": "json_schema", "json_schema": {
        "name": "out", "schema": schema, "strict": True}}))
    assert body["responseFormat"] == {"type": "JSON_OBJECT", "schema": {
        "type": "object", "properties": {"p": {"type": "object", "properties": {"n": {"type": "integer"}}}}}}
    assert "responseFormat" not in cohere(openai(messages, response_format={"type": "text"}))


def test_unrepresentable_json_schema_is_a_400():
    with pytest.raises(APIError) as err:
        cohere(openai([{"role": "user", "content": "x"}], response_format={"type": "json_schema", "json_schema": {
            "name": "o", "schema": {"type": ["string", "integer"]}}}))
    assert err.value.param == "response_format.json_schema.schema"


# ---------------------------------------------------------------- responses (captured COHERE answers)

JOKE = {"modelId": "cohere.command-a-03-2025", "modelVersion": "1.0", "chatResponse": {
    "apiFormat": "COHERE", "text": "Why did the OpenTelemetry span cross the road?\n\nTo trace the other side.",
    "chatHistory": [{"role": "USER", "message": "Hello"}, {"role": "CHATBOT", "message": "Hi! How can I help?"},
                    {"role": "USER", "message": "Tell me a joke about opentelemetry"},
                    {"role": "CHATBOT",
                     "message": "Why did the OpenTelemetry span cross the road?\n\nTo trace the other side."}],
    "finishReason": "COMPLETE", "usage": {"completionTokens": 18, "promptTokens": 22, "totalTokens": 40}}}

NULL_FINISH = {"modelId": "cohere.command-a-03-2025", "modelVersion": "1.0", "chatResponse": {
    "apiFormat": "COHERE", "text": "Why did the OpenTelemetry span cross the road?\n\nTo trace the other side.<|",
    "chatHistory": [{"role": "USER", "message": "Hello"}], "finishReason": None,
    "usage": {"completionTokens": 19, "promptTokens": 22, "totalTokens": 41}}}

TOOL_CALLS = {"modelId": "cohere.command-r-plus-08-2024", "modelVersion": "1.6", "chatResponse": {
    "apiFormat": "COHERE", "text": "I will look up the weather in Tokyo.", "finishReason": "COMPLETE",
    "toolCalls": [{"name": "get_weather", "parameters": {"location": "Tokyo"}}],
    "chatHistory": [{"role": "USER", "message": "Weather in Tokyo?"},
                    {"role": "CHATBOT", "message": "I will look up the weather in Tokyo.",
                     "toolCalls": [{"name": "get_weather", "parameters": {"location": "Tokyo"}}]}],
    "usage": {"promptTokens": 26, "completionTokens": 22, "totalTokens": 48}}}


@pytest.mark.parametrize("fixture", [JOKE, NULL_FINISH, TOOL_CALLS])
def test_fixtures_are_ocis_cohere_format(fixture):
    assert type(sdk_model(fixture, "ChatResult").chat_response).__name__ == "CohereChatResponse"


def test_text_response_maps_to_an_openai_completion():
    before = int(time.time())
    out = from_cohere_chat_response(JOKE, model="cohere.command-a-03-2025", response_id="chatcmpl-1")
    created = out.pop("created")
    assert before <= created <= int(time.time()) + 1  # Cohere has no timestamp: now
    assert out == {
        "id": "chatcmpl-1", "object": "chat.completion", "model": "cohere.command-a-03-2025",
        "choices": [{"index": 0, "message": {
            "role": "assistant", "refusal": None,
            "content": "Why did the OpenTelemetry span cross the road?\n\nTo trace the other side."},
            "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 22, "completion_tokens": 18, "total_tokens": 40},
        "system_fingerprint": None,
    }


def test_null_finish_reason_is_stop():
    out = from_cohere_chat_response(NULL_FINISH, model="m", response_id="r")
    assert out["choices"][0]["finish_reason"] == "stop"
    assert out["usage"] == {"prompt_tokens": 22, "completion_tokens": 19, "total_tokens": 41}


def test_tool_calls_get_stable_ids_keep_the_text_and_finish_as_tool_calls():
    out = from_cohere_chat_response(TOOL_CALLS, model=MODEL, response_id="chatcmpl-2")
    arguments = '{"location": "Tokyo"}'
    assert out["choices"][0] == {"index": 0, "logprobs": None, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": "I will look up the weather in Tokyo.", "refusal": None,
        "tool_calls": [{"id": tool_call_id("get_weather", arguments, 0), "type": "function",
                        "function": {"name": "get_weather", "arguments": arguments}}]}}
    again = from_cohere_chat_response(TOOL_CALLS, model=MODEL, response_id="chatcmpl-3")
    assert again["choices"][0]["message"]["tool_calls"] == out["choices"][0]["message"]["tool_calls"]
    assert out["usage"] == {"prompt_tokens": 26, "completion_tokens": 22, "total_tokens": 48}


def test_replaying_a_synthesized_id_maps_back_to_the_call():
    reply = from_cohere_chat_response(TOOL_CALLS, model=MODEL, response_id="r")["choices"][0]["message"]
    body = cohere(openai([
        {"role": "user", "content": "Weather in Tokyo?"},
        {k: v for k, v in reply.items() if k != "refusal"},
        {"role": "tool", "tool_call_id": reply["tool_calls"][0]["id"], "content": '{"temp_c": 18}'},
    ], tools=[WEATHER_TOOL]))
    # the same shape Cohere itself put in chatHistory, and the result tied to that call
    assert body["chatHistory"] == TOOL_CALLS["chatResponse"]["chatHistory"]
    assert body["toolResults"] == [{"call": {"name": "get_weather", "parameters": {"location": "Tokyo"}},
                                    "outputs": [{"temp_c": 18}]}]


@pytest.mark.parametrize("reason,expected", [("MAX_TOKENS", "length"), ("ERROR_LIMIT", "length"),
                                             ("ERROR_TOXIC", "content_filter"), ("ERROR", "stop"),
                                             ("USER_CANCEL", "stop")])
def test_finish_reasons(reason, expected):
    fixture = {**JOKE, "chatResponse": {**JOKE["chatResponse"], "finishReason": reason}}
    sdk_model(fixture, "ChatResult")
    assert from_cohere_chat_response(fixture, model="m", response_id="r")["choices"][0]["finish_reason"] == expected


def test_tool_calls_without_text_have_null_content():
    fixture = {"chatResponse": {"apiFormat": "COHERE", "text": "", "finishReason": "COMPLETE",
                                "toolCalls": [{"name": "a", "parameters": {}}, {"name": "b", "parameters": {"x": 1}}]}}
    message = from_cohere_chat_response(fixture, model="m", response_id="r")["choices"][0]["message"]
    assert message["content"] is None
    ids = [c["id"] for c in message["tool_calls"]]
    assert ids == [tool_call_id("a", "{}", 0), tool_call_id("b", '{"x": 1}', 1)] and len(set(ids)) == 2


# ---------------------------------------------------------------- property-based

_text = st.text(max_size=40)
_name = st.sampled_from(["get_weather", "search", "lookup_user"])
_args = st.dictionaries(st.text(min_size=1, max_size=8), st.one_of(st.integers(-10**6, 10**6), _text,
                                                                   st.booleans(), st.none()), max_size=3)
_TOOLS = [{"type": "function", "function": {"name": n, "description": f"{n} tool", "parameters": {
    "type": "object", "properties": {"q": {"type": "string"}, "n": {"type": "integer"}}, "required": ["q"]}}}
    for n in ("get_weather", "search", "lookup_user")]


@st.composite
def _tool_exchange(draw, prefix: str) -> list[dict[str, Any]]:
    """An assistant turn with 1-3 calls and the results for all of them (any order)."""
    calls = [{"id": f"{prefix}_{i}", "type": "function",
              "function": {"name": draw(_name), "arguments": json.dumps(draw(_args))}}
             for i in range(draw(st.integers(1, 3)))]
    results = [{"role": "tool", "tool_call_id": c["id"],
                "content": draw(st.one_of(_text, _args.map(json.dumps)))} for c in draw(st.permutations(calls))]
    return [{"role": "assistant", "content": draw(st.one_of(st.none(), _text)), "tool_calls": calls}, *results]


@st.composite
def conversations(draw, *, end_with_tools: bool | None = None) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if draw(st.booleans()):
        messages.append({"role": draw(st.sampled_from(["system", "developer"])), "content": draw(_text)})
    for turn in range(draw(st.integers(1, 4))):
        if turn and draw(st.booleans()):
            messages.append({"role": "system", "content": draw(_text)})
        content = draw(st.one_of(_text, st.lists(_text.map(lambda t: {"type": "text", "text": t}), max_size=3)))
        messages.append({"role": "user", "content": content})
        for step in range(draw(st.integers(0, 2))):
            messages.extend(draw(_tool_exchange(f"t{turn}{step}")))
        if draw(st.booleans()):
            messages.append({"role": "assistant", "content": draw(_text)})
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    if messages[-1]["role"] == "assistant":  # v1 continues a user turn or tool results, nothing else
        messages.append({"role": "user", "content": draw(_text)})
    elif end_with_tools and last_user == len(messages) - 1:
        messages.extend(draw(_tool_exchange("end")))
    return messages


@st.composite
def v1_requests(draw) -> dict[str, Any]:
    body: dict[str, Any] = {"model": MODEL, "messages": draw(conversations(end_with_tools=draw(st.booleans())))}
    optional = {
        "temperature": st.floats(0, 1), "top_p": st.floats(0, 1), "top_k": st.integers(-1, 500),
        "frequency_penalty": st.floats(0, 1), "presence_penalty": st.floats(0, 1), "seed": st.integers(0, 2**31),
        "stop": st.one_of(_text, st.lists(st.text(min_size=1, max_size=5), max_size=4)),
        "response_format": st.sampled_from([{"type": "text"}, {"type": "json_object"}, {
            "type": "json_schema", "json_schema": {"name": "o", "schema": {
                "type": "object", "properties": {"a": {"type": "string"}}}}}]),
        "tools": st.just(_TOOLS), "tool_choice": st.sampled_from(["auto", "none"]),
        "max_tokens": st.integers(1, 4000),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            body[key] = draw(strategy)
    if "tool_choice" in body:
        body["tools"] = _TOOLS
    return body


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(v1_requests())
def test_any_valid_conversation_yields_a_body_the_sdk_accepts(body):
    request = parse_chat_request(body)
    assert needs_v2(request) is None
    chat_request = cohere(body, max_tokens=request.max_tokens)
    # structure invariants: nothing empty, every tool result tied to a named call
    results = list(chat_request.get("toolResults", []))
    for entry in chat_request.get("chatHistory", []):
        assert entry.get("message", "x") != ""
        results.extend(entry.get("toolResults", []))
        assert entry.get("toolCalls", [1]) != []
    assert all(r["call"]["name"] in {"get_weather", "search", "lookup_user"} for r in results)
    assert sum(1 for m in body["messages"] if m["role"] == "tool") == len(results)
    assert (chat_request["message"] == "") == bool(chat_request.get("toolResults"))
