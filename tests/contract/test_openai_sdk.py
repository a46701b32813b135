"""The official ``openai`` SDK, default configuration (only ``base_url`` and ``api_key`` set), against the
gateway through the real fdk and the OCI emulator; plus the ``fn invoke`` shape of the same requests."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import openai
import pytest

from local.emulator.genai import embedding_vector
from tests.contract.conftest import CHAT_MODEL, EMBED_MODEL, WEATHER_TOOL, chat_calls, embed_calls

pytestmark = pytest.mark.integration


@pytest.fixture
def client(front) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{front.url}/v1", api_key="sk-anything")


def test_sync_chat(client, emulator):
    reply = client.chat.completions.create(model=CHAT_MODEL, messages=[
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}])
    assert reply.object == "chat.completion" and reply.model == CHAT_MODEL
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].message.content == "Echo: Hello there"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens > 0
    [call] = chat_calls(emulator)
    assert call.json["chatRequest"]["apiFormat"] == "GENERIC"
    assert call.json["servingMode"] == {"servingType": "ON_DEMAND", "modelId": CHAT_MODEL}


def test_async_chat_concurrently(front, emulator):
    async def run() -> list[str]:
        async with openai.AsyncOpenAI(base_url=f"{front.url}/v1", api_key="sk-anything") as client:
            replies = await asyncio.gather(*(
                client.chat.completions.create(model=CHAT_MODEL, messages=[{"role": "user", "content": f"n{i}"}])
                for i in range(3)))
        return [r.choices[0].message.content for r in replies]

    assert asyncio.run(run()) == ["Echo: n0", "Echo: n1", "Echo: n2"]
    assert len(chat_calls(emulator)) == 3


def test_streaming(client, emulator):
    chunks = list(client.chat.completions.create(model=CHAT_MODEL, stream=True,
                                                 messages=[{"role": "user", "content": "one two three"}]))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Echo: one two three"
    assert [c.choices[0].finish_reason for c in chunks if c.choices[0].finish_reason] == ["stop"]
    assert all(c.object == "chat.completion.chunk" for c in chunks)


def test_async_streaming_with_usage(front, emulator):
    async def run():
        client = openai.AsyncOpenAI(base_url=f"{front.url}/v1", api_key="sk-anything")
        stream = await client.chat.completions.create(model=CHAT_MODEL, stream=True,
                                                      stream_options={"include_usage": True},
                                                      messages=[{"role": "user", "content": "async stream"}])
        return [chunk async for chunk in stream]

    chunks = asyncio.run(run())
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Echo: async stream"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0


def test_tools_round_trip(client, emulator):
    messages = [{"role": "user", "content": "What is the weather in Lima"}]
    first = client.chat.completions.create(model=CHAT_MODEL, messages=messages, tools=[WEATHER_TOOL])
    assert first.choices[0].finish_reason == "tool_calls"
    [call] = first.choices[0].message.tool_calls
    assert call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Lima"}
    messages += [first.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "sunny, 24 C"}]
    second = client.chat.completions.create(model=CHAT_MODEL, messages=messages, tools=[WEATHER_TOOL])
    assert second.choices[0].finish_reason == "stop" and "sunny, 24 C" in second.choices[0].message.content
    upstream = chat_calls(emulator)[1].json["chatRequest"]
    assert upstream["messages"][-1]["role"] == "TOOL" and upstream["messages"][-1]["toolCallId"] == call.id


def test_streamed_tool_call_assembles(client, emulator):
    stream = client.chat.completions.create(model=CHAT_MODEL, stream=True, tools=[WEATHER_TOOL],
                                            messages=[{"role": "user", "content": "call:get_weather in Oslo"}])
    ids, name, arguments, finish = set(), "", "", None
    for chunk in stream:
        for delta in chunk.choices[0].delta.tool_calls or []:
            if delta.id:
                ids.add(delta.id)
            name += (delta.function.name or "") if delta.function else ""
            arguments += (delta.function.arguments or "") if delta.function else ""
        finish = chunk.choices[0].finish_reason or finish
    assert len(ids) == 1 and name == "get_weather" and json.loads(arguments) == {"city": "Oslo"}
    assert finish == "tool_calls"


def test_embeddings_default_base64(client, emulator):
    texts = ["first document", "second document"]
    result = client.embeddings.create(model=EMBED_MODEL, input=texts)  # the SDK asks for base64 by default
    assert [d.index for d in result.data] == [0, 1]
    for item, text in zip(result.data, texts):
        assert np.allclose(item.embedding, embedding_vector(EMBED_MODEL, text, 1536), atol=1e-7)
    assert result.usage.prompt_tokens > 0
    assert embed_calls(emulator)[0].json["inputs"] == texts


def test_errors_are_typed_by_the_sdk(client, emulator):
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="gpt-imaginary", messages=[{"role": "user", "content": "x"}])
    assert missing.value.body["code"] == "model_not_found" and missing.value.body["param"] == "model"
    with pytest.raises(openai.BadRequestError) as wrong_kind:
        client.embeddings.create(model=CHAT_MODEL, input="x")
    assert wrong_kind.value.body["param"] == "model"
    assert chat_calls(emulator) == [] and embed_calls(emulator) == []  # refused before any upstream call
    with pytest.raises(openai.NotFoundError) as upstream_404:  # unknown id of a known vendor: OCI decides
        client.chat.completions.create(model="meta.no-such-model", messages=[{"role": "user", "content": "x"}])
    assert upstream_404.value.body["code"] == "model_not_found"
    assert [c.status for c in chat_calls(emulator)] == [404]  # a 404 is not retried by the SDK


def test_models_list_and_health(client, front, emulator):
    import httpx

    assert {CHAT_MODEL, EMBED_MODEL} <= {m.id for m in client.models.list()}
    health = httpx.get(f"{front.url}/v1/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    # At most OCI's model list was read (once per container per TTL); no model was called.
    assert all(r.method == "GET" and r.path.startswith("/20231130/model") for r in emulator.requests)


# --- fn invoke: the raw OpenAI body, no HTTP intent --------------------------------------------------


def test_fn_invoke_chat_and_embeddings(fdk_gateway, emulator):
    chat = fdk_gateway.call_invoke(json.dumps({"model": CHAT_MODEL,
                                               "messages": [{"role": "user", "content": "from fn invoke"}]}),
                                   content_type="text/plain")  # what `fn invoke` sends by default
    assert chat.status == 200
    assert chat.json()["choices"][0]["message"]["content"] == "Echo: from fn invoke"
    embeddings = fdk_gateway.call_invoke(json.dumps({"model": EMBED_MODEL, "input": ["a", "b"]}))
    data = embeddings.json()["data"]
    assert [d["index"] for d in data] == [0, 1] and len(data[0]["embedding"]) == 1536  # floats: no SDK default


def test_fn_invoke_errors_arrive_in_the_body_with_200(fdk_gateway, emulator):
    result = fdk_gateway.call_invoke(json.dumps({"model": "meta.no-such-model",
                                                 "messages": [{"role": "user", "content": "x"}]}))
    assert result.status == 200  # fn invoke never shows the handler's status
    assert result.json()["error"]["code"] == "model_not_found"
    garbage = fdk_gateway.call_invoke("not json", content_type="text/plain")
    assert garbage.status == 200 and garbage.json()["error"]["code"] == "unrecognized_invocation"
