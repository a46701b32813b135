"""Guardrails on ``/v1/responses``: which texts of a request and of an answer are checked, how masks and blocks
rewrite them, and the chat guard over chat chunks (held back, checked, rewritten) for the bridged stream.

ApplyGuardrails is stood in for by respx with the emulator's detection rules; each body is round-tripped through
the oci SDK's models. End to end, with the openai SDK: ``tests/contract/test_responses_guardrails.py``.
"""

from __future__ import annotations

import copy

import pytest
import respx
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from core import runtime
from core.errors import APIError
from core.guardrails.chat import ChatGuard
from core.guardrails.policy import parse_policy
from core.responses import screening
from core.responses.events import EventWriter
from core.responses.output import response_from_completion, response_shell
from core.responses.request import parse_create_request
from local.emulator.guardrails import HARMFUL_MARKER, results
from tests.conftest import GENAI
from tests.support.oci_stub import sdk_checked_route
from tests.support.runtime import reset_settings

EMAIL = "jane.doe@example.com"
EVENTS = TypeAdapter(ResponseStreamEvent)
RAW = {"model": "m", "input": "hi"}
SHELL = response_shell(parse_create_request(RAW), RAW, response_id="resp_1", model="m", store=False)


# --------------------------------------------------------------------------------------------- the request


def texts(data: dict) -> list[tuple[int | None, str | None, str]]:
    return [(t.item, t.field, t.text) for t in screening.input_targets(data)]


def test_a_string_input_is_one_text():
    assert texts({"input": f"mail {EMAIL}"}) == [(None, "input", f"mail {EMAIL}")]
    assert texts({"input": "   "}) == []
    masked = screening.with_texts({"model": "m", "input": "x"}, screening.input_targets({"input": "x"}), ["y"])
    assert masked == {"model": "m", "input": "y"}


def test_the_newest_user_message_and_tool_results_after_the_last_assistant_turn():
    items = [
        {"role": "system", "content": "system words"},
        {"role": "user", "content": "old question"},
        {"type": "function_call_output", "call_id": "c0", "output": "before any answer"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "an answer"}]},
        {"role": "developer", "content": "developer words"},
        {"role": "user", "content": [{"type": "input_text", "text": "new"}, {"type": "input_image", "image_url": "u"},
                                     {"type": "input_text", "text": "  "}, {"type": "input_text", "text": "part"}]},
        {"type": "reasoning", "summary": []},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": [{"type": "input_text", "text": "result"}]},
        {"type": "custom_tool_call", "call_id": "c2", "name": "p", "input": "x"},
        {"type": "custom_tool_call_output", "call_id": "c2", "output": "patched"},
        {"type": "local_shell_call_output", "call_id": "c3", "output": "shell says"},
    ]
    assert texts({"input": items}) == [(5, "content", "new"), (5, "content", "part"), (10, "output", "patched"),
                                       (11, "output", "shell says")]
    assert [t.part for t in screening.input_targets({"input": items})] == [0, 3, None, None]


def test_results_before_a_later_model_call_are_not_checked_again():
    items = [{"role": "user", "content": "q"},
             {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
             {"type": "function_call_output", "call_id": "c1", "output": "r1"},
             {"type": "web_search_call"}]
    assert texts({"input": items}) == [(0, "content", "q")]
    assert texts({"input": items[1:3]}) == [(1, "output", "r1")]  # no user message: the tool results only


def test_masks_are_written_into_a_copy_of_the_body():
    data = {"model": "m", "store": True, "input": [
        {"role": "user", "content": [{"type": "input_text", "text": f"a {EMAIL}"},
                                     {"type": "input_image", "image_url": "u"},
                                     {"type": "input_text", "text": f"b {EMAIL}"}]},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": EMAIL}]}
    before = copy.deepcopy(data)
    targets = screening.input_targets(data)
    assert [(t.item, t.part) for t in targets] == [(0, 0), (0, 2), (2, None)]
    masked = screening.with_texts(data, targets, ["a [EMAIL]", "b [EMAIL]", "[EMAIL]"])
    assert data == before  # the caller's body is untouched
    assert [p.get("text") for p in masked["input"][0]["content"]] == ["a [EMAIL]", None, "b [EMAIL]"]
    assert masked["input"][2]["output"] == "[EMAIL]" and masked["input"][1] is data["input"][1]
    assert masked["store"] is True and parse_create_request(masked).input[0].content[2].text == "b [EMAIL]"

# --------------------------------------------------------------------------------------------- the answer


def native_answer(*texts: str) -> dict:
    messages = [{"id": f"msg_{i}", "type": "message", "role": "assistant", "status": "completed",
                 "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]}
                for i, text in enumerate(texts)]
    call = {"id": "fc_1", "type": "function_call", "status": "completed", "call_id": "c", "name": "f",
            "arguments": "{}"}
    return {**SHELL, "status": "completed", "completed_at": 1, "output": [messages[0], call, *messages[1:]],
            "usage": {"input_tokens": 1, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                      "output_tokens": 2,
                      "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 3}}


def test_answer_texts_are_the_message_texts():
    answer = native_answer("first", "second")
    assert screening.answer_texts(answer) == {0: "first", 1: "second"}
    masked = screening.with_answer(answer, screening.answer_targets(answer), set(), {1: "[EMAIL]"})
    assert [i["content"][0]["text"] for i in masked["output"] if i["type"] == "message"] == ["first", "[EMAIL]"]
    assert answer["output"][2]["content"][0]["text"] == "second"  # a copy
    Response.model_validate(masked)


def test_a_blocked_answer_is_incomplete_with_one_empty_message():
    answer = native_answer(f"the {HARMFUL_MARKER}", "more")
    blocked = screening.with_answer(answer, screening.answer_targets(answer), {0}, {1: "x"})
    assert blocked["status"] == "incomplete" and blocked["incomplete_details"] == {"reason": "content_filter"}
    [message] = blocked["output"]
    assert message["type"] == "message" and message["content"][0]["text"] == "" and message["status"] == "incomplete"
    assert blocked["completed_at"] is None and blocked["usage"] == answer["usage"]
    Response.model_validate(blocked)


def test_a_filtered_completion_keeps_an_empty_message_not_its_tool_calls():
    completion = {"choices": [{"index": 0, "message": {"role": "assistant", "content": ""},
                               "finish_reason": "content_filter"}], "usage": {"prompt_tokens": 1}}
    response = response_from_completion(SHELL, completion, {})
    assert response["status"] == "incomplete" and response["incomplete_details"] == {"reason": "content_filter"}
    assert [(i["type"], i["content"][0]["text"]) for i in response["output"]] == [("message", "")]
    Response.model_validate(response)


def test_a_filtered_stream_ends_with_an_empty_message_and_response_incomplete():
    writer = EventWriter(SHELL, {})
    events = writer.start() + writer.feed({"choices": [{"index": 0, "delta": {}, "finish_reason": "content_filter"}],
                                           "usage": {"prompt_tokens": 1, "completion_tokens": 2}})
    events += writer.finish()
    for event in events:
        EVENTS.validate_python(event)
    assert [e["type"] for e in events] == [
        "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.incomplete"]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    final = events[-1]["response"]
    assert final["incomplete_details"] == {"reason": "content_filter"} and final["usage"]["output_tokens"] == 2


# --------------------------------------------------------------------------------------------- chat chunks held back


@pytest.fixture
def env(gateway_env):
    gateway_env.delenv("GUARDRAILS", raising=False)
    reset_settings()
    yield gateway_env
    reset_settings()


@pytest.fixture
def oci(env):
    with respx.mock(assert_all_called=False) as mock:
        yield sdk_checked_route(mock, f"{GENAI}/actions/applyGuardrails", "ApplyGuardrailsDetails",
                                "ApplyGuardrailsResult",
                                lambda body: {"results": results(body), "guardrailVersion": {"version": "1.0.1"}})


def guard(policy: str) -> ChatGuard:
    return ChatGuard(parse_policy(policy, "test"), settings=runtime.settings(), deadline=None, request_id="R1")


def chunks(*deltas: dict, finish: str = "stop") -> list[dict]:
    out = [{"id": "c", "choices": [{"index": 0, "delta": delta, "finish_reason": None}]} for delta in deltas]
    return out + [{"id": "c", "choices": [{"index": 0, "delta": {}, "finish_reason": finish}],
                   "usage": {"completion_tokens": 3}}]


async def held_back(chat_guard: ChatGuard, source: list[dict]) -> list[dict]:
    async def upstream():
        for chunk in source:
            yield chunk

    return [chunk async for chunk in chat_guard.buffered_chunks(upstream())]


async def test_blocked_chunks_lose_text_reasoning_and_tool_calls(oci):
    chat_guard = guard("content_moderation=block")
    out = await held_back(chat_guard, chunks({"reasoning_content": "thinking"}, {"content": "the "},
                                             {"content": HARMFUL_MARKER}, {"tool_calls": [{"index": 0}]},
                                             finish="tool_calls"))
    deltas = [c["choices"][0]["delta"] for c in out]
    assert all(not d.get("content") and "tool_calls" not in d and "reasoning_content" not in d for d in deltas)
    assert out[-1]["choices"][0]["finish_reason"] == "content_filter" and out[-1]["usage"] == {"completion_tokens": 3}
    assert chat_guard.headers["x-guardrails-output"].endswith("action=blocked") and oci.call_count == 1


async def test_masked_chunks_carry_the_masked_text_once(oci):
    out = await held_back(guard("pii=mask"), chunks({"content": "mail jane.doe@"}, {"content": "example.com now"}))
    assert [c["choices"][0]["delta"].get("content") for c in out] == ["mail [EMAIL] now", "", None]


async def test_a_check_that_cannot_run_raises_before_anything_is_sent(env):
    chat_guard = guard("content_moderation=block")
    with respx.mock() as mock:
        mock.post(f"{GENAI}/actions/applyGuardrails").respond(500, json={"code": "InternalError", "message": "x"})
        with pytest.raises(APIError):
            await held_back(chat_guard, chunks({"content": "hello"}))
