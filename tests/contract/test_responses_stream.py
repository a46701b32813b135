"""Streamed ``/v1/responses``: the openai SDK's ``responses.stream`` folds the gateway's events into the final
response, events arrive in OpenAI's order with gapless sequence numbers, a Codex-built request gets its
``apply_patch`` call back as a ``custom_tool_call``, and an OCI failure mid-stream becomes ``response.failed``."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import openai
import pytest

from tests.contract.conftest import CHAT_MODEL, chat_calls

pytestmark = pytest.mark.integration

CODEX = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "responses" / "codex_request.json").read_text())
WEATHER = {"type": "function", "name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
TEXT_EVENTS = ["response.created", "response.in_progress", "response.output_item.added",
               "response.content_part.added", "response.output_text.delta", "response.output_text.done",
               "response.content_part.done", "response.output_item.done", "response.completed"]


@pytest.fixture
def client(front) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{front.url}/v1", api_key="sk-anything", max_retries=0)


def collapsed(types: list[str]) -> list[str]:
    """Event types with runs of the same delta type collapsed to one."""
    return [t for i, t in enumerate(types) if i == 0 or t != types[i - 1] or not t.endswith(".delta")]


def test_text_stream_folds_into_the_final_response(client, emulator):
    with client.responses.stream(model=CHAT_MODEL, input="one two three four") as stream:
        events = list(stream)
        final = stream.get_final_response()
    assert collapsed([e.type for e in events]) == TEXT_EVENTS
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) > 1 and "".join(deltas) == "Echo: one two three four"
    assert final.output_text == "Echo: one two three four" and final.status == "completed"
    assert final.id == events[0].response.id and final.usage.output_tokens > 0
    assert chat_calls(emulator)[0].json["chatRequest"]["isStream"] is True


def test_tool_call_arguments_stream_as_deltas(client, emulator):
    with client.responses.stream(model=CHAT_MODEL, input="call:get_weather in Oslo", tools=[WEATHER]) as stream:
        events = list(stream)
        final = stream.get_final_response()
    types = collapsed([e.type for e in events])
    assert types == ["response.created", "response.in_progress", "response.output_item.added",
                     "response.function_call_arguments.delta", "response.function_call_arguments.done",
                     "response.output_item.done", "response.completed"]
    deltas = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    [call] = final.output
    assert call.type == "function_call" and json.loads(call.arguments) == {"city": "Oslo"} == json.loads(deltas)
    added = next(e for e in events if e.type == "response.output_item.added")
    assert added.item.call_id == call.call_id and added.item.id == call.id


def test_reasoning_streams_as_summary_events(client, emulator):
    with client.responses.stream(model="openai.gpt-oss-120b", input="Why", reasoning={"effort": "low"}) as stream:
        events = list(stream)
        final = stream.get_final_response()
    types = collapsed([e.type for e in events])
    assert types[2:8] == ["response.output_item.added", "response.reasoning_summary_part.added",
                          "response.reasoning_summary_text.delta", "response.reasoning_summary_text.done",
                          "response.reasoning_summary_part.done", "response.output_item.done"]
    reasoning, message = final.output
    assert reasoning.summary[0].text == "Thinking about: Why" and message.content[0].text == "Echo: Why"
    assert final.usage.output_tokens_details.reasoning_tokens > 0


def test_codex_request_gets_apply_patch_back_as_a_custom_tool_call(front, emulator):
    patch = "*** Begin Patch\n*** Update File: a.py\n@@\n-x\n+y\n*** End Patch"
    body = {**CODEX, "model": "openai.gpt-oss-120b"}
    body["input"] = [*CODEX["input"], {"type": "message", "role": "user", "content": [
        {"type": "input_text", "text": "call:apply_patch" + json.dumps({"input": patch})}]}]
    with httpx.stream("POST", f"{front.url}/v1/responses", json=body, timeout=60,
                      headers={"authorization": "Bearer sk-codex"}) as answer:
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/event-stream")
        assert answer.headers["x-gateway-skipped-tools"] == "web_search"
        lines = [line for line in answer.iter_lines() if line]
    events = [json.loads(line[len("data: "):]) for line in lines if line.startswith("data: ")]
    names = [line[len("event: "):] for line in lines if line.startswith("event: ")]
    assert names == [e["type"] for e in events]  # every event is named, as Codex's SSE reader expects
    done = [e["item"] for e in events if e["type"] == "response.output_item.done"]
    calls = [item for item in done if item["type"] == "custom_tool_call"]
    assert len(calls) == 1 and calls[0]["name"] == "apply_patch" and calls[0]["input"] == patch
    assert {"response.custom_tool_call_input.delta", "response.custom_tool_call_input.done"} <= set(names)
    completed = events[-1]
    assert completed["type"] == "response.completed" and completed["response"]["store"] is False
    assert completed["response"]["usage"]["total_tokens"] > 0
    sent = chat_calls(emulator)[0].json["chatRequest"]
    assert sent["isStream"] is True and [t["name"] for t in sent["tools"]] == ["shell", "apply_patch", "local_shell"]


def test_upstream_failure_mid_stream_is_response_failed(client, emulator):
    emulator.stream.break_streams(after=3, code="InternalServerError", message="model crashed")
    stream = client.responses.create(model=CHAT_MODEL, input="one two three four five six", stream=True)
    events = list(stream)
    assert events[0].type == "response.created" and events[-1].type == "response.failed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    failed = events[-1].response
    assert failed.status == "failed" and failed.error.code == "server_error"  # one of OpenAI's codes
    assert "model crashed" in failed.error.message and "InternalServerError" in failed.error.message


def test_errors_before_the_stream_are_plain_http_errors(client, emulator):
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model=CHAT_MODEL, input="x", stream=True, max_output_tokens=10**6)
    assert caught.value.body["param"] == "max_output_tokens"


def test_direct_asgi_streams_events_as_they_come(direct_gateway, emulator):
    emulator.stream.configure(delay=0.3)
    try:
        with httpx.stream("POST", f"{direct_gateway}/v1/responses", timeout=60, json={
                "model": CHAT_MODEL, "input": "one two three four five", "stream": True}) as answer:
            seen = []
            for line in answer.iter_lines():
                if line.startswith("event: response.output_text.delta"):
                    seen.append(max(r.stream_sent or 0 for r in emulator.requests))
    finally:
        emulator.stream.configure(delay=0)
    assert seen and seen[0] < max(r.stream_total or 0 for r in emulator.requests)  # first delta before the end
