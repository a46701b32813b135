"""Response objects from chat completions, validated strictly by the openai SDK's own models."""

from __future__ import annotations

import json

import pytest
from openai.types.responses import Response

from core.responses.output import (custom_input, new_id, response_from_completion, response_shell, shell_action,
                                   usage)
from core.responses.request import parse_create_request
from core.responses.tools import CUSTOM, FUNCTION, LOCAL_SHELL

KINDS = {"get_weather": FUNCTION, "apply_patch": CUSTOM, "local_shell": LOCAL_SHELL}
RAW = {"model": "meta.llama-3.3-70b-instruct", "input": "hi", "instructions": "Be brief.", "metadata": {"k": "v"},
       "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}, "strict": False}],
       "text": {"format": {"type": "json_object"}}, "reasoning": {"effort": "low", "summary": "auto"},
       "temperature": 0.2, "max_output_tokens": 100}


def completion(message: dict, finish: str = "stop", **usage_extra) -> dict:
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish,
                         "logprobs": None}],
            "usage": {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12, **usage_extra}}


def build(message: dict, finish: str = "stop", raw: dict = RAW, **usage_extra) -> Response:
    shell = response_shell(parse_create_request(raw), raw, response_id=new_id("resp"), model=raw["model"],
                           store=False)
    body = response_from_completion(shell, completion(message, finish, **usage_extra), KINDS)
    json.dumps(body)  # plain JSON all the way down
    return Response.model_validate(body)  # strict: every required field present with the right type


def test_text_answer_echoes_the_request():
    response = build({"content": "Hello", "reasoning_content": "Thinking"},
                     completion_tokens_details={"reasoning_tokens": 2}, prompt_tokens_details={"cached_tokens": 3})
    assert response.status == "completed" and response.completed_at and response.output_text == "Hello"
    reasoning, message = response.output
    assert reasoning.type == "reasoning" and reasoning.summary[0].text == "Thinking"
    assert reasoning.encrypted_content is None
    assert message.id.startswith("msg_") and message.content[0].annotations == []
    assert (response.instructions, response.metadata, response.temperature) == ("Be brief.", {"k": "v"}, 0.2)
    assert response.text.format.type == "json_object" and response.reasoning.effort == "low"
    assert response.tools[0].name == "get_weather" and response.tool_choice == "auto"
    assert response.usage.input_tokens_details.cached_tokens == 3
    assert response.usage.output_tokens_details.reasoning_tokens == 2 and response.usage.total_tokens == 12


def test_tool_calls_come_back_under_their_tools_kind():
    calls = [
        {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}},
        {"id": "call_b", "type": "function", "function": {"name": "apply_patch", "arguments": "{\"input\":\"P\"}"}},
        {"id": "call_c", "type": "function", "function": {"name": "local_shell",
                                                          "arguments": "{\"command\":[\"ls\"],\"timeout_ms\":5}"}},
    ]
    response = build({"content": None, "tool_calls": calls}, "tool_calls")
    function, custom, shell = response.output
    assert (function.type, function.call_id, function.arguments) == ("function_call", "call_a", "{\"city\":\"Oslo\"}")
    assert (custom.type, custom.call_id, custom.input) == ("custom_tool_call", "call_b", "P")
    assert (shell.type, shell.call_id, shell.action.command, shell.action.timeout_ms) == (
        "local_shell_call", "call_c", ["ls"], 5)
    assert len({function.id, custom.id, shell.id}) == 3


def test_a_cut_answer_is_incomplete():
    response = build({"content": "Echo: one"}, "length")
    assert response.status == "incomplete" and response.incomplete_details.reason == "max_output_tokens"
    assert response.output[0].status == "incomplete" and response.completed_at is None


def test_refusal_and_logprobs():
    body = completion({"content": "ok", "refusal": "no"})
    body["choices"][0]["logprobs"] = {"content": [{"token": "ok", "logprob": -0.1, "bytes": [111, 107],
                                                   "top_logprobs": [{"token": "ok", "logprob": -0.1,
                                                                     "bytes": None}]}]}
    shell = response_shell(parse_create_request(RAW), RAW, response_id="resp_1", model="m", store=True)
    response = Response.model_validate(response_from_completion(shell, body, KINDS))
    text, refusal = response.output[0].content
    assert text.logprobs[0].token == "ok" and text.logprobs[0].top_logprobs[0].bytes == []
    assert refusal.type == "refusal" and refusal.refusal == "no" and response.store is True


@pytest.mark.parametrize("arguments, expected", [
    ("{\"input\": \"*** Begin Patch\"}", "*** Begin Patch"), ("{\"patch\": \"p\"}", "p"),
    ("raw text, not JSON", "raw text, not JSON"), ("{\"a\": 1, \"b\": 2}", "{\"a\": 1, \"b\": 2}"),
])
def test_custom_input_reads_what_the_model_wrote(arguments, expected):
    assert custom_input(arguments) == expected


def test_shell_action_from_loose_arguments():
    assert shell_action("{\"command\": \"ls -la\"}")["command"] == ["bash", "-lc", "ls -la"]
    action = shell_action("{\"command\": [\"git\", 1], \"env\": {\"A\": 2}, \"user\": 5}")
    assert action == {"type": "exec", "command": ["git", "1"], "env": {"A": "2"}, "timeout_ms": None, "user": None,
                      "working_directory": None}
    assert shell_action("not json")["command"] == []


def test_usage_without_details_is_complete():
    assert usage(None) == {"input_tokens": 0, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                           "output_tokens": 0, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 0}
