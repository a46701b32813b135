"""The bridge: a Responses request as a chat request the chat core accepts, and its errors in Responses terms."""

from __future__ import annotations

import json

import pytest

from core.aliases import ResolvedModel
from core.catalog import lookup
from core.chat.request import parse_chat_request
from core.chat.translate import build_chat_details
from core.errors import APIError, invalid_request
from core.responses.bridge import chat_plan
from core.responses.params import ParamMap
from core.responses.request import parse_create_request
from core.responses.tools import CUSTOM, FUNCTION, LOCAL_SHELL, LOCAL_SHELL_FUNCTION, plan_tools
from tests.support.oci_sdk import assert_sdk_roundtrip
from tests.unit.test_responses_request import CODEX

GPT_OSS = lookup("openai.gpt-oss-120b")
LLAMA = lookup("meta.llama-3.3-70b-instruct")
COHERE = lookup("cohere.command-a-03-2025")


def plan_of(data: dict, info=LLAMA, history=()):
    request = parse_create_request(data)
    tools = plan_tools(request.tools, request.tool_choice)
    return chat_plan(request, list(history), tools, info), tools


def chat_details(body: dict, info) -> dict:
    target = ResolvedModel(name=info.id, model_id=info.id, info=info)
    return build_chat_details(parse_chat_request(body), target, "ocid1.compartment.oc1..x",
                              drop_unsupported=False).details


def test_codex_request_becomes_a_chat_request_oci_accepts():
    plan, tools = plan_of(CODEX, GPT_OSS)
    messages = plan.body["messages"]
    assert [m["role"] for m in messages] == ["system", "developer", "user", "assistant", "tool", "assistant", "tool",
                                             "assistant"]
    assert messages[0]["content"] == "You are Codex."
    assert messages[3]["tool_calls"][0]["function"] == {"name": "shell", "arguments": "{\"command\":[\"ls\"]}"}
    assert json.loads(messages[5]["tool_calls"][0]["function"]["arguments"]) == {"input": "*** Begin Patch"}
    assert messages[6] == {"role": "tool", "tool_call_id": "call_2", "content": "Done!"}
    assert json.loads(messages[7]["tool_calls"][0]["function"]["arguments"]) == {"command": ["pwd"]}
    assert [t["function"]["name"] for t in plan.body["tools"]] == ["shell", "apply_patch", LOCAL_SHELL_FUNCTION]
    assert tools.kinds == {"shell": FUNCTION, "apply_patch": CUSTOM, LOCAL_SHELL_FUNCTION: LOCAL_SHELL}
    assert tools.skipped == ("web_search",) and tools.sources == (0, 1, 2)
    assert plan.body["parallel_tool_calls"] is False and plan.body["reasoning_effort"] == "medium"
    assert plan.body["verbosity"] == "low" and plan.body["stream"] is True
    assert set(plan.ignored) == {"prompt_cache_key", "client_metadata", "reasoning.summary"}
    details = chat_details({**plan.body, "stream": False}, GPT_OSS)
    assert_sdk_roundtrip(details, "ChatDetails")
    assert details["chatRequest"]["reasoningEffort"] == "MEDIUM"


def test_cohere_model_gets_no_verbosity_and_says_so():
    plan, _ = plan_of({"model": "x", "input": "hi", "text": {"verbosity": "high"}}, COHERE)
    assert "verbosity" not in plan.body and plan.ignored == ("text.verbosity",)
    assert_sdk_roundtrip(chat_details(plan.body, COHERE), "ChatDetails")


def test_instructions_are_not_carried_over_but_history_is():
    history = parse_create_request({"model": "m", "input": [{"role": "user", "content": "earlier"},
                                                            {"role": "assistant", "content": "reply"}]}).input
    plan, _ = plan_of({"model": "m", "input": "now", "instructions": "new rules"}, history=history)
    assert [(m["role"], m["content"]) for m in plan.body["messages"]] == [
        ("system", "new rules"), ("user", "earlier"), ("assistant", "reply"), ("user", "now")]


def test_assistant_text_and_following_calls_share_one_message():
    plan, _ = plan_of({"model": "m", "tools": [{"type": "function", "name": "f", "parameters": None}], "input": [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [{"type": "output_text", "text": "calling"}]},
        {"type": "function_call", "call_id": "a", "name": "f", "arguments": {"x": 1}},
        {"type": "function_call", "call_id": "b", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "a", "output": [{"type": "input_text", "text": "one"}]},
        {"type": "function_call_output", "call_id": "b", "output": "two"}]})
    assistant = plan.body["messages"][1]
    assert assistant["content"] == [{"type": "text", "text": "calling"}]
    assert [c["id"] for c in assistant["tool_calls"]] == ["a", "b"]
    assert assistant["tool_calls"][0]["function"]["arguments"] == "{\"x\": 1}"
    assert plan.body["messages"][2]["content"] == [{"type": "text", "text": "one"}]
    parse_chat_request(plan.body)  # the chat core accepts the shape (tool results answer the calls before them)


@pytest.mark.parametrize("item, param", [
    ({"type": "item_reference", "id": "msg_1"}, "input[1]"),
    ({"role": "user", "content": [{"type": "input_file", "file_id": "file_1"}]}, "input[1].content[0]"),
    ({"role": "user", "content": [{"type": "input_image", "file_id": "file_1"}]}, "input[1].content[0].image_url"),
    ({"type": "function_call_output", "call_id": "c", "output": [{"type": "input_image", "image_url": "x"}]},
     "input[1].output[0]"),
    ({"type": "local_shell_call", "action": {"type": "exec", "command": ["ls"]}}, "input[1].call_id"),
])
def test_items_the_bridge_cannot_carry_are_400s(item, param):
    with pytest.raises(APIError) as caught:
        plan_of({"model": "m", "input": [{"role": "user", "content": "hi"}, item]})
    assert caught.value.status == 400 and caught.value.param == param


def test_chat_core_errors_come_back_in_responses_terms():
    plan, _ = plan_of({"model": "m", "tools": [{"type": "web_search"}, {"type": "function", "name": "f",
                                                                       "parameters": {"type": "object"}}],
                       "input": [{"role": "user", "content": "x"},
                                 {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
                                 {"type": "function_call_output", "call_id": "zz", "output": "r"}]})
    params = plan.params
    assert params.responses_param("messages[2].tool_call_id") == "input[2].call_id"
    assert params.responses_param("messages[2].content") == "input[2].output"
    assert params.responses_param("messages[1].tool_calls[0].function.arguments") == "input[1].arguments"
    assert params.responses_param("messages[0].content[3].image_url.url") == "input[0].content[3].image_url"
    assert params.responses_param("tools[0].function.parameters") == "tools[1].parameters"
    assert params.responses_param("reasoning_effort") == "reasoning.effort"
    assert params.responses_param("response_format.json_schema.schema") == "text.format.schema"
    assert params.responses_param("temperature") == "temperature"
    with pytest.raises(APIError) as caught, params.translating():
        parse_chat_request(plan.body)
    assert caught.value.param == "input[2].call_id" and caught.value.message.startswith("input[2] is a tool result")


def test_instructions_and_stored_history_are_reported_whole():
    history = parse_create_request({"model": "m", "input": [{"role": "user", "content": "old"}]}).input
    plan, _ = plan_of({"model": "m", "input": "x", "instructions": "i"}, history=history)
    assert plan.params.responses_param("messages[0].content") == "instructions"
    assert plan.params.responses_param("messages[1].content[0].image_url.url") == "previous_response_id"
    error = ParamMap().rewrite(invalid_request("Too many messages.", param="messages"))
    assert error.param == "input" and error.message == "Too many messages."


@pytest.mark.parametrize("choice, expected", [
    ("required", "required"), ({"type": "function", "name": "f"}, {"type": "function", "function": {"name": "f"}}),
    ({"type": "custom", "name": "apply_patch"}, {"type": "function", "function": {"name": "apply_patch"}}),
    ({"type": "local_shell"}, {"type": "function", "function": {"name": LOCAL_SHELL_FUNCTION}}),
    ({"type": "allowed_tools", "mode": "required", "tools": [{"type": "custom", "name": "apply_patch"}]},
     "required"),
])
def test_tool_choice_maps_to_chat(choice, expected):
    tools = [{"type": "function", "name": "f", "parameters": {}}, {"type": "web_search"},
             {"type": "custom", "name": "apply_patch"}, {"type": "local_shell"}]
    plan, planned = plan_of({"model": "m", "input": "x", "tools": tools, "tool_choice": choice})
    assert plan.body["tool_choice"] == expected
    if isinstance(choice, dict) and choice["type"] == "allowed_tools":
        assert [t["function"]["name"] for t in plan.body["tools"]] == ["apply_patch"]
        assert plan.params.responses_param("tools[0].function") == "tools[2]"


@pytest.mark.parametrize("tools, choice, param", [
    ([{"type": "web_search"}], {"type": "web_search"}, "tool_choice"),
    ([{"type": "web_search"}, {"type": "mcp", "server_label": "gh"}], "required", "tool_choice"),
    ([{"type": "function", "name": "f", "parameters": {}}], {"type": "custom", "name": "f"}, "tool_choice.name"),
    ([{"type": "function", "name": "f", "parameters": {}}, {"type": "custom", "name": "f"}], None, "tools[1].name"),
])
def test_tool_choices_that_cannot_be_honoured(tools, choice, param):
    with pytest.raises(APIError) as caught:
        plan_of({"model": "m", "input": "x", "tools": tools, "tool_choice": choice})
    assert caught.value.param == param


def test_skipped_tools_keep_their_names_and_leave_no_tool_choice():
    plan, tools = plan_of({"model": "m", "input": "x", "parallel_tool_calls": False, "tool_choice": "auto",
                           "tools": [{"type": "mcp", "server_label": "github"}, {"type": "code_interpreter",
                                                                                 "container": "auto"},
                                     {"type": "file_search", "vector_store_ids": ["vs_1"]}]})
    assert tools.skipped == ("mcp:github", "code_interpreter", "file_search")
    assert {"tools", "tool_choice", "parallel_tool_calls"}.isdisjoint(plan.body)
    assert_sdk_roundtrip(chat_details(plan.body, COHERE), "ChatDetails")  # Cohere v1 would refuse parallel=False


def test_logprobs_are_asked_for_when_included():
    plan, _ = plan_of({"model": "m", "input": "x", "include": ["message.output_text.logprobs"], "top_logprobs": 3})
    assert plan.body["logprobs"] is True and plan.body["top_logprobs"] == 3
    details = chat_details(plan.body, LLAMA)
    assert details["chatRequest"]["logProbs"] == 3
