"""The gateway's per-key allow-list (403 model_not_allowed) and per-key usage fields on the request log line."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from core.policy import KeyPolicy, check_model_allowed, key_id_of, model_allowed, policy_of, split_models
from core.errors import APIError
from core.exchange import HTTP, Headers, Request
from handlers.router import dispatch
from tests.conftest import GENAI
from tests.unit.test_authorizer import log_lines  # noqa: F401 - fixture
from tests.unit.test_router import LLAMA_RESULT

CHAT_URL = f"{GENAI}/actions/chat"
LLAMA = "meta.llama-3.3-70b-instruct"


def req(**headers: str) -> Request:
    return Request(method="POST", path="/v1/chat/completions", headers=Headers(headers), kind=HTTP)


def chat(model: str = LLAMA, **headers: str) -> Request:
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "Hi"}]}).encode()
    return Request(method="POST", path="/v1/chat/completions",
                   headers=Headers({"content-type": "application/json", **headers}), body=body, kind=HTTP,
                   request_id="POLREQ")


def test_no_headers_no_allow_list():
    policy = policy_of(req())
    assert policy == KeyPolicy(None, None)
    assert policy.allows("anything") and policy.allows(None)
    check_model_allowed(req(), "any.model-at-all")


def test_allow_list_globs_judge_only_the_name_the_caller_used():
    request = req(**{"X-Gateway-Key-Id": "abc123def456", "X-Gateway-Allowed-Models": "meta.*, gpt-4o"})
    policy = policy_of(request)
    assert policy.key_id == "abc123def456" and policy.patterns == ("meta.*", "gpt-4o")
    assert policy.allows(LLAMA)
    assert policy.allows("gpt-4o")
    assert not policy.allows("my-alias")  # an alias of an allowed OCI model is not allowed by that id
    assert not policy.allows("cohere.command-r-plus")
    assert not policy.allows("gpt-4o-mini")  # globs are anchored
    assert not policy.allows("META.llama")  # and case-sensitive


@pytest.mark.parametrize("headers", [
    {"X-Gateway-Key-Id": "abc123def456"},  # key id but no list: nothing is allowed (fail closed)
    {"X-Gateway-Key-Id": "abc123def456", "X-Gateway-Allowed-Models": ""},
    {"X-Gateway-Allowed-Models": " , "},
])
def test_present_but_empty_allow_list_allows_nothing(headers):
    with pytest.raises(APIError) as info:
        check_model_allowed(req(**headers), LLAMA)
    error = info.value
    assert error.status == 403 and error.type == "permission_error" and error.code == "model_not_allowed"
    assert error.param == "model"


def test_helpers():
    assert split_models("a, b,,c ") == ("a", "b", "c")
    assert model_allowed(["*"], "x") and not model_allowed([], "x") and not model_allowed(["*"], None)
    assert key_id_of(req(**{"x-gateway-key-id": "  k  "})) == "k"
    assert key_id_of(req(**{"x-gateway-key-id": "k" * 500})) == "k" * 64
    assert key_id_of(req()) is None


@respx.mock
async def test_chat_refuses_a_model_outside_the_allow_list_before_calling_oci(gateway_env):
    route = respx.post(CHAT_URL).mock(return_value=httpx.Response(200, json=LLAMA_RESULT))
    response = await dispatch(chat("cohere.command-r-plus-08-2024", **{"X-Gateway-Key-Id": "abc123def456",
                                                                     "X-Gateway-Allowed-Models": "meta.*"}))
    assert response.status == 403
    error = json.loads(response.body)["error"]
    assert error["code"] == "model_not_allowed" and error["type"] == "permission_error" and error["param"] == "model"
    assert "cohere.command-r-plus-08-2024" in error["message"]
    assert not route.called


@respx.mock
async def test_chat_allowed_model_and_request_line_carries_key_id_and_tokens(gateway_env, log_lines):  # noqa: F811
    route = respx.post(CHAT_URL).mock(return_value=httpx.Response(200, json=LLAMA_RESULT))
    response = await dispatch(chat(LLAMA, **{"X-Gateway-Key-Id": "abc123def456",
                                             "X-Gateway-Allowed-Models": "meta.*"}))
    assert response.status == 200 and route.called
    line = log_lines.events("request")[-1]
    assert line["key_id"] == "abc123def456" and line["route"] == "chat" and line["model"] == LLAMA
    assert line["prompt_tokens"] == 12 and line["completion_tokens"] == 3 and line["status"] == 200
    assert "latency_ms" in line


@respx.mock
async def test_without_headers_any_model_is_served_and_no_key_id_logged(gateway_env, log_lines):  # noqa: F811
    respx.post(CHAT_URL).mock(return_value=httpx.Response(200, json=LLAMA_RESULT))
    response = await dispatch(chat(LLAMA))
    assert response.status == 200
    assert "key_id" not in log_lines.events("request")[-1]


@respx.mock
async def test_stream_end_line_carries_key_id(gateway_env, log_lines):  # noqa: F811
    events = [{"index": 0, "message": {"role": "ASSISTANT", "content": [{"type": "TEXT", "text": "Hi"}]}},
              {"finishReason": "stop"}, {"usage": {"promptTokens": 4, "completionTokens": 1, "totalTokens": 5}}]
    sse = "".join(f"data: {json.dumps(e)}\n\n" for e in events).encode()
    respx.post(CHAT_URL).mock(return_value=httpx.Response(200, content=sse,
                                                          headers={"content-type": "text/event-stream"}))
    request = chat(LLAMA, **{"X-Gateway-Key-Id": "abc123def456", "X-Gateway-Allowed-Models": "*"})
    body = json.loads(request.body)
    body.update(stream=True, stream_options={"include_usage": True})
    request = Request(method="POST", path=request.path, headers=request.headers, body=json.dumps(body).encode(),
                      kind=HTTP, request_id="POLREQ")
    response = await dispatch(request)
    assert response.status == 200
    await response.read()
    end = log_lines.events("stream_end")[-1]
    assert end["key_id"] == "abc123def456" and end["prompt_tokens"] == 4 and end["completion_tokens"] == 1


def test_owner_is_the_whole_identity_while_log_key_id_is_cut():
    from core.exchange import Headers, Request
    from core.policy import key_id_of, owner_of

    subject = "  " + "s" * 100 + "  "
    request = Request(headers=Headers({"X-Gateway-Key-Id": subject}))
    assert owner_of(request) == "s" * 100 and key_id_of(request) == "s" * 64
    assert owner_of(Request()) is None and owner_of(Request(headers=Headers({"X-Gateway-Key-Id": "  "}))) is None
