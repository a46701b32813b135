"""Checking a Responses request: what real clients send is accepted, every mistake is a 400 with its exact param."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import APIError
from core.responses.request import parse_create_request, parse_items, validation_error
from core.responses.schema import CustomTool, FunctionCall, LocalShellCall, Message, Reasoning

# A request as Codex's request builder (openai/codex ResponsesApiRequest) serializes it: stream on, store off,
# reasoning included, a prompt cache key, function, custom (apply_patch), local_shell and web_search tools.
CODEX = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "responses" / "codex_request.json").read_text())


def bad(data: dict, param: str | None, code: str) -> APIError:
    with pytest.raises(APIError) as caught:
        parse_create_request(data)
    assert caught.value.status == 400 and (caught.value.param, caught.value.code) == (param, code), caught.value
    return caught.value


def test_codex_request_is_accepted_as_built():
    request = parse_create_request(CODEX)
    assert [type(i).__name__ for i in request.input][:4] == ["Message", "Message", "Reasoning", "FunctionCall"]
    assert isinstance(request.tools[1], CustomTool) and request.tools[1].format.definition.startswith("start:")
    assert isinstance(request.input[7], LocalShellCall) and request.input[7].action.command == ["pwd"]
    assert request.tools[3].kind == "web_search"


def test_easy_messages_need_no_type_and_strings_are_input():
    request = parse_create_request({"model": "m", "input": [{"role": "user", "content": "hi"},
                                                            {"role": "assistant", "content": [
                                                                {"type": "output_text", "text": "yo",
                                                                 "annotations": []}], "id": "msg_1",
                                                             "status": "completed"}]})
    assert all(isinstance(item, Message) for item in request.input)
    assert parse_create_request({"model": "m", "input": "hello"}).input == "hello"


@pytest.mark.parametrize("data, param, code", [
    ({"model": 3, "input": "x"}, "model", "invalid_type"),
    ({"model": " ", "input": "x"}, "model", "invalid_value"),
    ({"model": "m"}, "input", "missing_required_parameter"),
    ({"model": "m", "input": []}, "input", "invalid_value"),
    ({"model": "m", "input": "x", "temprature": 1}, "temprature", "unknown_parameter"),
    ({"model": "m", "input": 7}, "input", "invalid_type"),
    ({"model": "m", "input": [{"type": "message", "role": "robot", "content": "x"}]}, "input[0].role",
     "invalid_value"),
    ({"model": "m", "input": [{"type": "function_call", "name": "f"}]}, "input[0].call_id",
     "missing_required_parameter"),
    ({"model": "m", "input": [{"role": "user", "content": [{"type": "input_text", "text": 5}]}]},
     "input[0].content[0].text", "invalid_type"),
    ({"model": "m", "input": [{"role": "user", "content": [{"type": "input_video"}]}]}, "input[0].content[0].type",
     "invalid_value"),
    ({"model": "m", "input": "x", "tools": [{"type": "function"}]}, "tools[0].name", "missing_required_parameter"),
    ({"model": "m", "input": "x", "tools": [{"type": "teleport"}]}, "tools[0].type", "invalid_value"),
    ({"model": "m", "input": "x", "tool_choice": "sometimes"}, "tool_choice", "invalid_value"),
    ({"model": "m", "input": "x", "text": {"format": {"type": "json_schema", "schema": {}}}}, "text.format.name",
     "missing_required_parameter"),
    ({"model": "m", "input": "x", "include": ["everything"]}, "include[0]", "invalid_value"),
    ({"model": "m", "input": "x", "top_logprobs": 21}, "top_logprobs", "invalid_value"),
    ({"model": "m", "input": "x", "metadata": {str(i): "v" for i in range(17)}}, "metadata", "invalid_value"),
    ({"model": "m", "input": "x", "metadata": {"k": "v" * 513}}, "metadata", "invalid_value"),
    ({"model": "m", "input": "x", "background": True}, "background", "unsupported_parameter"),
    ({"model": "m", "input": "x", "conversation": "conv_1"}, "conversation", "unsupported_parameter"),
    ({"model": "m", "input": "x", "prompt": {"id": "pmpt_1"}}, "prompt", "unsupported_parameter"),
])
def test_mistakes_name_their_param(data, param, code):
    bad(data, param, code)


def test_background_false_is_accepted():
    assert parse_create_request({"model": "m", "input": "x", "background": False}).background is False


def test_validation_error_messages_read_like_openai():
    assert validation_error("Expected `str`, got `int` - at `$.input[0].content`").message == (
        "Invalid type for 'input[0].content': expected a string, but got an integer.")
    assert validation_error("Object missing required field `name` - at `$.tools[2]`").param == "tools[2].name"
    assert validation_error("Object contains unknown field `seed`").param == "seed"
    unknown = validation_error("Something msgspec never said")
    assert unknown.status == 400 and unknown.param is None


def test_stored_items_read_back_as_items():
    items = parse_items([{"role": "user", "content": "hi"}, {"type": "reasoning", "summary": []},
                         {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}], "x")
    assert [type(i) for i in items] == [Message, Reasoning, FunctionCall]
    with pytest.raises(APIError) as caught:
        parse_items([{"type": "nope"}], "previous_response_id")
    assert caught.value.param == "previous_response_id" and caught.value.code == "invalid_stored_response"
