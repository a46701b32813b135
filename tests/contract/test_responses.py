"""``/v1/responses`` with the official ``openai`` SDK (``responses.create`` / ``responses.parse``) through the real
fdk and the OCI emulator: every answer is parsed by the SDK's own models, every upstream call is a signed OCI
chat call the emulator accepted."""

from __future__ import annotations

import base64
import json

import openai
import pytest
from openai.types.responses import Response
from pydantic import BaseModel

from tests.contract.conftest import CHAT_MODEL, chat_calls

pytestmark = pytest.mark.integration

PNG = "data:image/png;base64," + base64.b64encode(
    bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                  "1f15c4890000000d49444154789c6300010000050001"
                  "0d0a2db40000000049454e44ae426082")).decode()
VISION_MODEL = "meta.llama-4-maverick-17b-128e-instruct-fp8"
WEATHER = {"type": "function", "name": "get_weather", "description": "Current weather in a city", "strict": True,
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                          "additionalProperties": False}}


@pytest.fixture
def client(front) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{front.url}/v1", api_key="sk-anything", max_retries=0)


def upstream(emulator, index: int = -1) -> dict:
    return chat_calls(emulator)[index].json["chatRequest"]


def strictly_valid(response: Response) -> Response:
    """The SDK's lenient parse accepted it; the strict pydantic validation of the same body must too."""
    return Response.model_validate(response.model_dump(mode="json", exclude_unset=True))


def test_text_with_instructions(client, emulator):
    response = client.responses.create(model=CHAT_MODEL, instructions="Be brief.", input="Hello there",
                                       metadata={"ticket": "T-1"})
    strictly_valid(response)
    assert response.id.startswith("resp_") and response.object == "response" and response.model == CHAT_MODEL
    assert response.status == "completed" and response.output_text == "Echo: Hello there"
    [message] = response.output
    assert message.type == "message" and message.role == "assistant" and message.id.startswith("msg_")
    assert response.metadata == {"ticket": "T-1"} and response.instructions == "Be brief."
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens > 0
    sent = upstream(emulator)
    assert [m["role"] for m in sent["messages"]] == ["SYSTEM", "USER"]
    assert sent["messages"][0]["content"][0]["text"] == "Be brief."
    assert "metadata" not in sent  # the response's own metadata is not a model parameter


def test_image_input(client, emulator):
    response = client.responses.create(model=VISION_MODEL, input=[{"role": "user", "content": [
        {"type": "input_text", "text": "What is this?"},
        {"type": "input_image", "image_url": PNG, "detail": "high"}]}])
    assert "[image]" in response.output_text
    part = upstream(emulator)["messages"][0]["content"][1]
    assert part["type"] == "IMAGE" and part["imageUrl"]["url"] == PNG


def test_image_errors_name_the_responses_field(client, emulator):
    with pytest.raises(openai.BadRequestError) as no_vision:
        client.responses.create(model=CHAT_MODEL, input=[{"role": "user", "content": [
            {"type": "input_text", "text": "x"}, {"type": "input_image", "image_url": PNG}]}])
    assert no_vision.value.body["code"] == "image_not_supported"
    assert no_vision.value.body["param"] == "input[0].content[1].image_url"
    with pytest.raises(openai.BadRequestError) as fenced:  # the same SSRF fence as chat: no loopback fetches
        client.responses.create(model=VISION_MODEL, input=[{"role": "user", "content": [
            {"type": "input_text", "text": "x"}, {"type": "input_image", "image_url": "http://127.0.0.1:9/cat.png"}]}])
    assert fenced.value.body["param"] == "input[0].content[1].image_url"
    assert chat_calls(emulator) == []


def test_function_tool_round_trip(client, emulator):
    first = client.responses.create(model=CHAT_MODEL, input="What is the weather in Lima", tools=[WEATHER])
    strictly_valid(first)
    [call] = first.output
    assert call.type == "function_call" and call.name == "get_weather" and call.status == "completed"
    assert json.loads(call.arguments) == {"city": "Lima"} and call.id.startswith("fc_")
    tools = upstream(emulator)["tools"]
    assert tools == [{"type": "FUNCTION", "name": "get_weather", "description": "Current weather in a city",
                      "parameters": WEATHER["parameters"]}]
    second = client.responses.create(model=CHAT_MODEL, tools=[WEATHER], input=[
        {"role": "user", "content": "What is the weather in Lima"}, *[item.model_dump() for item in first.output],
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny, 24 C"}])
    assert second.output_text == "Echo: sunny, 24 C"
    messages = upstream(emulator)["messages"]
    assert [m["role"] for m in messages] == ["USER", "ASSISTANT", "TOOL"]
    assert messages[1]["toolCalls"][0]["id"] == call.call_id and messages[2]["toolCallId"] == call.call_id


def test_json_schema_output_parses(client, emulator):
    class Weather(BaseModel):
        city: str
        celsius: int

    parsed = client.responses.parse(model=CHAT_MODEL, input="Weather in Oslo", text_format=Weather)
    assert isinstance(parsed.output_parsed, Weather) and parsed.output_parsed.city == "Oslo"
    fmt = upstream(emulator)["responseFormat"]
    assert fmt["type"] == "JSON_SCHEMA" and fmt["jsonSchema"]["name"] == "Weather"
    assert fmt["jsonSchema"]["isStrict"] is True


def test_reasoning_model_returns_its_reasoning(client, emulator):
    response = client.responses.create(model="openai.gpt-oss-120b", input="Why is the sky blue",
                                       reasoning={"effort": "low", "summary": "auto"}, max_output_tokens=500)
    strictly_valid(response)
    reasoning, message = response.output
    assert reasoning.type == "reasoning" and reasoning.summary[0].text == "Thinking about: Why is the sky blue"
    assert message.type == "message" and response.output_text == "Echo: Why is the sky blue"
    assert response.usage.output_tokens_details.reasoning_tokens > 0
    sent = upstream(emulator)
    assert sent["reasoningEffort"] == "LOW" and sent["maxCompletionTokens"] == 500


def test_per_model_rules_apply_in_responses_terms(client, emulator):
    # Llama 3.3 has no reasoning knob: the effort is dropped (as on chat) and named in Responses terms.
    raw = client.responses.with_raw_response.create(model=CHAT_MODEL, input="x", reasoning={"effort": "high"})
    assert raw.headers["x-gateway-dropped-params"] == "reasoning.effort"
    assert "reasoningEffort" not in chat_calls(emulator)[-1].json["chatRequest"]
    calls_before = len(chat_calls(emulator))
    with pytest.raises(openai.BadRequestError) as too_many:
        client.responses.create(model=CHAT_MODEL, input="x", max_output_tokens=10**6)
    assert too_many.value.body["param"] == "max_output_tokens"
    assert len(chat_calls(emulator)) == calls_before  # refused before OCI


def test_incomplete_when_the_token_limit_cuts_the_answer(client, emulator):
    response = client.responses.create(model=CHAT_MODEL, input="one two three four five six", max_output_tokens=3)
    assert response.status == "incomplete" and response.incomplete_details.reason == "max_output_tokens"
    assert response.output_text == "Echo: one two"


def test_bad_requests_are_precise(client, emulator):
    cases = [
        ({"input": [{"type": "function_call", "name": "f", "arguments": "{}"}]}, "input[0].call_id"),
        ({"input": "x", "temprature": 1}, "temprature"),
        ({"input": "x", "background": True}, "background"),
        ({"input": "x", "conversation": "conv_1"}, "conversation"),
        ({"input": [{"type": "telepathy"}]}, "input[0].type"),
        ({"input": "x", "tools": [{"type": "web_search"}], "tool_choice": {"type": "web_search"}}, "tool_choice"),
        ({"input": "x", "previous_response_id": "resp_1"}, "previous_response_id"),
    ]
    for extra, param in cases:
        with pytest.raises(openai.BadRequestError) as caught:
            client.responses.create(model=CHAT_MODEL, extra_body=extra)
        assert caught.value.body["param"] == param, caught.value.body
    assert chat_calls(emulator) == []


def test_skipped_tools_and_ignored_params_are_named(client, emulator):
    raw = client.responses.with_raw_response.create(
        model=CHAT_MODEL, input="call:none hello", tools=[WEATHER, {"type": "web_search"}],
        prompt_cache_key="thread-1", safety_identifier="user-1", service_tier="auto", truncation="auto")
    assert raw.headers["x-gateway-skipped-tools"] == "web_search"
    assert raw.headers["x-gateway-ignored-params"] == ("prompt_cache_key, safety_identifier, service_tier, "
                                                       "truncation")
    assert raw.parse().output_text == "Echo: call:none hello"
    assert [t["name"] for t in upstream(emulator)["tools"]] == ["get_weather"]


def test_custom_tool_comes_back_as_a_custom_tool_call(client, emulator):
    patch = "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch"
    tool = {"type": "custom", "name": "apply_patch", "description": "Edit files",
            "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}}
    response = client.responses.create(model=CHAT_MODEL, tools=[tool],
                                       input="call:apply_patch" + json.dumps({"input": patch}))
    strictly_valid(response)
    [call] = response.output
    assert call.type == "custom_tool_call" and call.name == "apply_patch" and call.input == patch
    [sent] = upstream(emulator)["tools"]
    assert sent["parameters"]["required"] == ["input"] and "start: /.+/" in sent["parameters"]["properties"][
        "input"]["description"]
    follow_up = client.responses.create(model=CHAT_MODEL, tools=[tool], input=[
        {"role": "user", "content": "patch it"}, call.model_dump(),
        {"type": "custom_tool_call_output", "call_id": call.call_id, "output": "Done!"}])
    assert follow_up.output_text == "Echo: Done!"
    assistant = upstream(emulator)["messages"][1]
    assert json.loads(assistant["toolCalls"][0]["arguments"]) == {"input": patch}
