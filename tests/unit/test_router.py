"""Routing by path suffix and by body shape, and OpenAI-shaped errors for every bad call."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from core import logs
from core.exchange import HTTP, INVOKE, Headers, Request
from handlers.router import dispatch
from tests.conftest import GENAI, TEST_COMPARTMENT

CHAT_URL = f"{GENAI}/actions/chat"

LLAMA_RESULT = {
    "modelId": "meta.llama-3.3-70b-instruct", "modelVersion": "1.0.0",
    "chatResponse": {
        "apiFormat": "GENERIC", "timeCreated": "2026-09-18T19:46:59.025Z",
        "choices": [{"index": 0, "message": {"role": "ASSISTANT", "content": [{"type": "TEXT", "text": "Hi there"}],
                                             "toolCalls": []},
                     "finishReason": "stop", "logprobs": {}}],
        "usage": {"completionTokens": 3, "promptTokens": 12, "totalTokens": 15},
    },
}


def http(method: str, path: str, body: object = b"", **headers: str) -> Request:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Request(method=method, path=path, headers=Headers({"content-type": "application/json", **headers}),
                   body=raw, kind=HTTP, request_id="REQ1")


def error_of(response) -> dict:
    body = json.loads(response.body)
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


CHAT = {"model": "meta.llama-3.3-70b-instruct", "messages": [{"role": "user", "content": "Hello"}]}


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/chat/completions/", "/openai/v1/chat/completions",
                                  "/deployment/prefix/v1/chat/completions"])
@respx.mock
async def test_chat_route_matches_any_deployment_prefix(gateway_env, path):
    respx.post(CHAT_URL).mock(return_value=httpx.Response(200, json=LLAMA_RESULT, headers={"opc-request-id": "OPC9"}))
    response = await dispatch(http("POST", path, CHAT))
    assert response.status == 200, response.body
    body = json.loads(response.body)
    assert body["object"] == "chat.completion" and body["choices"][0]["message"]["content"] == "Hi there"
    assert response.headers["x-request-id"] == "OPC9"


@respx.mock
async def test_fn_invoke_body_is_routed_by_shape(gateway_env):
    route = respx.post(CHAT_URL).mock(return_value=httpx.Response(200, json=LLAMA_RESULT))
    response = await dispatch(Request(body=json.dumps(CHAT).encode(), kind=INVOKE))
    assert response.status == 200
    sent = json.loads(route.calls.last.request.content)
    assert sent["compartmentId"] == TEST_COMPARTMENT
    assert sent["servingMode"] == {"servingType": "ON_DEMAND", "modelId": "meta.llama-3.3-70b-instruct"}


@respx.mock
async def test_responses_route_and_invoke_shape(gateway_env):
    respx.post(CHAT_URL).mock(return_value=httpx.Response(200, json=LLAMA_RESULT, headers={"opc-request-id": "OPC9"}))
    body = {"model": "meta.llama-3.3-70b-instruct", "input": "Hello", "instructions": "Be brief."}
    for request in (http("POST", "/deployment/v1/responses", body), Request(body=json.dumps(body).encode(),
                                                                          kind=INVOKE)):
        response = await dispatch(request)
        assert response.status == 200, response.body
        answer = json.loads(response.body)
        assert answer["object"] == "response" and answer["output"][0]["content"][0]["text"] == "Hi there"
    embed = respx.post(f"{GENAI}/actions/embedText").mock(return_value=httpx.Response(200, json={
        "id": "e", "modelId": "cohere.embed-v4.0", "embeddings": [[0.5, 0.5]],
        "usage": {"promptTokens": 1, "totalTokens": 1}}))
    embedded = await dispatch(Request(body=json.dumps({"model": "cohere.embed-v4.0", "input": "x"}).encode(),
                                      kind=INVOKE))
    assert embed.called and json.loads(embedded.body)["object"] == "list"  # model + input alone: embeddings


async def test_invoke_with_unrecognized_body_is_400(gateway_env):
    response = await dispatch(Request(body=b'{"hello": 1}', kind=INVOKE))
    assert response.status == 400 and error_of(response)["code"] == "unrecognized_invocation"


@pytest.mark.parametrize("path", ["/v1/audio/speech", "/v1/completions", "/", "/v1/chat", "/v1/chat/completions/extra"])
async def test_unknown_paths_are_openai_404(gateway_env, path):
    response = await dispatch(http("POST", path, CHAT))
    assert response.status == 404
    err = error_of(response)
    assert err["type"] == "not_found_error" and err["code"] == "unknown_url"


async def test_wrong_method_is_405_with_allow(gateway_env):
    response = await dispatch(http("GET", "/v1/chat/completions"))
    assert response.status == 405 and response.headers["allow"] == "POST"
    error_of(response)


@pytest.mark.parametrize("body, param, code", [
    (b"not json", None, "invalid_json"),
    (b"", None, "invalid_json"),
    (b"[1, 2]", None, "invalid_json"),
    (b"\xff\xfe", None, "invalid_json"),
    (b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": NaN}', None, "invalid_json"),
    ({"messages": [{"role": "user", "content": "hi"}]}, "model", "missing_required_parameter"),
    ({"model": 5, "messages": []}, "model", "invalid_type"),
    ({"model": "meta.llama-3.3-70b-instruct"}, "messages", "missing_required_parameter"),
    ({"model": "meta.llama-3.3-70b-instruct", "messages": []}, "messages", "invalid_value"),
    ({"model": "meta.llama-3.3-70b-instruct", "messages": "hi"}, "messages", "invalid_type"),
    ({"model": "meta.llama-3.3-70b-instruct", "messages": [{"role": "wizard", "content": "x"}]},
     "messages[0].role", "invalid_value"),
    ({"model": "meta.llama-3.3-70b-instruct", "messages": [{"role": "user"}]},
     "messages[0].content", "missing_required_parameter"),
    ({"model": "meta.llama-3.3-70b-instruct", "messages": [{"role": "user", "content": 7}]},
     "messages[0].content", "invalid_type"),
    ({**CHAT, "max_tokens": "ten"}, "max_tokens", "invalid_type"),
    ({**CHAT, "max_tokens": 0}, "max_tokens", "invalid_value"),
    ({**CHAT, "temperature": 3}, "temperature", "invalid_value"),
    ({**CHAT, "top_p": "high"}, "top_p", "invalid_type"),
    ({**CHAT, "stop": [1]}, "stop[0]", "invalid_type"),
    ({**CHAT, "stop": 5}, "stop", "invalid_type"),
])
async def test_bad_input_gets_400_with_param(gateway_env, body, param, code):
    with respx.mock(assert_all_called=False) as mock:
        upstream = mock.post(CHAT_URL).mock(return_value=httpx.Response(200, json=LLAMA_RESULT))
        response = await dispatch(http("POST", "/v1/chat/completions", body))
    assert response.status == 400
    err = error_of(response)
    assert err["param"] == param and err["code"] == code and err["type"] == "invalid_request_error"
    assert upstream.call_count == 0


async def test_body_over_limit_is_413(gateway_env):
    response = await dispatch(http("POST", "/v1/chat/completions", b"{" + b" " * (7 * 1024 * 1024) + b"}"))
    assert response.status == 413 and error_of(response)["code"] == "request_too_large"


async def test_deep_json_is_400_not_500(gateway_env):
    response = await dispatch(http("POST", "/v1/chat/completions", b"[" * 100000 + b"]" * 100000))
    assert response.status == 400 and error_of(response)["code"] == "invalid_json"


@respx.mock
async def test_upstream_429_reaches_caller_with_retry_after(gateway_env):
    respx.post(CHAT_URL).mock(return_value=httpx.Response(429, json={"code": "TooManyRequests", "message": "x"},
                                                          headers={"retry-after": "0"}))
    response = await dispatch(http("POST", "/v1/chat/completions", CHAT))
    assert response.status == 429 and response.headers["retry-after"] == "0"
    assert error_of(response)["type"] == "rate_limit_error"


@respx.mock
async def test_upstream_502_never_reaches_the_platform_as_502(gateway_env):
    respx.post(CHAT_URL).mock(return_value=httpx.Response(502, text="bad gateway"))
    response = await dispatch(http("POST", "/v1/chat/completions", CHAT))
    assert response.status == 503
    error_of(response)


async def test_missing_credentials_is_a_500_naming_what_to_set(clean_config):
    clean_config.setenv("OCI_REGION", "us-chicago-1")
    response = await dispatch(http("POST", "/v1/chat/completions", CHAT))
    assert response.status == 500
    err = error_of(response)
    assert err["code"] == "gateway_misconfigured" and "OCI_" in err["message"]


async def test_bad_setting_is_a_500_naming_it(clean_config):
    clean_config.setenv("OCI_MAX_RETRIES", "many")
    response = await dispatch(http("POST", "/v1/chat/completions", CHAT))
    assert response.status == 500 and "OCI_MAX_RETRIES" in error_of(response)["message"]


async def test_unexpected_exception_is_clean_500(gateway_env, monkeypatch):
    import handlers.chat

    async def explode(request):
        raise RuntimeError("secret-ish internal detail")

    monkeypatch.setattr(handlers.chat, "handle", explode)
    response = await dispatch(http("POST", "/v1/chat/completions", CHAT))
    assert response.status == 500
    err = error_of(response)
    assert "secret-ish" not in err["message"] and "Traceback" not in response.body.decode()
    assert "REQ1" in err["message"]


@pytest.mark.parametrize("role, does", [("ingest", "embeds documents"), ("authorizer", "checks API keys")])
async def test_roles_without_routes_say_which_role_answered_an_http_call(gateway_env, role, does):
    gateway_env.setenv("GATEWAY_ROLE", role)
    from tests.support.runtime import reset_settings

    reset_settings()
    response = await dispatch(http("GET", "/v1/models"))
    error = error_of(response)
    assert response.status == 404 and error["code"] == "unknown_url"
    assert f"GATEWAY_ROLE={role}" in error["message"] and does in error["message"]
    assert "serves ." not in error["message"]


async def test_health_carries_the_request_id(gateway_env):
    response = await dispatch(http("GET", "/health"))
    assert response.headers["x-request-id"] == "REQ1"


@respx.mock
async def test_a_5xx_is_logged_at_error_level_with_its_message(gateway_env, capsys):
    respx.post(CHAT_URL).mock(return_value=httpx.Response(401, json={"code": "NotAuthenticated", "message": "bad"}))
    logs.configure("INFO")
    response = await dispatch(http("POST", "/v1/chat/completions", CHAT))
    assert response.status == 500
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    request_line = next(line for line in lines if line.get("event") == "request")
    assert request_line["level"] == "error" and request_line["error_code"] == "gateway_auth_failed"
    assert request_line["error_message"] == error_of(response)["message"]


async def test_a_4xx_stays_an_info_line_without_the_message(gateway_env, capsys):
    logs.configure("INFO")
    response = await dispatch(http("POST", "/v1/chat/completions", {"model": "nope"}))
    assert 400 <= response.status < 500
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    request_line = next(line for line in lines if line.get("event") == "request")
    assert request_line["level"] == "info" and "error_message" not in request_line
