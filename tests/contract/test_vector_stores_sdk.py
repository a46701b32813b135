"""The vector-store API through the real ``openai`` SDK: documents dropped in a bucket (ingested by the real
ingest function into a real PostgreSQL with pgvector) are searched, listed and retrieved through the gateway
function behind the front. Queries equal to a chunk's text find it first: the emulator's vectors are a hash
of (model, text), so the same text gives the same vector."""

from __future__ import annotations

import json

import openai
import pytest

from core.vectorstores.ids import file_id
from tests.integration.ingest_world import DIMS, INPUT, MODEL, event, lines_of, upload

STORE = f"vs_{INPUT}"
DOCUMENTS = {
    "harbour.txt": "The harbour office opens at eight in the morning.\n\nBoats must register at the pier.\n",
    "weather.txt": "Storms are frequent in November.\n\nThe lighthouse keeper logs the wind every hour.\n",
    "menu.md": "# Menu\n\nFish soup is served on Fridays.\n",
}


@pytest.fixture
def world(vector_store_url, ingest_factory, gateway_front_factory, store):  # the database outlives the functions
    ingest = ingest_factory({"VECTOR_STORE_URL": vector_store_url})
    front = gateway_front_factory({"VECTOR_STORE_URL": vector_store_url, "INGEST_INPUT_BUCKETS": INPUT,
                                   "INGEST_EMBEDDING_MODEL": MODEL})
    etags = {}
    for name, text in DOCUMENTS.items():
        etags[name] = upload(store, name, text.encode(), "text/plain")
        store.get(INPUT, name).metadata["team"] = "ops" if name == "weather.txt" else "shore"
        assert ingest(event("createobject", name, etags[name]))["status"] == "embedded"
    client = openai.OpenAI(base_url=front.base_url + "/v1", api_key="unused", max_retries=0)
    return ingest, client, etags


def test_search_finds_the_chunk_with_openais_result_shape(world, emulator, store):
    _, client, etags = world
    emulator.reset()
    target = next(line for line in lines_of(store, "weather.txt") if "lighthouse" in line["text"])

    page = client.vector_stores.search(STORE, query=target["text"], max_num_results=3)

    first = page.data[0]
    assert first.filename == "weather.txt" and first.file_id == file_id(INPUT, "weather.txt")
    assert first.content[0].type == "text" and first.content[0].text == target["text"]
    assert first.score == pytest.approx(1.0, abs=1e-5) and len(page.data) == 3
    assert first.attributes == {"bucket": INPUT, "object": "weather.txt", "eTag": etags["weather.txt"],
                                "chunk": target["chunk"], "team": "ops"}
    assert [d.score for d in page.data] == sorted((d.score for d in page.data), reverse=True)
    embeds = [r.json for r in emulator.requests if r.path.endswith("/actions/embedText")]
    assert embeds and embeds[-1]["inputType"] == "SEARCH_QUERY" and embeds[-1]["servingMode"]["modelId"] == MODEL


def test_filters_ranking_options_and_several_queries(world, store):
    _, client, _ = world
    text = lines_of(store, "harbour.txt")[0]["text"]

    only_ops = client.vector_stores.search(STORE, query=text, filters={"type": "eq", "key": "team", "value": "ops"})
    assert {d.filename for d in only_ops.data} == {"weather.txt"}
    strict = client.vector_stores.search(STORE, query=text, ranking_options={"ranker": "none",
                                                                             "score_threshold": 0.99})
    assert [d.filename for d in strict.data] == ["harbour.txt"]
    menu = lines_of(store, "menu.md")[0]["text"]
    both = client.vector_stores.search(STORE, query=[text, menu], max_num_results=2)
    assert {d.filename for d in both.data} == {"harbour.txt", "menu.md"}


def test_list_and_retrieve_count_the_files(world):
    _, client, _ = world

    stores = list(client.vector_stores.list())

    assert [s.id for s in stores] == [STORE]
    retrieved = client.vector_stores.retrieve(STORE)
    assert retrieved.name == INPUT and retrieved.status == "completed"
    assert retrieved.file_counts.completed == 3 and retrieved.file_counts.total == 3
    assert retrieved.usage_bytes == sum(len(t.encode()) for t in DOCUMENTS.values())
    assert retrieved.metadata == {"bucket": INPUT, "model": MODEL, "dimensions": str(DIMS)}


def test_a_new_version_and_a_delete_show_in_search(world, store):
    ingest, client, _ = world
    new = upload(store, "menu.md", b"# Menu\n\nOyster stew is served on Saturdays.\n", "text/plain")
    assert ingest(event("updateobject", "menu.md", new))["status"] == "embedded"

    found = client.vector_stores.search(STORE, query="Oyster stew is served on Saturdays.", max_num_results=50)
    menus = [d for d in found.data if d.filename == "menu.md"]
    assert menus and {d.attributes["eTag"] for d in menus} == {new}
    assert not any("Fish soup" in d.content[0].text for d in found.data)

    store.remove(INPUT, "menu.md")
    assert ingest(event("deleteobject", "menu.md", None))["status"] == "removed"
    after = client.vector_stores.search(STORE, query="Oyster stew is served on Saturdays.", max_num_results=50)
    assert "menu.md" not in {d.filename for d in after.data}
    assert client.vector_stores.retrieve(STORE).file_counts.completed == 2


def test_bad_requests_unknown_stores_and_keys_that_may_not_use_a_store(world, gateway_front_factory,
                                                                      vector_store_url):
    _, client, _ = world
    with pytest.raises(openai.BadRequestError) as too_many:
        client.vector_stores.search(STORE, query="x", max_num_results=51)
    assert too_many.value.body["param"] == "max_num_results"
    with pytest.raises(openai.BadRequestError) as bad_filter:
        client.vector_stores.search(STORE, query="x", filters={"type": "near", "key": "team", "value": "ops"})
    assert bad_filter.value.body["param"] == "filters.type"
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.search("vs_elsewhere", query="x")
    limited = openai.OpenAI(base_url=client.base_url, api_key="unused", max_retries=0,
                            default_headers={"X-Gateway-Key-Id": "k1", "X-Gateway-Allowed-Models": "vs_other*"})
    assert list(limited.vector_stores.list()) == []
    with pytest.raises(openai.PermissionDeniedError):
        limited.vector_stores.search(STORE, query="x")
    allowed = openai.OpenAI(base_url=client.base_url, api_key="unused", max_retries=0,
                            default_headers={"X-Gateway-Key-Id": "k2", "X-Gateway-Allowed-Models": "vs_docs-*"})
    assert [s.id for s in allowed.vector_stores.list()] == [STORE]


def test_a_store_embedded_with_another_model_answers_409_naming_the_reembedding(world, gateway_front_factory,
                                                                               vector_store_url):
    front = gateway_front_factory({"VECTOR_STORE_URL": vector_store_url, "INGEST_INPUT_BUCKETS": INPUT,
                                   "INGEST_EMBEDDING_MODEL": "short-vectors",
                                   "MODEL_ALIASES": json.dumps({"short-vectors": {"model": "cohere.embed-v4.0",
                                                                                  "params": {"dimensions": 256}}})})
    client = openai.OpenAI(base_url=front.base_url + "/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.APIStatusError) as refused:
        client.vector_stores.search(STORE, query="Fish soup")
    assert refused.value.status_code == 409 and "--reembed" in refused.value.body["message"]
