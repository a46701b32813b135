"""LangChain ``ChatOpenAI`` and ``OpenAIEmbeddings`` in their default configuration (model, base_url and api_key
only) against the gateway through the real fdk and the OCI emulator."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from pydantic import BaseModel, Field

from local.emulator.genai import embedding_vector
from tests.contract.conftest import CHAT_MODEL, EMBED_MODEL, WEATHER_TOOL, chat_calls, embed_calls

pytestmark = pytest.mark.integration


class Weather(BaseModel):
    """Weather report for a city."""

    city: str = Field(description="The city")
    celsius: int = Field(description="Temperature in degrees Celsius")


@pytest.fixture
def llm(front):
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(model=CHAT_MODEL, base_url=f"{front.url}/v1", api_key="sk-anything")


def test_invoke(llm, emulator):
    from langchain_core.messages import HumanMessage, SystemMessage

    message = llm.invoke([SystemMessage("Be brief."), HumanMessage("hello from langchain")])
    assert message.content == "Echo: hello from langchain"
    assert message.response_metadata["finish_reason"] == "stop"
    assert message.usage_metadata["total_tokens"] > 0
    upstream = chat_calls(emulator)[0].json["chatRequest"]
    assert [m["role"] for m in upstream["messages"]] == ["SYSTEM", "USER"]


def test_stream_and_astream(llm, emulator):
    assert "".join(chunk.content for chunk in llm.stream("stream it please")) == "Echo: stream it please"

    async def run() -> str:
        return "".join([chunk.content async for chunk in llm.astream("async stream")])

    assert asyncio.run(run()) == "Echo: async stream"
    assert all(call.json["chatRequest"]["isStream"] for call in chat_calls(emulator))


def test_bind_tools_and_answer_the_tool(llm, emulator):
    from langchain_core.messages import HumanMessage, ToolMessage

    bound = llm.bind_tools([WEATHER_TOOL])
    question = HumanMessage("What is the weather in Lima")
    asked = bound.invoke([question])
    [call] = asked.tool_calls
    assert call["name"] == "get_weather" and call["args"] == {"city": "Lima"} and call["id"]
    answer = bound.invoke([question, asked, ToolMessage("sunny, 24 C", tool_call_id=call["id"])])
    assert "sunny, 24 C" in answer.content and not answer.tool_calls


def test_bind_tools_streaming_merges_into_one_call(llm, emulator):
    merged = None
    for chunk in llm.bind_tools([WEATHER_TOOL]).stream("call:get_weather in Quito"):
        merged = chunk if merged is None else merged + chunk
    assert [(c["name"], c["args"]) for c in merged.tool_calls] == [("get_weather", {"city": "Quito"})]


def test_with_structured_output_default_method(llm, emulator):
    report = llm.with_structured_output(Weather).invoke("Weather in Nairobi")
    assert isinstance(report, Weather) and report.city == "Nairobi"  # the emulator fills strings from the prompt
    format_sent = chat_calls(emulator)[0].json["chatRequest"]["responseFormat"]
    assert format_sent["type"] == "JSON_SCHEMA" and "celsius" in str(format_sent)


def test_with_structured_output_function_calling(llm, emulator):
    report = llm.with_structured_output(Weather, method="function_calling").invoke("Weather in Lagos")
    assert isinstance(report, Weather) and report.city == "Lagos"
    assert chat_calls(emulator)[0].json["chatRequest"]["tools"][0]["name"] == "Weather"


def test_openai_embeddings_default_sends_token_ids(front, emulator, offline_tiktoken):
    from langchain_openai import OpenAIEmbeddings

    embeddings = OpenAIEmbeddings(model=EMBED_MODEL, base_url=f"{front.url}/v1", api_key="sk-anything")
    assert embeddings.check_embedding_ctx_length  # the default: LangChain tokenizes and sends token ids
    texts = ["LangChain splits documents", "and embeds them in batches"]
    vectors = embeddings.embed_documents(texts)
    assert sorted(t for c in embed_calls(emulator) for t in c.json["inputs"]) == sorted(texts)  # decoded exactly
    for vector, text in zip(vectors, texts):
        assert np.allclose(vector, embedding_vector(EMBED_MODEL, text, 1536), atol=1e-6)
    query = embeddings.embed_query("which batch?")
    assert np.allclose(query, embedding_vector(EMBED_MODEL, "which batch?", 1536), atol=1e-6)
