"""Rerank through the clients that call it: the ``cohere`` SDK (v2), LangChain's and LlamaIndex's Cohere
rerankers, and Open WebUI's external-reranker payload with curl, against the gateway through the real fdk and
the OCI emulator.

``langchain-cohere`` and ``llama-index-postprocessor-cohere-rerank`` pin cohere<6 / <7; they are installed with
``--no-deps`` (requirements-dev-nodeps.txt) and work with cohere 7, as these tests show.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess

import pytest

from local.emulator.rerank import relevance

pytestmark = pytest.mark.integration

FAST = "cohere.rerank-v4.0-fast"
QUERY = "What is the capital of France?"
DOCS = ["Berlin is the capital of Germany.", "Bananas are yellow.", "Paris is the capital of France.",
        "The Eiffel Tower is in Paris."]


def rerank_calls(emulator) -> list:
    calls = [r for r in emulator.requests if r.path.endswith("/actions/rerankText")]
    assert calls and all(c.verified for c in calls), [c.verify_reason for c in calls]
    return calls


def expected(query: str, docs: list[str], top_n: int | None = None) -> list[tuple[int, float]]:
    scores = [relevance(query, d) for d in docs]
    order = sorted(range(len(docs)), key=lambda i: (-scores[i], i))
    return [(i, scores[i]) for i in order[:top_n]]


def test_cohere_client_v2(front, emulator):
    import cohere

    client = cohere.ClientV2(api_key="anything", base_url=front.url)
    response = client.rerank(model=FAST, query=QUERY, documents=DOCS, top_n=2)
    assert [(r.index, r.relevance_score) for r in response.results] == expected(QUERY, DOCS, 2)
    assert response.meta.billed_units.search_units == 1
    assert response.meta.api_version.version == "2"
    assert rerank_calls(emulator)[0].json["topN"] == 2


def test_async_cohere_client_v2_splits_long_lists(gateway_front_factory, emulator):
    import cohere

    front = gateway_front_factory({"RERANK_MAX_DOCUMENTS_PER_CALL": "2"})

    async def run():
        client = cohere.AsyncClientV2(api_key="anything", base_url=front.url)
        return await client.rerank(model=FAST, query=QUERY, documents=DOCS)

    response = asyncio.run(run())
    assert [(r.index, r.relevance_score) for r in response.results] == expected(QUERY, DOCS)
    assert len(rerank_calls(emulator)) == 2 and response.meta.billed_units.search_units == 2


def test_cohere_errors_are_raised_as_bad_request(front, emulator):
    import cohere

    client = cohere.ClientV2(api_key="anything", base_url=front.url)
    with pytest.raises(cohere.BadRequestError) as failure:
        client.rerank(model=FAST, query=QUERY, documents=[])
    assert failure.value.body["error"]["param"] == "documents"
    with pytest.raises(cohere.NotFoundError):
        client.rerank(model="cohere.rerank-imaginary-9", query=QUERY, documents=DOCS)


def test_langchain_cohere_rerank(front, emulator):
    from langchain_cohere import CohereRerank
    from langchain_core.documents import Document

    reranker = CohereRerank(model=FAST, cohere_api_key="anything", base_url=front.url, top_n=2)
    documents = [Document(page_content=d, metadata={"n": i}) for i, d in enumerate(DOCS)]
    kept = reranker.compress_documents(documents, QUERY)
    best = expected(QUERY, DOCS, 2)
    assert [d.metadata["n"] for d in kept] == [i for i, _ in best]
    assert [d.metadata["relevance_score"] for d in kept] == [s for _, s in best]


def test_llamaindex_cohere_rerank(front, emulator):
    from llama_index.core.schema import NodeWithScore, TextNode
    from llama_index.postprocessor.cohere_rerank import CohereRerank

    reranker = CohereRerank(model=FAST, api_key="anything", base_url=front.url, top_n=3, max_retries=1)
    nodes = [NodeWithScore(node=TextNode(text=d, id_=f"n{i}"), score=0.0) for i, d in enumerate(DOCS)]
    ranked = reranker.postprocess_nodes(nodes, query_str=QUERY)
    best = expected(QUERY, DOCS, 3)
    assert [n.node.node_id for n in ranked] == [f"n{i}" for i, _ in best]
    assert [n.score for n in ranked] == [s for _, s in best]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_open_webui_external_reranker_payload_with_curl(front, emulator):
    # Exactly what Open WebUI's ExternalReranker posts (model, query, documents, top_n = len(documents)).
    payload = {"model": FAST, "query": QUERY, "documents": DOCS, "top_n": len(DOCS)}
    out = subprocess.run(["curl", "-sS", "-X", "POST", f"{front.url}/v1/rerank", "-H", "Content-Type: application/json",
                          "-H", "Authorization: Bearer anything", "-d", json.dumps(payload)],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    body = json.loads(out)
    by_index = sorted(body["results"], key=lambda r: r["index"])  # what Open WebUI does with the answer
    assert [r["relevance_score"] for r in by_index] == [relevance(QUERY, d) for d in DOCS]
    assert body["model"] == FAST
