"""LlamaIndex ``OpenAILike`` (llama-index-llms-openai-like) and ``OpenAIEmbedding`` against the gateway through
the real fdk and the OCI emulator.

``OpenAILike`` is configured the way its documentation shows for an OpenAI-compatible server:
``is_chat_model=True`` (its default, False, means the legacy ``/v1/completions`` API, which OCI does not
offer) and ``is_function_calling_model=True`` for tools. ``OpenAIEmbedding`` only accepts OpenAI model
names, so it reaches Cohere through the deployment's ``text-embedding-3-small`` alias.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from local.emulator.genai import embedding_vector
from tests.contract.conftest import CHAT_MODEL, EMBED_MODEL, chat_calls, embed_calls

pytestmark = pytest.mark.integration


@pytest.fixture
def llm(front):
    from llama_index.llms.openai_like import OpenAILike

    return OpenAILike(model=CHAT_MODEL, api_base=f"{front.url}/v1", api_key="sk-anything", is_chat_model=True,
                      is_function_calling_model=True)


def test_complete_and_chat(llm, emulator):
    from llama_index.core.llms import ChatMessage

    assert llm.complete("hello llama").text == "Echo: hello llama"
    reply = llm.chat([ChatMessage(role="system", content="Be brief."), ChatMessage(role="user", content="hi")])
    assert reply.message.content == "Echo: hi"
    assert [c.json["chatRequest"]["messages"][-1]["role"] for c in chat_calls(emulator)] == ["USER", "USER"]


def test_stream_complete_and_astream_chat(llm, emulator):
    from llama_index.core.llms import ChatMessage

    pieces = [r.delta for r in llm.stream_complete("stream llama")]
    assert len(pieces) > 1 and "".join(pieces) == "Echo: stream llama"

    async def run() -> str:
        text = ""
        async for r in await llm.astream_chat([ChatMessage(role="user", content="async llama")]):
            text += r.delta or ""
        return text

    assert asyncio.run(run()) == "Echo: async llama"


def test_tools_through_predict_and_call(llm, emulator):
    from llama_index.core.tools import FunctionTool

    seen = []

    def get_weather(city: str) -> str:
        """Current weather in a city."""
        seen.append(city)
        return f"sunny in {city}"

    response = llm.predict_and_call([FunctionTool.from_defaults(fn=get_weather)], "What is the weather in Lima")
    assert seen == ["Lima"] and "sunny in Lima" in str(response)
    assert chat_calls(emulator)[0].json["chatRequest"]["tools"][0]["name"] == "get_weather"


def test_openai_embedding_through_an_alias(alias_front, emulator):
    from llama_index.embeddings.openai import OpenAIEmbedding

    embed = OpenAIEmbedding(model="text-embedding-3-small", api_base=f"{alias_front.url}/v1", api_key="sk-anything")
    texts = [f"node {i}" for i in range(120)]  # LlamaIndex sends 100 per request
    vectors = embed.get_text_embedding_batch(texts)
    calls = embed_calls(emulator)
    assert sorted(len(c.json["inputs"]) for c in calls) == [4, 20, 96]  # (100 -> 96 + 4) and 20
    assert all(c.json["servingMode"]["modelId"] == EMBED_MODEL for c in calls)
    for i in (0, 99, 100, 119):
        assert np.allclose(vectors[i], embedding_vector(EMBED_MODEL, texts[i], 1536), atol=1e-7)
    assert np.allclose(embed.get_query_embedding("q"), embedding_vector(EMBED_MODEL, "q", 1536), atol=1e-7)
