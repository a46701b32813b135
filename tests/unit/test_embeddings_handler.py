"""``POST /v1/embeddings`` end to end through the router, with OCI mocked by respx.

Every upstream body is checked against the oci SDK's ``EmbedTextDetails``.
"""

from __future__ import annotations

import base64
import json
import struct

import httpx
import pytest
import respx

from core import aliases
from core.embeddings import tokens
from tests.support.runtime import reset_settings
from core.exchange import HTTP, INVOKE, Headers, Request
from handlers.router import dispatch
from tests.conftest import GENAI, TEST_COMPARTMENT
from tests.support.oci_sdk import assert_sdk_roundtrip

EMBED_URL = f"{GENAI}/actions/embedText"
PNG = "data:image/png;base64,iVBORw0KGgo="
ENDPOINT = "ocid1.generativeaiendpoint.oc1.us-ashburn-1.amaaaaaadedicated"


@pytest.fixture
def embed_env(gateway_env):
    for name in ("MODEL_ALIASES", "MODEL_ALIASES_FILE", "SERVED_MODELS", "EMBEDDINGS_CONCURRENCY",
                 "EMBEDDINGS_TOKEN_ENCODING", "EMBEDDINGS_TRUNCATE"):
        gateway_env.delenv(name, raising=False)
    reset_settings()
    reset_settings()
    yield gateway_env
    reset_settings()


def configure(env, **values):
    for key, value in values.items():
        env.setenv(key, value if isinstance(value, str) else json.dumps(value))
    reset_settings()


def http(body, path="/v1/embeddings"):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Request(method="POST", path=path, headers=Headers({"content-type": "application/json"}), body=raw,
                   kind=HTTP, request_id="REQ1")


def error_of(response) -> dict:
    body = json.loads(response.body)
    assert set(body) == {"error"}
    return body["error"]


def fake_oci(sent: list):
    """An embedText stand-in: vector = [position of the input in the whole request, len(text)]."""

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert_sdk_roundtrip(body, "EmbedTextDetails")
        sent.append(body)
        dims = body.get("outputDimensions", 2)
        vectors = []
        for text in body["inputs"]:
            first = float(text[1:]) if text[:1] == "t" and text[1:].isdigit() else -1.0
            vectors.append(([first, float(len(text))] + [0.5] * dims)[:dims])
        n = len(body["inputs"])
        return httpx.Response(200, json={"id": "a/b/c", "embeddings": vectors, "modelId": "m", "modelVersion": "1",
                                         "usage": {"promptTokens": 2 * n, "totalTokens": 2 * n,
                                                   "completionTokens": 0}},
                              headers={"opc-request-id": f"OPC{len(sent)}"})

    return answer


@pytest.fixture
def oci():
    sent: list[dict] = []
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(EMBED_URL).mock(side_effect=fake_oci(sent))
        route.sent = sent
        yield route


@pytest.fixture
def before_v3_retirement(monkeypatch):
    """The day before OCI retired Cohere Embed v3 (2026-10-21): a text-only, fixed-size model was still served."""
    monkeypatch.setattr(aliases, "today_utc", lambda: "2026-10-20")


async def test_string_input_float(embed_env, oci):
    response = await dispatch(http({"model": "cohere.embed-v4.0", "input": "t7",
                                    "encoding_format": "float"}))
    assert response.status == 200, response.body
    body = json.loads(response.body)
    assert body["object"] == "list" and body["model"] == "cohere.embed-v4.0"
    assert body["data"] == [{"object": "embedding", "index": 0, "embedding": [7.0, 2.0]}]
    assert body["usage"] == {"prompt_tokens": 2, "total_tokens": 2}
    assert response.headers["x-request-id"] == "OPC1"
    assert oci.sent == [{"inputs": ["t7"], "servingMode": {"servingType": "ON_DEMAND",
                                                            "modelId": "cohere.embed-v4.0"},
                         "compartmentId": TEST_COMPARTMENT, "inputType": "SEARCH_DOCUMENT", "truncate": "END"}]


async def test_1000_inputs_become_11_calls_reassembled_in_order(embed_env, oci):
    texts = [f"t{i}" for i in range(1000)]
    response = await dispatch(http({"model": "cohere.embed-v4.0", "input": texts, "encoding_format": "float"}))
    assert response.status == 200
    body = json.loads(response.body)
    assert oci.call_count == 11
    assert sorted(len(b["inputs"]) for b in oci.sent) == [40] + [96] * 10
    assert sorted(t for b in oci.sent for t in b["inputs"]) == sorted(texts)
    assert [d["index"] for d in body["data"]] == list(range(1000))
    assert [d["embedding"][0] for d in body["data"]] == [float(i) for i in range(1000)]
    assert body["usage"]["prompt_tokens"] == 2000


async def test_base64_matches_float(embed_env, oci):
    request = {"model": "cohere.embed-v4.0", "input": ["t1", "t22"]}
    as_float = json.loads((await dispatch(http({**request, "encoding_format": "float"}))).body)
    as_b64 = json.loads((await dispatch(http({**request, "encoding_format": "base64"}))).body)
    for f, b in zip(as_float["data"], as_b64["data"]):
        raw = base64.b64decode(b["embedding"])
        assert list(struct.unpack(f"<{len(raw) // 4}f", raw)) == pytest.approx(f["embedding"])


async def test_token_ids_are_decoded_with_cl100k(embed_env, oci):
    response = await dispatch(http({"model": "cohere.embed-v4.0", "input": [[9906, 11, 1917, 0], [83, 22]],
                                    "encoding_format": "float"}))
    assert response.status == 200
    assert oci.sent[0]["inputs"] == ["Hello, world!", "t7"]


async def test_text_requests_never_load_the_tokenizer(embed_env, oci, monkeypatch):
    reset_settings()  # a fresh process state: no table built yet
    await dispatch(http({"model": "cohere.embed-v4.0", "input": ["a", "b"]}))
    assert not tokens.is_loaded("cl100k_base")


async def test_token_ids_refused_when_disabled(embed_env, oci):
    configure(embed_env, EMBEDDINGS_TOKEN_ENCODING="none")
    response = await dispatch(http({"model": "cohere.embed-v4.0", "input": [1, 2, 3]}))
    assert response.status == 400 and error_of(response)["code"] == "token_ids_not_supported"
    assert oci.call_count == 0


async def test_undecodable_token_ids_are_400(embed_env, oci):
    response = await dispatch(http({"model": "cohere.embed-v4.0", "input": [[1, 2], [5, 999999999]]}))
    err = error_of(response)
    assert response.status == 400 and err["param"] == "input[1]" and err["code"] == "invalid_token_ids"
    assert oci.call_count == 0


async def test_dimensions_honoured_on_v4(embed_env, oci):
    response = await dispatch(http({"model": "cohere.embed-v4.0", "input": "t3", "dimensions": 256,
                                    "encoding_format": "float"}))
    assert response.status == 200
    assert oci.sent[0]["outputDimensions"] == 256
    assert len(json.loads(response.body)["data"][0]["embedding"]) == 256


async def test_options_and_extras_reach_oci(embed_env, oci):
    configure(embed_env, EMBEDDINGS_TRUNCATE="START")
    await dispatch(http({"model": "cohere.embed-v4.0", "input": "q", "input_type": "search_query"}))
    await dispatch(http({"model": "cohere.embed-v4.0", "input": "q", "truncate": "NONE"}))
    assert (oci.sent[0]["inputType"], oci.sent[0]["truncate"]) == ("SEARCH_QUERY", "START")
    assert (oci.sent[1]["inputType"], oci.sent[1]["truncate"]) == ("SEARCH_DOCUMENT", "NONE")


async def test_images_go_one_per_call_as_image_input_type(embed_env, oci):
    response = await dispatch(http({"model": "cohere.embed-v4.0", "input": [PNG, PNG, "cap"],
                                    "encoding_format": "float"}))
    assert response.status == 200, response.body
    assert oci.call_count == 3
    images = [b for b in oci.sent if b["inputType"] == "IMAGE"]
    assert len(images) == 2 and all(b["inputs"] == [PNG] for b in images)
    assert [d["index"] for d in json.loads(response.body)["data"]] == [0, 1, 2]


@pytest.mark.parametrize("body, status, param, code", [
    ({"model": "cohere.embed-v4.0", "input": []}, 400, "input", "invalid_value"),
    ({"model": "cohere.embed-v4.0", "input": ""}, 400, "input", "invalid_value"),
    ({"model": "cohere.embed-v4.0", "input": ["a", ""]}, 400, "input[1]", "invalid_value"),
    ({"model": "cohere.embed-v4.0", "input": 12}, 400, "input", "invalid_type"),
    ({"model": "cohere.embed-v4.0", "input": ["a", ["b"]]}, 400, "input[1]", "invalid_type"),
    ({"model": "cohere.embed-v4.0"}, 400, "input", "missing_required_parameter"),
    ({"input": "x"}, 400, "model", "missing_required_parameter"),
    ({"model": 3, "input": "x"}, 400, "model", "invalid_type"),
    ({"model": "cohere.embed-english-v3.0", "input": "a"}, 404, "model", "model_not_found"),
    ({"model": "cohere.embed-v4.0", "input": "a", "dimensions": 100}, 400, "dimensions", "unsupported_dimensions"),
    ({"model": "cohere.embed-v4.0", "input": "a", "encoding_format": "binary"}, 400, "encoding_format",
     "invalid_value"),
    ({"model": "meta.llama-3.3-70b-instruct", "input": "a"}, 400, "model", "model_not_supported"),
    ({"model": "text-embedding-3-small", "input": "a"}, 404, "model", "model_not_found"),
    ({"model": "nonsense", "input": "a"}, 404, "model", "model_not_found"),
])
async def test_bad_requests_never_reach_oci(embed_env, oci, body, status, param, code):
    response = await dispatch(http(body))
    err = error_of(response)
    assert (response.status, err["param"], err["code"]) == (status, param, code), err
    assert oci.call_count == 0


async def test_retired_model_is_404_naming_replacement(embed_env, oci):
    response = await dispatch(http({"model": "cohere.command", "input": "a"}))
    err = error_of(response)
    assert response.status == 404 and err["code"] == "model_not_found"
    assert "retired" in err["message"] and "cohere.command-a-03-2025" in err["message"]


async def test_unlisted_cohere_embed_model_is_passed_through(embed_env, oci):
    response = await dispatch(http({"model": "cohere.embed-v5.0", "input": "x"}))
    assert response.status == 200
    assert oci.sent[0]["servingMode"]["modelId"] == "cohere.embed-v5.0"


async def test_one_failing_batch_fails_the_request_with_its_status(embed_env):
    calls = []

    def answer(request):
        calls.append(1)
        if len(calls) == 2:
            return httpx.Response(400, json={"code": "InvalidParameter", "message": "bad input"})
        body = json.loads(request.content)
        return httpx.Response(200, json={"embeddings": [[1.0]] * len(body["inputs"])})

    with respx.mock:
        respx.post(EMBED_URL).mock(side_effect=answer)
        response = await dispatch(http({"model": "cohere.embed-v4.0", "input": [f"t{i}" for i in range(300)]}))
    assert response.status == 400 and "bad input" in error_of(response)["message"]


async def test_upstream_wrong_count_is_503_not_a_short_answer(embed_env):
    with respx.mock:
        respx.post(EMBED_URL).mock(return_value=httpx.Response(200, json={"embeddings": [[1.0]]}))
        response = await dispatch(http({"model": "cohere.embed-v4.0", "input": ["a", "b"]}))
    assert response.status == 503 and error_of(response)["code"] == "upstream_bad_response"


async def test_alias_maps_openai_name_with_default_params(embed_env, oci):
    configure(embed_env, MODEL_ALIASES={"text-embedding-3-small": {
        "model": "cohere.embed-v4.0", "params": {"dimensions": 1024, "input_type": "search_query"}}})
    response = await dispatch(http({"model": "text-embedding-3-small", "input": "t5", "encoding_format": "float"}))
    assert response.status == 200, response.body
    body = json.loads(response.body)
    assert body["model"] == "text-embedding-3-small" and len(body["data"][0]["embedding"]) == 1024
    sent = oci.sent[0]
    assert sent["servingMode"] == {"servingType": "ON_DEMAND", "modelId": "cohere.embed-v4.0"}
    assert (sent["outputDimensions"], sent["inputType"]) == (1024, "SEARCH_QUERY")
    # The caller's own values win over the alias defaults.
    await dispatch(http({"model": "text-embedding-3-small", "input": "x", "dimensions": 512,
                         "input_type": "search_document"}))
    assert (oci.sent[1]["outputDimensions"], oci.sent[1]["inputType"]) == (512, "SEARCH_DOCUMENT")


@pytest.mark.parametrize("body, param, code", [
    ({"model": "cohere.embed-english-v3.0", "input": ["a", PNG]}, "input[1]", "image_input_not_supported"),
    ({"model": "cohere.embed-english-v3.0", "input": "a", "dimensions": 256}, "dimensions", "unsupported_dimensions"),
])
async def test_what_a_text_only_fixed_size_model_cannot_do_never_reaches_oci(embed_env, oci, before_v3_retirement,
                                                                             body, param, code):
    response = await dispatch(http(body))
    err = error_of(response)
    assert (response.status, err["param"], err["code"]) == (400, param, code), err
    assert oci.call_count == 0


async def test_a_retired_embedding_model_names_its_replacement_without_calling_oci(embed_env, oci):
    response = await dispatch(http({"model": "cohere.embed-multilingual-v3.0", "input": "a"}))
    err = error_of(response)
    assert response.status == 404 and err["code"] == "model_not_found"
    assert "retired by OCI Generative AI on 2026-10-21" in err["message"] and "cohere.embed-v4.0" in err["message"]
    assert oci.call_count == 0


async def test_dedicated_alias_in_another_region_and_compartment(embed_env):
    configure(embed_env, MODEL_ALIASES={"docs-embed": {
        "model": "cohere.embed-v4.0", "endpoint": ENDPOINT, "region": "us-ashburn-1",
        "compartment": "ocid1.compartment.oc1..dac"}})
    url = "https://inference.generativeai.us-ashburn-1.oci.oraclecloud.com/20231130/actions/embedText"
    with respx.mock:
        route = respx.post(url).mock(return_value=httpx.Response(200, json={"embeddings": [[0.5] * 4]}))
        response = await dispatch(http({"model": "docs-embed", "input": "x"}))
    assert response.status == 200, response.body
    sent = json.loads(route.calls.last.request.content)
    assert_sdk_roundtrip(sent, "EmbedTextDetails")
    assert sent["servingMode"] == {"servingType": "DEDICATED", "endpointId": ENDPOINT}
    assert sent["compartmentId"] == "ocid1.compartment.oc1..dac"


async def test_fn_invoke_with_input_is_routed_to_embeddings(embed_env, oci):
    body = json.dumps({"model": "cohere.embed-v4.0", "input": "t1", "encoding_format": "float"}).encode()
    response = await dispatch(Request(body=body, kind=INVOKE))
    assert response.status == 200 and json.loads(response.body)["data"][0]["embedding"][0] == 1.0


async def test_malformed_alias_setting_is_500_naming_it(embed_env, oci):
    configure(embed_env, MODEL_ALIASES={"x": {"modle": "typo"}})
    response = await dispatch(http({"model": "cohere.embed-v4.0", "input": "a"}))
    assert response.status == 500 and "MODEL_ALIASES" in error_of(response)["message"]
