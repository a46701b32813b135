"""Chat chunks -> Responses stream events: OpenAI's order, one open item at a time, every event valid for the SDK."""

from __future__ import annotations

import json

from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from core.chat.stream import StreamTranslator
from core.responses.events import EventWriter
from core.responses.output import response_shell
from core.responses.request import parse_create_request
from core.responses.tools import CUSTOM, FUNCTION, LOCAL_SHELL

EVENTS = TypeAdapter(ResponseStreamEvent)
KINDS = {"get_weather": FUNCTION, "apply_patch": CUSTOM, "local_shell": LOCAL_SHELL}
RAW = {"model": "m", "input": "hi"}


def writer() -> EventWriter:
    return EventWriter(response_shell(parse_create_request(RAW), RAW, response_id="resp_1", model="m", store=False),
                       KINDS)


def chunk(delta: dict | None = None, finish: str | None = None, usage: dict | None = None) -> dict:
    choices = [] if delta is None and finish is None else [{"index": 0, "delta": delta or {}, "finish_reason": finish}]
    return {"id": "c", "object": "chat.completion.chunk", "choices": choices, "usage": usage}


def run(chunks: list[dict]) -> tuple[list[dict], EventWriter]:
    w = writer()
    events = w.start()
    for c in chunks:
        events += w.feed(c)
    events += w.finish()
    for event in events:
        EVENTS.validate_python(event)  # the SDK's strict model of each event
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    return events, w


def test_reasoning_then_text_are_two_items_in_order():
    events, w = run([chunk({"role": "assistant", "content": ""}), chunk({"reasoning_content": "Hmm"}),
                     chunk({"reasoning_content": " yes"}), chunk({"content": "Hi"}), chunk({"content": "!"}),
                     chunk(finish="stop"),
                     chunk(usage={"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7,
                                  "completion_tokens_details": {"reasoning_tokens": 2}})])
    assert [e["type"] for e in events] == [
        "response.created", "response.in_progress",
        "response.output_item.added", "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta", "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done",
        "response.output_item.added", "response.content_part.added", "response.output_text.delta",
        "response.output_text.delta", "response.output_text.done", "response.content_part.done",
        "response.output_item.done", "response.completed"]
    final = Response.model_validate(events[-1]["response"])
    assert [item.type for item in final.output] == ["reasoning", "message"]
    assert final.output[0].summary[0].text == "Hmm yes" and final.output_text == "Hi!"
    assert final.usage.output_tokens_details.reasoning_tokens == 2 and final.status == "completed"
    done = [e for e in events if e["type"] == "response.output_item.done"]
    assert [e["output_index"] for e in done] == [0, 1] and w.response == events[-1]["response"]


def test_parallel_calls_are_separate_items_under_their_kinds():
    events, _ = run([
        chunk({"tool_calls": [{"index": 0, "id": "call_a", "type": "function",
                               "function": {"name": "get_weather", "arguments": ""}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": "\"Oslo\"}"}}]}),
        chunk({"tool_calls": [{"index": 1, "id": "call_b", "type": "function",
                               "function": {"name": "apply_patch", "arguments": "{\"input\": \"P\"}"}}]}),
        chunk({"tool_calls": [{"index": 2, "id": "call_c", "type": "function",
                               "function": {"name": "local_shell", "arguments": "{\"command\": [\"ls\"]}"}}]}),
        chunk(finish="tool_calls")])
    final = Response.model_validate(events[-1]["response"])
    weather, patch, shell = final.output
    assert json.loads(weather.arguments) == {"city": "Oslo"} and weather.call_id == "call_a"
    assert patch.type == "custom_tool_call" and patch.input == "P"
    assert shell.type == "local_shell_call" and shell.action.command == ["ls"]
    deltas = [e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta"]
    assert deltas == ["{\"city\":", "\"Oslo\"}"]
    custom = [e for e in events if e["type"].startswith("response.custom_tool_call_input")]
    assert [(e["type"], e.get("delta") or e.get("input")) for e in custom] == [
        ("response.custom_tool_call_input.delta", "P"), ("response.custom_tool_call_input.done", "P")]
    added = [e["item"]["id"] for e in events if e["type"] == "response.output_item.added"]
    assert added == [weather.id, patch.id, shell.id]  # each item announced once, under the id it ends with


def test_cut_answer_ends_incomplete():
    events, _ = run([chunk({"content": "Echo: one"}), chunk(finish="length")])
    assert events[-1]["type"] == "response.incomplete"
    final = Response.model_validate(events[-1]["response"])
    assert final.incomplete_details.reason == "max_output_tokens" and final.output[0].status == "incomplete"


def test_failure_keeps_finished_items_only():
    w = writer()
    events = w.start() + w.feed(chunk({"reasoning_content": "r"})) + w.feed(chunk({"content": "partial"}))
    failed = w.fail("server_error", "boom")
    EVENTS.validate_python(failed[0])
    response = failed[0]["response"]
    assert response["status"] == "failed" and response["error"] == {"code": "server_error", "message": "boom"}
    assert [item["type"] for item in response["output"]] == ["reasoning"]  # the message never finished
    assert failed[0]["sequence_number"] == events[-1]["sequence_number"] + 1


def test_every_oci_format_streams_through_the_chat_translator():
    translator = StreamTranslator(response_id="r", model="m", created=1, include_usage=True)
    cohere = [{"apiFormat": "COHERE", "text": "Hel"}, {"apiFormat": "COHERE", "text": "lo"},
              {"apiFormat": "COHERE", "text": "Hello", "finishReason": "COMPLETE",
               "usage": {"promptTokens": 2, "completionTokens": 1, "totalTokens": 3}}]
    chunks = [c for event in cohere for c in translator.feed(event)] + translator.finish()
    events, _ = run(chunks)
    final = Response.model_validate(events[-1]["response"])
    assert final.output_text == "Hello" and final.usage.total_tokens == 3
