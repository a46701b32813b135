"""The API-key allow-list on embeddings and /v1/models (chat is covered in test_policy.py)."""

from __future__ import annotations

import json

import httpx
import respx

from core.exchange import HTTP, Headers, Request
from handlers.router import dispatch
from tests.conftest import GENAI

KEY = {"x-gateway-key-id": "k1", "x-gateway-allowed-models": "meta.*,cohere.embed-v4.0"}


def call(method: str, path: str, body: dict | None = None, headers: dict | None = None) -> Request:
    return Request(method=method, path=path, headers=Headers({"content-type": "application/json", **(headers or {})}),
                   body=json.dumps(body).encode() if body is not None else b"", kind=HTTP)


async def test_embeddings_outside_the_allow_list_is_403_before_oci(gateway_env):
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(f"{GENAI}/actions/embedText").mock(return_value=httpx.Response(500))
        response = await dispatch(call("POST", "/v1/embeddings", {"model": "cohere.embed-v5.0",
                                                                 "input": "x"}, KEY))
    assert response.status == 403 and route.call_count == 0
    assert json.loads(response.body)["error"]["code"] == "model_not_allowed"


@respx.mock
async def test_embeddings_inside_the_allow_list_pass(gateway_env):
    respx.post(f"{GENAI}/actions/embedText").mock(return_value=httpx.Response(200, json={
        "id": "i", "embeddings": [[0.5, 0.5]], "modelId": "cohere.embed-v4.0",
        "usage": {"promptTokens": 1, "totalTokens": 1}}))
    response = await dispatch(call("POST", "/v1/embeddings", {"model": "cohere.embed-v4.0", "input": "x",
                                                             "encoding_format": "float"}, KEY))
    assert response.status == 200, response.body


async def test_models_list_and_lookup_follow_the_allow_list(gateway_env):
    listed = json.loads((await dispatch(call("GET", "/v1/models", headers=KEY))).body)["data"]
    ids = {m["id"] for m in listed}
    assert "meta.llama-3.3-70b-instruct" in ids and "cohere.embed-v4.0" in ids
    assert not any(i.startswith(("xai.", "google.")) or i == "cohere.command-a-03-2025" for i in ids)
    everything = json.loads((await dispatch(call("GET", "/v1/models"))).body)["data"]
    assert len(everything) > len(listed)
    hidden = await dispatch(call("GET", "/v1/models/xai.grok-4.3", headers=KEY))
    assert hidden.status == 404
    assert (await dispatch(call("GET", "/v1/models/meta.llama-3.3-70b-instruct", headers=KEY))).status == 200
