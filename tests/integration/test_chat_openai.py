"""Chat at full fidelity through the real fdk and the emulator, driven by the official openai SDK.

Tools (parallel and multi-turn), vision, reasoning, JSON schema, a Pydantic tool schema, every
Cohere format, a dedicated endpoint, and streaming (sync/async, with and without usage, with
tools) through the fdk path and the direct ASGI path.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import openai
import pytest
from pydantic import BaseModel

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PNG = "data:image/png;base64," + base64.b64encode(
    bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                  "1f15c4890000000d49444154789c6300010000050001"
                  "0d0a2db40000000049454e44ae426082")).decode()
ENDPOINT = "ocid1.generativeaiendpoint.oc1.us-chicago-1.amaaaaaadedicated"
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
TIME = {"type": "function", "function": {
    "name": "get_time", "description": "Local time in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


@pytest.fixture(scope="module")
def client(front) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{front.url}/v1", api_key="sk-local", max_retries=0)


def last_chat_body(emulator) -> dict:
    calls = [r for r in emulator.requests if r.path.endswith("/actions/chat")]
    assert calls and all(c.verified for c in calls)
    return calls[-1].json


@pytest.mark.parametrize("model", ["meta.llama-3.3-70b-instruct", "xai.grok-4.3", "google.gemini-2.5-flash",
                                   "openai.gpt-oss-120b", "cohere.command-r-plus-08-2024",
                                   "cohere.command-a-03-2025"])
def test_parallel_tool_calls_and_the_follow_up_turn(client, emulator, model):
    messages = [{"role": "user", "content": "call:get_weather call:get_time in Paris"}]
    first = client.chat.completions.create(model=model, messages=messages, tools=[WEATHER, TIME])
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert all(c.id and c.type == "function" for c in calls) and len({c.id for c in calls}) == 2
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"}
    messages.append(choice.message.model_dump(exclude_none=True))
    messages += [{"role": "tool", "tool_call_id": calls[0].id, "content": "sunny"},
                 {"role": "tool", "tool_call_id": calls[1].id, "content": "noon"}]
    second = client.chat.completions.create(model=model, messages=messages, tools=[WEATHER, TIME])
    assert second.choices[0].finish_reason == "stop"
    body = last_chat_body(emulator)["chatRequest"]
    assert body["apiFormat"] == ("COHERE" if model.startswith("cohere.") else "GENERIC")
    if model.startswith("google."):
        # Gemini takes one call per turn: the parallel calls are replayed as call/result pairs.
        roles = [(m["role"], [c["id"] for c in m.get("toolCalls", [])] or m.get("toolCallId")) for m in body["messages"]]
        assert roles[1:] == [("ASSISTANT", [calls[0].id]), ("TOOL", calls[0].id),
                             ("ASSISTANT", [calls[1].id]), ("TOOL", calls[1].id)]
        assert body["messages"][3]["content"] == [{"type": "TEXT", "text": "."}]  # never empty for Gemini
        assert second.choices[0].message.content == "Echo: noon"
    else:
        assert second.choices[0].message.content == "Echo: sunny noon"


def test_tool_result_for_an_unknown_call_is_refused_before_oci(client, emulator):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="meta.llama-3.3-70b-instruct", messages=[
            {"role": "user", "content": "x"},
            {"role": "assistant", "tool_calls": [{"id": "call_a", "type": "function",
                                                  "function": {"name": "get_weather", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_zzz", "content": "sunny"}])
    assert "call_zzz" in caught.value.message and caught.value.body["param"] == "messages[2].tool_call_id"
    assert not [r for r in emulator.requests if r.path.endswith("/actions/chat")]


def test_vision_with_a_data_uri(client, emulator):
    reply = client.chat.completions.create(model="meta.llama-4-maverick-17b-128e-instruct-fp8", messages=[
        {"role": "user", "content": [{"type": "text", "text": "what is this"},
                                     {"type": "image_url", "image_url": {"url": PNG, "detail": "high"}}]}])
    assert "[image]" in reply.choices[0].message.content
    part = last_chat_body(emulator)["chatRequest"]["messages"][0]["content"][1]
    assert part == {"type": "IMAGE", "imageUrl": {"url": PNG, "detail": "AUTO"}}
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="meta.llama-3.3-70b-instruct", messages=[
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": PNG}}]}])
    assert caught.value.body["code"] == "image_not_supported"


def test_cohere_vision_goes_to_coherev2(client, emulator):
    reply = client.chat.completions.create(model="cohere.command-a-vision-07-2025", messages=[
        {"role": "user", "content": [{"type": "text", "text": "describe"},
                                     {"type": "image_url", "image_url": {"url": PNG}}]}])
    assert reply.choices[0].message.content
    assert last_chat_body(emulator)["chatRequest"]["apiFormat"] == "COHEREV2"


def test_reasoning_effort_and_reasoning_content(client, emulator):
    reply = client.chat.completions.create(model="xai.grok-3-mini", reasoning_effort="high",
                                           messages=[{"role": "user", "content": "2+2?"}])
    message = reply.choices[0].message
    assert message.content and getattr(message, "reasoning_content", None)
    assert reply.usage.completion_tokens_details.reasoning_tokens > 0
    assert last_chat_body(emulator)["chatRequest"]["reasoningEffort"] == "HIGH"
    # A model without the knob: dropped (OpenAI would answer 400), and the answer says so.
    raw = client.chat.completions.with_raw_response.create(model="meta.llama-3.3-70b-instruct",
                                                           reasoning_effort="high",
                                                           messages=[{"role": "user", "content": "x"}])
    assert raw.headers["x-gateway-dropped-params"] == "reasoning_effort" and raw.parse().choices[0].message.content
    assert "reasoningEffort" not in last_chat_body(emulator)["chatRequest"]


def test_command_a_reasoning_uses_coherev2_thinking(client, emulator):
    reply = client.chat.completions.create(model="cohere.command-a-reasoning-08-2025", reasoning_effort="low",
                                           messages=[{"role": "user", "content": "think"}])
    assert getattr(reply.choices[0].message, "reasoning_content", None)
    body = last_chat_body(emulator)["chatRequest"]
    assert body["apiFormat"] == "COHEREV2" and body["thinking"]["type"] == "ENABLED"


class Person(BaseModel):
    name: str
    age: int
    email: str | None = None


class Team(BaseModel):
    members: list[Person]
    lead: Person


def test_json_schema_response_format_from_pydantic(client, emulator):
    completion = client.beta.chat.completions.parse(model="meta.llama-3.3-70b-instruct", response_format=Person,
                                                    messages=[{"role": "user", "content": "who?"}])
    parsed = completion.choices[0].message.parsed
    assert isinstance(parsed, Person)
    sent = last_chat_body(emulator)["chatRequest"]["responseFormat"]
    assert sent["type"] == "JSON_SCHEMA" and sent["jsonSchema"]["isStrict"] is True


def test_pydantic_tool_schema_with_refs_is_simplified(client, emulator):
    tool = openai.pydantic_function_tool(Team, name="make_team")
    reply = client.chat.completions.create(model="meta.llama-3.3-70b-instruct", tools=[tool],
                                           messages=[{"role": "user", "content": "call:make_team"}])
    assert reply.choices[0].message.tool_calls[0].function.name == "make_team"
    parameters = last_chat_body(emulator)["chatRequest"]["tools"][0]["parameters"]
    text = json.dumps(parameters)
    assert "$ref" not in text and "$defs" not in text and "anyOf" not in text
    assert parameters["properties"]["lead"]["properties"]["age"] == {"type": "integer"}


def test_cohere_v1_and_v2_formats(client, emulator):
    client.chat.completions.create(model="cohere.command-r-08-2024", max_tokens=20, stop=["END"],
                                   messages=[{"role": "system", "content": "terse"},
                                             {"role": "user", "content": "hi"}])
    v1 = last_chat_body(emulator)["chatRequest"]
    assert v1["apiFormat"] == "COHERE" and v1["preambleOverride"] == "terse" and v1["message"] == "hi"
    assert v1["stopSequences"] == ["END"] and v1["maxTokens"] == 20
    client.chat.completions.create(model="cohere.command-a-03-2025", tool_choice="required", tools=[WEATHER],
                                   messages=[{"role": "user", "content": "weather in Rome"}])
    v2 = last_chat_body(emulator)["chatRequest"]
    assert v2["apiFormat"] == "COHEREV2" and v2["toolsChoice"] == "REQUIRED"


def test_dedicated_endpoint_through_an_alias(gateway_front_factory, emulator):
    emulator.add_dedicated_endpoint(ENDPOINT, "cohere.command-r-plus-08-2024")
    aliases = {"team-chat": {"model": "cohere.command-r-plus-08-2024", "serving_mode": "DEDICATED",
                             "endpoint": ENDPOINT, "params": {"temperature": 0.1}}}
    front = gateway_front_factory({"MODEL_ALIASES": json.dumps(aliases)})
    client = openai.OpenAI(base_url=f"{front.url}/v1", api_key="x", max_retries=0)
    reply = client.chat.completions.create(model="team-chat", messages=[{"role": "user", "content": "hello"}])
    assert reply.model == "team-chat" and reply.choices[0].message.content == "Echo: hello"
    body = last_chat_body(emulator)
    assert body["servingMode"] == {"servingType": "DEDICATED", "endpointId": ENDPOINT}
    assert body["chatRequest"]["apiFormat"] == "COHERE" and body["chatRequest"]["temperature"] == 0.1


def test_n_choices_and_logprobs(client, emulator):
    reply = client.chat.completions.create(model="meta.llama-3.3-70b-instruct", n=2, logprobs=True, top_logprobs=2,
                                           messages=[{"role": "user", "content": "two"}])
    assert [c.index for c in reply.choices] == [0, 1]
    assert reply.choices[0].logprobs.content and reply.choices[0].logprobs.content[0].top_logprobs


def test_async_client(front, emulator):
    async def run():
        async with openai.AsyncOpenAI(base_url=f"{front.url}/v1", api_key="x", max_retries=0) as aclient:
            replies = await asyncio.gather(*[aclient.chat.completions.create(
                model="meta.llama-3.3-70b-instruct", messages=[{"role": "user", "content": f"n{i}"}])
                for i in range(3)])
            return sorted(r.choices[0].message.content for r in replies)

    assert asyncio.run(run()) == ["Echo: n0", "Echo: n1", "Echo: n2"]


# ------------------------------------------------------------------------------------ streaming

@pytest.mark.parametrize("include_usage", [False, True])
@pytest.mark.parametrize("model", ["meta.llama-3.3-70b-instruct", "cohere.command-r-08-2024",
                                   "cohere.command-a-reasoning-08-2025"])
def test_streaming_text_sync(client, emulator, model, include_usage):
    options = {"stream_options": {"include_usage": True}} if include_usage else {}
    chunks = list(client.chat.completions.create(model=model, stream=True, **options,
                                                 messages=[{"role": "user", "content": "stream me please"}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: stream me please"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len({c.id for c in chunks}) == 1
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    if include_usage:
        assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0
        assert all(c.usage is None for c in chunks[:-1])
    else:
        assert all(c.usage is None for c in chunks)


@pytest.mark.parametrize("model", ["meta.llama-3.3-70b-instruct", "google.gemini-2.5-pro",
                                   "cohere.command-r-plus-08-2024", "cohere.command-a-03-2025"])
def test_streaming_parallel_tool_calls(client, emulator, model):
    extra = {"tool_choice": "required"} if model == "cohere.command-a-03-2025" else {}
    stream = client.chat.completions.create(model=model, stream=True, tools=[WEATHER, TIME], **extra,
                                            messages=[{"role": "user", "content": "call:get_weather call:get_time Oslo"}])
    calls: dict[int, dict] = {}
    finish = None
    for chunk in stream:
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for delta in choice.delta.tool_calls or []:
                entry = calls.setdefault(delta.index, {"id": None, "name": None, "arguments": ""})
                if delta.id:
                    assert entry["id"] is None  # id only on the first chunk of a call
                    entry["id"] = delta.id
                if delta.function and delta.function.name:
                    entry["name"] = delta.function.name
                if delta.function and delta.function.arguments:
                    entry["arguments"] += delta.function.arguments
    assert finish == "tool_calls"
    assert [calls[i]["name"] for i in sorted(calls)] == ["get_weather", "get_time"]
    assert all(calls[i]["id"] for i in calls) and len({c["id"] for c in calls.values()}) == 2
    assert json.loads(calls[0]["arguments"]) == {"city": "Oslo"}


def test_streaming_async_with_usage(front, emulator):
    async def run():
        async with openai.AsyncOpenAI(base_url=f"{front.url}/v1", api_key="x", max_retries=0) as aclient:
            stream = await aclient.chat.completions.create(
                model="meta.llama-3.3-70b-instruct", stream=True, stream_options={"include_usage": True},
                messages=[{"role": "user", "content": "async stream"}])
            return [c async for c in stream]

    chunks = asyncio.run(run())
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Echo: async stream"
    assert chunks[-1].usage.prompt_tokens > 0


def test_fdk_path_says_the_stream_was_buffered(front, emulator):
    import httpx

    response = httpx.post(f"{front.url}/v1/chat/completions", json={
        "model": "meta.llama-3.3-70b-instruct", "stream": True, "messages": [{"role": "user", "content": "b"}]})
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["x-gateway-streaming"] == "buffered"
    assert response.text.rstrip().endswith("data: [DONE]")


def test_mid_stream_error_raises_in_the_openai_sdk(client, emulator):
    emulator.break_streams(3, code="500", message="model fell over")
    with pytest.raises(openai.APIError) as caught:
        list(client.chat.completions.create(model="meta.llama-3.3-70b-instruct", stream=True,
                                            messages=[{"role": "user", "content": "a b c d e f g"}]))
    assert "model fell over" in str(caught.value)


# -- direct ASGI mode: real incremental streaming ---------------------------------------------

@pytest.fixture(scope="module")
def direct_server(gateway_env):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, **gateway_env, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "adapters.asgi:app", "--host", "127.0.0.1",
                                "--port", str(port), "--log-level", "warning"], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(process.stderr.read().decode()[-2000:])
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


def test_direct_mode_streams_before_the_upstream_finishes(direct_server, emulator):
    emulator.configure_stream(delay=0.15)
    client = openai.OpenAI(base_url=f"{direct_server}/v1", api_key="x", max_retries=0)
    words = " ".join(f"w{i}" for i in range(12))
    stream = client.chat.completions.create(model="meta.llama-3.3-70b-instruct", stream=True,
                                            messages=[{"role": "user", "content": words}])
    first_content_at = None
    text = ""
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            if first_content_at is None:
                first_content_at = time.time()
                record = [r for r in emulator.requests if r.path.endswith("/actions/chat")][-1]
                # the upstream is still producing events when the first token reaches the client
                assert not record.stream_finished, "the whole upstream stream was sent before the first chunk"
            text += chunk.choices[0].delta.content
    assert text == f"Echo: {words}"
    assert first_content_at is not None


def test_direct_mode_non_stream_and_errors(direct_server, emulator):
    client = openai.OpenAI(base_url=f"{direct_server}/v1", api_key="x", max_retries=0)
    reply = client.chat.completions.create(model="meta.llama-3.3-70b-instruct",
                                           messages=[{"role": "user", "content": "plain"}])
    assert reply.choices[0].message.content == "Echo: plain"
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="meta.nonexistent-model", messages=[{"role": "user", "content": "x"}])


def test_langchain_stream_and_astream_with_tools(front, emulator):
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(model="meta.llama-3.3-70b-instruct", base_url=f"{front.url}/v1", api_key="x", max_retries=0)
    text = "".join(chunk.content for chunk in llm.stream("langchain streaming"))
    assert text == "Echo: langchain streaming"
    bound = llm.bind_tools([WEATHER])

    async def run():
        merged = None
        async for chunk in bound.astream("call:get_weather in Lima"):
            merged = chunk if merged is None else merged + chunk
        return merged

    merged = asyncio.run(run())
    assert merged.tool_calls[0]["name"] == "get_weather" and merged.tool_calls[0]["args"] == {"city": "Lima"}
