"""``/v2/rerank``, ``/v1/rerank`` and ``/rerank`` through the router, with OCI rerankText mocked by respx.

The stand-in scores documents with the emulator's rule (share of the query's words found), and
every upstream body is checked against the oci SDK's ``RerankTextDetails`` and its answer
against ``RerankTextResult``.
"""

from __future__ import annotations

import json

import pytest
import respx

from core.exchange import HTTP, INVOKE, Headers, Request
from core.rerank.plan import plan_calls
from core.rerank.request import RerankRequest, parse_rerank_request
from core.rerank.response import merge_ranks
from handlers.router import dispatch
from local.emulator.rerank import document_ranks, relevance
from tests.conftest import GENAI, TEST_COMPARTMENT
from tests.support.oci_sdk import assert_sdk_roundtrip
from tests.support.oci_stub import sdk_checked_route
from tests.support.runtime import reset_settings

RERANK_URL = f"{GENAI}/actions/rerankText"
FAST = "cohere.rerank-v4.0-fast"
ENDPOINT = "ocid1.generativeaiendpoint.oc1.us-chicago-1.amaaaaaarerank35"
DOCS = ["Paris is the capital of France.", "Berlin is the capital of Germany.", "The Eiffel Tower is in Paris.",
        "Bananas are yellow."]
QUERY = "What is the capital of France?"


@pytest.fixture
def rerank_env(gateway_env):
    for name in ("MODEL_ALIASES", "SERVED_MODELS", "RERANK_MAX_DOCUMENTS_PER_CALL", "RERANK_CONCURRENCY"):
        gateway_env.delenv(name, raising=False)
    reset_settings()
    yield gateway_env
    reset_settings()


def configure(env, **values):
    for key, value in values.items():
        env.setenv(key, value if isinstance(value, str) else json.dumps(value))
    reset_settings()


def http(body, path="/v2/rerank", headers=None):
    return Request(method="POST", path=path, headers=Headers({"content-type": "application/json", **(headers or {})}),
                   body=json.dumps(body).encode(), kind=HTTP, request_id="REQ1")


def error_of(response) -> dict:
    body = json.loads(response.body)
    assert set(body) == {"error"}
    return body["error"]


@pytest.fixture
def oci():
    def answer(body):
        return {"id": "R", "modelId": body["servingMode"].get("modelId", "x"), "documentRanks": document_ranks(body)}

    with respx.mock(assert_all_called=False) as mock:
        yield sdk_checked_route(mock, RERANK_URL, "RerankTextDetails", "RerankTextResult", answer)


def expected_order(query, docs):
    scores = [relevance(query, d) for d in docs]
    return sorted(range(len(docs)), key=lambda i: (-scores[i], i)), scores


async def test_v2_cohere_shape(rerank_env, oci):
    response = await dispatch(http({"model": FAST, "query": QUERY, "documents": DOCS, "top_n": 2}))
    assert response.status == 200, response.body
    body = json.loads(response.body)
    order, scores = expected_order(QUERY, DOCS)
    assert body == {"id": "opc1", "results": [{"index": i, "relevance_score": scores[i]} for i in order[:2]],
                    "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}}
    assert body["results"][0]["index"] == 0  # the Paris/France document
    assert oci.sent == [{"input": QUERY, "compartmentId": TEST_COMPARTMENT,
                         "servingMode": {"servingType": "ON_DEMAND", "modelId": FAST},
                         "documents": DOCS, "topN": 2, "isEcho": False}]
    assert response.headers["x-request-id"] == "OPC1"


@pytest.mark.parametrize("path", ["/v1/rerank", "/rerank", "/prefix/v1/rerank"])
async def test_v1_shape_with_documents(rerank_env, oci, path):
    documents = [{"text": d} for d in DOCS]
    response = await dispatch(http({"model": FAST, "query": QUERY, "documents": documents,
                                    "return_documents": True}, path=path))
    body = json.loads(response.body)
    order, scores = expected_order(QUERY, DOCS)
    assert body["model"] == FAST and body["meta"]["api_version"] == {"version": "1"}
    assert body["results"] == [{"index": i, "relevance_score": scores[i], "document": {"text": DOCS[i]}}
                               for i in order]
    assert "usage" not in body  # OCI reports no tokens for rerank


async def test_open_webui_payload_gets_every_score(rerank_env, oci):
    # Open WebUI sorts the results by index and reads one relevance_score per document.
    response = await dispatch(http({"model": FAST, "query": QUERY, "documents": DOCS, "top_n": len(DOCS)},
                                   path="/v1/rerank"))
    results = sorted(json.loads(response.body)["results"], key=lambda r: r["index"])
    assert [r["relevance_score"] for r in results] == [relevance(QUERY, d) for d in DOCS]
    assert all("document" not in r for r in results)


async def test_long_lists_are_split_and_merged_by_score_then_top_n(rerank_env, oci):
    configure(rerank_env, RERANK_MAX_DOCUMENTS_PER_CALL="3")
    docs = [f"doc {i} " + ("capital france " if i % 4 == 0 else "") + ("paris" if i == 9 else "")
            for i in range(10)]
    query = "capital france paris"
    response = await dispatch(http({"model": FAST, "query": query, "documents": docs, "top_n": 4}))
    body = json.loads(response.body)
    assert [len(b["documents"]) for b in oci.sent] == [3, 3, 3, 1]
    assert [b["topN"] for b in oci.sent] == [3, 3, 3, 1]  # min(top_n, call size)
    order, scores = expected_order(query, docs)
    assert [r["index"] for r in body["results"]] == order[:4]
    assert body["results"][0]["relevance_score"] == scores[order[0]]
    assert body["meta"]["billed_units"]["search_units"] == 4


def test_the_byte_limit_splits_too_and_a_document_over_it_is_refused():
    request = RerankRequest(model=FAST, query="q", documents=("a" * 400, "b" * 400, "c" * 400))
    calls = plan_calls(request, serving_mode={"servingType": "ON_DEMAND", "modelId": FAST},
                       compartment_id=TEST_COMPARTMENT, max_documents=1000, max_bytes=1200)
    assert [(c.offset, c.count) for c in calls] == [(0, 2), (2, 1)]
    assert all(len(json.dumps(c.body, ensure_ascii=False).encode()) <= 1200 for c in calls)
    for call in calls:
        assert_sdk_roundtrip(call.body, "RerankTextDetails")
    with pytest.raises(Exception) as failure:
        plan_calls(RerankRequest(model=FAST, query="q", documents=("é" * 2000,)),
                   serving_mode={"servingType": "ON_DEMAND", "modelId": FAST}, compartment_id=TEST_COMPARTMENT,
                   max_documents=10, max_bytes=1200)
    assert failure.value.param == "documents[0]" and failure.value.status == 400


def test_merge_ties_keep_document_order_and_offsets_apply():
    from core.rerank.plan import RerankCall

    calls = [RerankCall(0, 2, {}), RerankCall(2, 2, {})]
    results = [{"documentRanks": [{"index": 1, "relevanceScore": 0.5}, {"index": 0, "relevanceScore": 0.1}]},
               {"documentRanks": [{"index": 0, "relevanceScore": 0.5}, {"index": 1, "relevanceScore": 0.9}]}]
    assert merge_ranks(calls, results, None) == [(3, 0.9), (1, 0.5), (2, 0.5), (0, 0.1)]
    assert merge_ranks(calls, results, 2) == [(3, 0.9), (1, 0.5)]


@pytest.mark.parametrize("answer", [{"documentRanks": [{"index": 5, "relevanceScore": 0.1}]},
                                    {"documentRanks": [{"index": 0}]}, {"id": "x"}])
def test_a_malformed_oci_answer_is_a_clean_500(answer):
    from core.errors import APIError
    from core.rerank.plan import RerankCall

    with pytest.raises(APIError) as failure:
        merge_ranks([RerankCall(0, 2, {})], [answer], None)
    assert failure.value.status == 500 and failure.value.code == "upstream_bad_response"


async def test_max_tokens_per_doc_and_chunks_reach_oci(rerank_env, oci):
    await dispatch(http({"model": FAST, "query": "france", "documents": ["a b c france"], "max_tokens_per_doc": 2,
                         "max_chunks_per_doc": 3}))
    assert oci.sent[0]["maxTokensPerDocument"] == 2 and oci.sent[0]["maxChunksPerDocument"] == 3


@pytest.mark.parametrize("body, param", [
    ({"query": "q", "documents": ["a"]}, "model"),
    ({"model": FAST, "documents": ["a"]}, "query"),
    ({"model": FAST, "query": " ", "documents": ["a"]}, "query"),
    ({"model": FAST, "query": "q"}, "documents"),
    ({"model": FAST, "query": "q", "documents": []}, "documents"),
    ({"model": FAST, "query": "q", "documents": "a"}, "documents"),
    ({"model": FAST, "query": "q", "documents": ["a", 3]}, "documents[1]"),
    ({"model": FAST, "query": "q", "documents": [{"title": "x"}]}, "documents[0].text"),
    ({"model": FAST, "query": "q", "documents": ["a"], "top_n": 0}, "top_n"),
    ({"model": FAST, "query": "q", "documents": ["a"], "top_n": "2"}, "top_n"),
    ({"model": FAST, "query": "q", "documents": ["a"], "max_tokens_per_doc": 0}, "max_tokens_per_doc"),
    ({"model": FAST, "query": "q", "documents": ["a"], "rank_fields": ["text"]}, "rank_fields"),
    ({"model": FAST, "query": "q", "documents": ["a"], "relevant_spans": {"mode": "enabled"}}, "relevant_spans.mode"),
])
async def test_bad_requests_name_the_param(rerank_env, oci, body, param):
    response = await dispatch(http(body))
    assert response.status == 400
    assert error_of(response)["param"] == param
    assert oci.call_count == 0


def test_accepted_extras_are_harmless():
    request = parse_rerank_request({"model": FAST, "query": "q", "documents": ["a"], "priority": 3,
                                    "relevant_spans": {"mode": "disabled"}})
    assert request.documents == ("a",) and request.return_documents is False


async def test_model_kind_and_allow_list(rerank_env, oci):
    response = await dispatch(http({"model": "meta.llama-3.3-70b-instruct", "query": "q", "documents": ["a"]}))
    assert response.status == 400 and error_of(response)["code"] == "model_not_supported"
    response = await dispatch(http({"model": FAST, "query": "q", "documents": ["a"]},
                                   headers={"x-gateway-key-id": "k1", "x-gateway-allowed-models": "meta.*"}))
    assert response.status == 403 and error_of(response)["code"] == "model_not_allowed"
    chat = await dispatch(http({"model": FAST, "messages": [{"role": "user", "content": "x"}]},
                               path="/v1/chat/completions"))
    assert chat.status == 400 and "/v1/rerank" in error_of(chat)["message"]
    assert oci.call_count == 0


async def test_rerank_3_5_needs_a_dedicated_alias(rerank_env, oci):
    response = await dispatch(http({"model": "cohere.rerank.v3-5", "query": "q", "documents": ["a"]}))
    assert response.status == 400 and error_of(response)["code"] == "model_not_on_demand"
    configure(rerank_env, MODEL_ALIASES={"rerank-3.5": {"model": "cohere.rerank.v3-5", "endpoint": ENDPOINT}})
    response = await dispatch(http({"model": "rerank-3.5", "query": "q", "documents": ["a q"]}))
    assert response.status == 200, response.body
    assert oci.sent[-1]["servingMode"] == {"servingType": "DEDICATED", "endpointId": ENDPOINT}


async def test_models_list_rerank_with_capability(rerank_env):
    configure(rerank_env, MODEL_ALIASES={"rerank-3.5": {"model": "cohere.rerank.v3-5", "endpoint": ENDPOINT}})
    response = await dispatch(Request(method="GET", path="/v1/models", kind=HTTP))
    models = {m["id"]: m for m in json.loads(response.body)["data"]}
    assert models[FAST]["type"] == "rerank" and models[FAST]["capabilities"] == {"rerank": True}
    assert models[FAST]["context_window"] == 32000
    assert "cohere.rerank-v4.0-pro" in models
    assert "cohere.rerank.v3-5" not in models  # dedicated-only: only its alias is listed
    assert models["rerank-3.5"]["alias_for"] == "cohere.rerank.v3-5"
    assert models["rerank-3.5"]["context_window"] == 4096


async def test_raw_invocation_by_shape(rerank_env, oci):
    request = Request(method="POST", path="", body=json.dumps({"model": FAST, "query": QUERY,
                                                                "documents": DOCS}).encode(), kind=INVOKE)
    body = json.loads((await dispatch(request)).body)
    assert body["results"][0]["index"] == 0 and body["model"] == FAST
