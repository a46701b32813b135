"""OpenAI chat <-> GENERIC: request bodies the oci SDK accepts, responses OpenAI clients expect."""

from __future__ import annotations

import pytest

from core.chat.common import finish_reason
from core.chat.generic import from_generic_chat_response, to_generic_chat_request
from core.chat.request import parse_chat_request
from tests.support.oci_sdk import assert_sdk_roundtrip, sdk_model

ENVELOPE = {"compartmentId": "ocid1.compartment.oc1..x",
            "servingMode": {"servingType": "ON_DEMAND", "modelId": "meta.llama-3.3-70b-instruct"}}


def generic(openai_body: dict, **kw) -> dict:
    return to_generic_chat_request(parse_chat_request(openai_body), **kw)


def test_text_conversation_maps_roles_params_and_passes_sdk():
    body = generic({
        "model": "meta.llama-3.3-70b-instruct",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi", "name": "ann"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": [{"type": "text", "text": "Tell "}, {"type": "text", "text": "a joke"}]},
        ],
        "max_tokens": 100, "temperature": 0.2, "top_p": 0.9, "stop": "END",
    })
    assert body == {
        "apiFormat": "GENERIC",
        "messages": [
            {"role": "SYSTEM", "content": [{"type": "TEXT", "text": "Be brief."}]},
            {"role": "USER", "content": [{"type": "TEXT", "text": "Hi"}], "name": "ann"},
            {"role": "ASSISTANT", "content": [{"type": "TEXT", "text": "Hello!"}]},
            {"role": "USER", "content": [{"type": "TEXT", "text": "Tell "}, {"type": "TEXT", "text": "a joke"}]},
        ],
        "maxTokens": 100, "temperature": 0.2, "topP": 0.9, "stop": ["END"],
    }
    assert_sdk_roundtrip({**ENVELOPE, "chatRequest": body}, "ChatDetails")


def test_default_max_tokens_and_max_completion_tokens():
    assert generic({"model": "m", "messages": [{"role": "user", "content": "x"}]},
                   default_max_tokens=777)["maxTokens"] == 777
    assert generic({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_completion_tokens": 9},
                   default_max_tokens=777)["maxTokens"] == 9


def test_stop_list_and_unicode_survive():
    body = generic({"model": "m", "messages": [{"role": "user", "content": "héllo ✓ 你好"}], "stop": ["\n\n", "Ω"]})
    assert body["stop"] == ["\n\n", "Ω"]
    assert body["messages"][0]["content"][0]["text"] == "héllo ✓ 你好"
    assert_sdk_roundtrip({**ENVELOPE, "chatRequest": body}, "ChatDetails")


def test_empty_user_content_never_sent_empty():
    body = generic({"model": "m", "messages": [{"role": "user", "content": ""}]})
    assert body["messages"][0]["content"] and all(p["text"] for p in body["messages"][0]["content"])


LLAMA = {"modelId": "meta.llama-3.3-70b-instruct", "modelVersion": "1.0.0", "chatResponse": {
    "apiFormat": "GENERIC", "timeCreated": "2026-09-18T19:46:59.025Z",
    "choices": [{"index": 0, "message": {"role": "ASSISTANT", "content": [
        {"type": "TEXT", "text": "Why did the OpenTelemetry span go to therapy?"}], "toolCalls": []},
        "finishReason": "stop", "logprobs": {}}],
    "usage": {"completionTokens": 35, "promptTokens": 43, "totalTokens": 78}}}


def test_response_maps_to_openai_completion():
    # the fixture is OCI's captured format, and the SDK reads it as such
    assert type(sdk_model(LLAMA, "ChatResult").chat_response).__name__ == "GenericChatResponse"
    out = from_generic_chat_response(LLAMA, model="meta.llama-3.3-70b-instruct", response_id="chatcmpl-1")
    assert out == {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1789760819,
        "model": "meta.llama-3.3-70b-instruct",
        "choices": [{"index": 0, "message": {"role": "assistant",
                                             "content": "Why did the OpenTelemetry span go to therapy?",
                                             "refusal": None},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 43, "completion_tokens": 35, "total_tokens": 78},
        "system_fingerprint": None,
    }


def test_openai_model_usage_details():
    result = {"chatResponse": {"apiFormat": "GENERIC", "timeCreated": "2026-09-18T19:47:07.230Z", "choices": [],
                               "usage": {"completionTokens": 39, "promptTokens": 25, "totalTokens": 64,
                                         "completionTokensDetails": {"reasoningTokens": 7},
                                         "promptTokensDetails": {"cachedTokens": 3}}}}
    usage = from_generic_chat_response(result, model="m", response_id="x")["usage"]
    assert usage["prompt_tokens_details"] == {"cached_tokens": 3}
    assert usage["completion_tokens_details"] == {"reasoning_tokens": 7}


@pytest.mark.parametrize("oci, has_tools, expected", [
    ("stop", False, "stop"), ("STOP", False, "stop"), ("COMPLETE", False, "stop"), (None, False, "stop"),
    ("length", False, "length"), ("MAX_TOKENS", False, "length"), ("ERROR_TOXIC", False, "content_filter"),
    ("content_filter", False, "content_filter"), ("tool_calls", False, "tool_calls"),
    ("STOP", True, "tool_calls"), ("COMPLETE", True, "tool_calls"), ("TOOL_CALL", False, "tool_calls"),
    ("STOP_SEQUENCE", False, "stop"), ("ERROR_LIMIT", False, "length"),
])
def test_finish_reasons_normalized(oci, has_tools, expected):
    assert finish_reason(oci, has_tools) == expected


def test_xai_usage_puts_reasoning_inside_completion_tokens():
    # As observed live: completionTokens leaves the reasoning out, totalTokens counts it.
    result = {"chatResponse": {"apiFormat": "GENERIC", "choices": [], "usage": {
        "promptTokens": 13, "completionTokens": 8, "totalTokens": 607,
        "completionTokensDetails": {"reasoningTokens": 586}}}}
    usage = from_generic_chat_response(result, model="m", response_id="x")["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (13, 594, 607)
    assert usage["completion_tokens_details"] == {"reasoning_tokens": 586}


def test_gemini_tool_and_response_schemas_get_inclusive_bounds():
    from core.catalog import lookup

    schema = {"type": "object", "properties": {
        "n": {"type": "integer", "exclusiveMinimum": 0, "maximum": 5, "exclusiveMaximum": 10},
        "x": {"type": "number", "minimum": 1, "exclusiveMinimum": True},
        "items": {"type": "array", "items": {"type": "number", "exclusiveMaximum": 2.5}}}}
    body = {"model": "google.gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": schema}}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": schema}}}
    sent = to_generic_chat_request(parse_chat_request(body), lookup("google.gemini-2.5-flash"), max_tokens=10)
    expected = {"type": "object", "properties": {
        "n": {"type": "integer", "minimum": 1, "maximum": 5},
        "x": {"type": "number", "minimum": 1},
        "items": {"type": "array", "items": {"type": "number", "maximum": 2.5}}}}
    assert sent["tools"][0]["parameters"] == expected
    assert sent["responseFormat"]["jsonSchema"]["schema"] == expected
    llama = to_generic_chat_request(parse_chat_request({**body, "model": "meta.llama-3.3-70b-instruct"}),
                                    lookup("meta.llama-3.3-70b-instruct"), max_tokens=10)
    assert llama["tools"][0]["parameters"]["properties"]["n"]["exclusiveMinimum"] == 0  # others keep them
