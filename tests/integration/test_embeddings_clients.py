"""Embeddings and /v1/models with the real clients, through the real fdk and the OCI emulator.

The emulator's vectors are a deterministic function of (model, text, size)
(:func:`local.emulator.genai.embedding_vector`), so each test can check that every returned
vector belongs to the right input: order, batching and token-id decoding are proven, not
assumed.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from local.emulator.genai import embedding_vector

pytestmark = pytest.mark.integration

V4 = "cohere.embed-v4.0"
V3 = "cohere.embed-english-v3.0"  # retired by OCI on 2026-10-21
PNG = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5E"
       "rkJggg==")
CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
ALIASES = {
    "text-embedding-3-small": {"model": V4, "params": {"dimensions": 1536, "input_type": "search_document"}},
    "text-embedding-3-large": {"model": V4, "params": {"dimensions": 1024}},
    "gpt-4o": "meta.llama-3.3-70b-instruct",
}


def embed_calls(emulator) -> list[dict]:
    return [r.json for r in emulator.requests if r.path.endswith("/actions/embedText")]


def expected(model: str, text: str, dims: int) -> np.ndarray:
    return np.asarray(embedding_vector(model, text, dims), dtype=np.float32)


def openai_client(front):
    import openai

    return openai.OpenAI(base_url=f"{front.url}/v1", api_key="sk-local", max_retries=0)


@pytest.fixture(scope="module")
def tiktoken_offline(tmp_path_factory):
    """tiktoken's cache seeded from bpe-openai's cl100k_base (tiktoken names the file by sha1 of its URL)."""
    from core.token_ranks import rank_file

    cache = tmp_path_factory.mktemp("tiktoken-cache")
    blob = gzip.decompress(rank_file("cl100k_base").read_bytes())
    (cache / hashlib.sha1(CL100K_URL.encode()).hexdigest()).write_bytes(blob)
    return cache


@pytest.fixture
def offline_tiktoken(tiktoken_offline: Path, monkeypatch):
    import tiktoken.load

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tiktoken_offline))

    def no_network(url: str) -> bytes:
        raise AssertionError(f"tiktoken tried to download {url}")

    monkeypatch.setattr(tiktoken.load, "read_file", no_network)


@pytest.fixture
def alias_front(gateway_front_factory):
    return gateway_front_factory({"MODEL_ALIASES": json.dumps(ALIASES)})


# --- openai SDK ----------------------------------------------------------------------------------


def test_default_base64_and_float_decode_to_the_same_vectors(front, emulator):
    client = openai_client(front)
    texts = ["OpenTelemetry is an observability framework", "OCI Generative AI serves Cohere embeddings"]
    default = client.embeddings.create(model=V4, input=texts)  # the SDK asks for base64 and decodes it
    floats = client.embeddings.create(model=V4, input=texts, encoding_format="float")
    assert [c["inputs"] for c in embed_calls(emulator)] == [texts, texts]
    for b64, flt, text in zip(default.data, floats.data, texts):
        assert np.array_equal(np.asarray(b64.embedding, dtype=np.float32), np.asarray(flt.embedding, dtype=np.float32))
        assert np.allclose(flt.embedding, expected(V4, text, 1536), atol=1e-7)
    assert default.model == V4 and default.usage.prompt_tokens > 0
    assert default.usage.total_tokens == default.usage.prompt_tokens


def test_base64_from_oci_is_compared_once_then_passed_through(gateway_front_factory, emulator):
    client = openai_client(gateway_front_factory({}))  # a fresh process: nothing learned yet
    texts = [["the first request compares"], ["the second passes through", "OCI's own strings"]]
    answers = [client.embeddings.create(model=V4, input=inputs) for inputs in texts]  # the SDK's default: base64
    calls = embed_calls(emulator)
    assert [c.get("embeddingTypes") for c in calls] == [["float", "base64"], ["base64"]]
    for answer, inputs in zip(answers, texts):
        for item, text in zip(answer.data, inputs):
            assert np.array_equal(np.asarray(item.embedding, dtype=np.float32), expected(V4, text, 1536))


def test_1000_inputs_become_11_upstream_calls_assembled_in_order(front, emulator):
    texts = [f"document number {i}" for i in range(1000)]
    result = openai_client(front).embeddings.create(model=V4, input=texts, encoding_format="float")
    calls = embed_calls(emulator)
    assert len(calls) == 11
    chunks = sorted((c["inputs"] for c in calls), key=lambda inputs: texts.index(inputs[0]))
    assert [len(c) for c in chunks] == [96] * 10 + [40]
    assert [t for chunk in chunks for t in chunk] == texts  # contiguous slices, nothing lost or repeated
    assert [d.index for d in result.data] == list(range(1000))
    for item in result.data[::37] + result.data[-1:]:
        assert np.allclose(item.embedding, expected(V4, texts[item.index], 1536), atol=1e-7)


def test_dimensions_honoured_on_v4_and_a_size_it_lacks_refused(front, emulator):
    import openai

    client = openai_client(front)
    result = client.embeddings.create(model=V4, input="short", dimensions=512)
    assert len(result.data[0].embedding) == 512
    assert embed_calls(emulator)[0]["outputDimensions"] == 512
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(model=V4, input="short", dimensions=300)
    assert caught.value.body["param"] == "dimensions"
    assert len(embed_calls(emulator)) == 1  # refused before any upstream call


def test_a_retired_model_is_404_naming_its_replacement(front, emulator):
    import openai

    with pytest.raises(openai.NotFoundError) as caught:
        openai_client(front).embeddings.create(model=V3, input="short")
    assert caught.value.body["code"] == "model_not_found" and V4 in caught.value.body["message"]
    assert embed_calls(emulator) == []


def test_input_type_extra_body_and_token_ids(front, emulator):
    client = openai_client(front)
    client.embeddings.create(model=V4, input="where is the policy?", extra_body={"input_type": "search_query"})
    ids = [[9906, 11, 1917, 0]]  # "Hello, world!" in cl100k_base
    result = client.embeddings.create(model=V4, input=ids, encoding_format="float")
    calls = embed_calls(emulator)
    assert calls[0]["inputType"] == "SEARCH_QUERY"
    assert calls[1]["inputs"] == ["Hello, world!"] and calls[1]["inputType"] == "SEARCH_DOCUMENT"
    assert np.allclose(result.data[0].embedding, expected(V4, "Hello, world!", 1536), atol=1e-7)


def test_images_one_call_each(front, emulator):
    client = openai_client(front)
    result = client.embeddings.create(model=V4, input=[PNG, PNG], encoding_format="float")
    calls = embed_calls(emulator)
    assert len(calls) == 2 and all(c["inputs"] == [PNG] and c["inputType"] == "IMAGE" for c in calls)
    assert [d.index for d in result.data] == [0, 1]


@pytest.mark.parametrize("kwargs, status", [
    ({"model": V4, "input": []}, 400),
    ({"model": V4, "input": ""}, 400),
    ({"model": "no-such-model", "input": "x"}, 404),
    ({"model": "meta.llama-3.3-70b-instruct", "input": "x"}, 400),
])
def test_bad_requests_get_openai_errors(front, emulator, kwargs, status):
    import openai

    with pytest.raises(openai.APIStatusError) as caught:
        openai_client(front).embeddings.create(**kwargs)
    assert caught.value.status_code == status
    assert embed_calls(emulator) == []


def test_models_list_and_retrieve(front, emulator):
    import openai

    client = openai_client(front)
    ids = {m.id for m in client.models.list()}
    assert {V4, "meta.llama-3.3-70b-instruct"} <= ids and V3 not in ids
    assert client.models.retrieve(V4).owned_by == "cohere"
    with pytest.raises(openai.NotFoundError) as caught:
        client.models.retrieve("gpt-5-turbo-ultra")
    assert caught.value.body["code"] == "model_not_found"
    # Built from OCI's model list (read at most once per container per TTL) and the catalog: no model call.
    assert all(r.method == "GET" and r.path.startswith("/20231130/model") for r in emulator.requests)


# --- LangChain -----------------------------------------------------------------------------------


def test_langchain_openai_embeddings_default_config(front, emulator, offline_tiktoken, monkeypatch):
    from langchain_openai import OpenAIEmbeddings

    embeddings = OpenAIEmbeddings(model=V4, base_url=f"{front.url}/v1", api_key="sk-local", max_retries=0)
    assert embeddings.check_embedding_ctx_length and embeddings.chunk_size == 1000  # the defaults under test
    sent: list = []
    create = embeddings.client.create

    def spy(**kwargs):
        sent.append(kwargs["input"])
        return create(**kwargs)

    monkeypatch.setattr(embeddings.client, "create", spy)
    texts = [f"chunk {i}: naïve café, 東京 — text for the vector store" for i in range(1200)]
    vectors = embeddings.embed_documents(texts)
    assert [len(batch) for batch in sent] == [1000, 200]
    assert all(isinstance(item, list) and isinstance(item[0], int) for batch in sent for item in batch)  # token ids
    calls = embed_calls(emulator)
    assert len(calls) == 11 + 3  # two gateway requests (1000 + 200 token arrays) -> 96-input OCI calls
    assert sorted(t for c in calls for t in c["inputs"]) == sorted(texts)  # token ids decoded to the exact text
    assert len(vectors) == 1200
    for i in (0, 1, 517, 999, 1000, 1199):
        assert np.allclose(vectors[i], expected(V4, texts[i], 1536), atol=1e-6)
    query = embeddings.embed_query("what is in the vector store?")
    assert np.allclose(query, expected(V4, "what is in the vector store?", 1536), atol=1e-6)


def test_langchain_through_alias_gets_alias_dimensions(alias_front, emulator, offline_tiktoken):
    from langchain_openai import OpenAIEmbeddings

    embeddings = OpenAIEmbeddings(model="text-embedding-3-large", base_url=f"{alias_front.url}/v1",
                                  api_key="sk-local", max_retries=0)
    [vector] = embeddings.embed_documents(["hello"])
    assert len(vector) == 1024
    [call] = embed_calls(emulator)
    assert call["servingMode"] == {"servingType": "ON_DEMAND", "modelId": V4} and call["outputDimensions"] == 1024


# --- LlamaIndex ----------------------------------------------------------------------------------


def test_llamaindex_openai_embedding_through_alias(alias_front, emulator):
    from llama_index.embeddings.openai import OpenAIEmbedding

    embed = OpenAIEmbedding(model="text-embedding-3-small", api_base=f"{alias_front.url}/v1", api_key="sk-local",
                            max_retries=0)
    texts = [f"node {i}" for i in range(250)]
    vectors = embed.get_text_embedding_batch(texts)  # LlamaIndex sends 100 per request
    calls = embed_calls(emulator)
    # Three gateway requests (100, 100, 50) -> OCI calls of 96+4, 96+4 and 50.
    assert sorted(len(c["inputs"]) for c in calls) == [4, 4, 50, 96, 96]
    assert {json.dumps(c["servingMode"], sort_keys=True) for c in calls} == {
        json.dumps({"servingType": "ON_DEMAND", "modelId": V4}, sort_keys=True)}
    assert all(c["outputDimensions"] == 1536 and c["inputType"] == "SEARCH_DOCUMENT" for c in calls)
    for i in (0, 99, 100, 249):
        assert np.allclose(vectors[i], expected(V4, texts[i], 1536), atol=1e-7)
    query = embed.get_query_embedding("which node?")
    assert np.allclose(query, expected(V4, "which node?", 1536), atol=1e-7)


def test_alias_listed_in_models(alias_front, emulator):
    client = openai_client(alias_front)
    listed = {m.id: m for m in client.models.list()}
    assert listed["text-embedding-3-small"].model_extra["alias_for"] == V4
    assert listed["gpt-4o"].model_extra["type"] == "chat"
