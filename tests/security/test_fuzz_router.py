"""Fuzzing the front door: whatever a caller sends, the answer is a clean OpenAI error or a real answer.

Hypothesis drives the router with arbitrary methods, paths, headers, raw bytes and JSON
(including JSON that looks almost right). Invariants: never a 5xx for caller input
(upstream is healthy here), never a traceback, every error body is OpenAI-shaped JSON.
"""

from __future__ import annotations

import json

import httpx
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.exchange import HTTP, INVOKE, Headers, Request
from handlers.router import dispatch
from tests.conftest import GENAI

LLAMA_RESULT = {"modelId": "meta.llama-3.3-70b-instruct", "modelVersion": "1", "chatResponse": {
    "apiFormat": "GENERIC", "timeCreated": "2026-01-01T00:00:00.000Z", "choices": [
        {"index": 0, "message": {"role": "ASSISTANT", "content": [{"type": "TEXT", "text": "ok"}]},
         "finishReason": "stop"}], "usage": {"promptTokens": 1, "completionTokens": 1, "totalTokens": 2}}}
EMBED_RESULT = {"id": "x", "embeddings": [[0.1, 0.2]], "modelId": "cohere.embed-english-v3.0",
                "usage": {"promptTokens": 1, "totalTokens": 1}}

PATHS = ["/v1/chat/completions", "/v1/embeddings", "/v1/models", "/v1/models/meta.llama-3.3-70b-instruct",
         "/x/v1/chat/completions", "/v1/models/%2e%2e%2fetc", "/../../v1/chat/completions", "/", "",
         "/v1/chat/completions?stream=true", "/v1//chat//completions"]

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
              st.floats(allow_nan=False), st.text(max_size=20)),
    lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(st.text(max_size=10), c, max_size=4)),
    max_leaves=12,
)
near_miss_chat = st.fixed_dictionaries(
    {"model": st.one_of(st.sampled_from(["meta.llama-3.3-70b-instruct", "cohere.command-r-08-2024", "", "x",
                                         "cohere.embed-english-v3.0", "../../etc"]), json_values),
     "messages": st.one_of(json_values, st.lists(st.fixed_dictionaries(
         {"role": st.sampled_from(["user", "system", "assistant", "tool", "bogus"]),
          "content": json_values}), max_size=3))},
    optional={"stream": json_values, "max_tokens": json_values, "tools": json_values, "tool_choice": json_values,
              "response_format": json_values, "n": json_values, "stop": json_values, "input": json_values,
              "encoding_format": json_values, "dimensions": json_values},
)
bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    near_miss_chat.map(lambda v: json.dumps(v).encode()),
    st.sampled_from([b"\xff\xfe\x00", b"{" * 5000, b'{"model": 1e999}', b'{"a": NaN}', b"null"]),
)
headers = st.dictionaries(
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20),
    st.text(max_size=40), max_size=5,
)


def check(response) -> None:
    assert response.status < 500, response.body
    assert response.status not in (502, 504)
    if response.is_streaming:
        return
    text = response.body.decode("utf-8")
    assert "Traceback" not in text
    if response.status >= 400:
        payload = json.loads(text)
        assert set(payload) == {"error"} and set(payload["error"]) == {"message", "type", "param", "code"}
        assert isinstance(payload["error"]["message"], str) and payload["error"]["message"]


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"]),
       path=st.one_of(st.sampled_from(PATHS), st.text(max_size=40).map(lambda p: "/" + p)),
       query=st.text(max_size=20), hdrs=headers, body=bodies, invoke=st.booleans())
async def test_router_never_fails_on_caller_input(gateway_env, method, path, query, hdrs, body, invoke):
    with respx.mock(assert_all_called=False) as mock:
        mock.post(f"{GENAI}/actions/chat").mock(return_value=httpx.Response(200, json=LLAMA_RESULT))
        mock.post(f"{GENAI}/actions/embedText").mock(return_value=httpx.Response(200, json=EMBED_RESULT))
        request = Request(method=method, path=path, query=query, headers=Headers(hdrs), body=body,
                          kind=INVOKE if invoke else HTTP, request_id="FUZZ")
        response = await dispatch(request)
        if response.is_streaming:
            await response.read()
    check(response)
