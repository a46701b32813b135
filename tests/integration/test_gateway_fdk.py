"""The vertical slice, end to end: func.py under the real fdk, signed calls to the emulator, OpenAI answers.

Every chat test also checks that the emulator verified the request signature, so these
tests fail if signing, credentials (a resource principal, as in OCI Functions) or the
endpoint override break.
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.integration

CHAT = {"model": "meta.llama-3.3-70b-instruct",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}],
        "max_tokens": 50, "temperature": 0.1, "stop": ["\n\n"]}


def chat_calls(emulator) -> list:
    return [r for r in emulator.requests if r.path.endswith("/actions/chat")]


def assert_signed_and_verified(emulator, count: int = 1) -> None:
    calls = chat_calls(emulator)
    assert len(calls) == count
    for call in calls:
        assert call.verified, call.verify_reason
        assert call.key_id and call.key_id.startswith("ST$")  # the resource principal's session token


def assert_openai_error(body: bytes, *, code: str | None = None, param: str | None = "unset") -> dict:
    payload = json.loads(body)
    error = payload["error"]
    assert set(error) == {"message", "type", "param", "code"}
    if code is not None:
        assert error["code"] == code
    if param != "unset":
        assert error["param"] == param
    assert "Traceback" not in body.decode()
    return error


def test_api_gateway_shaped_chat_call(fdk_gateway, emulator):
    result = fdk_gateway.call_http("POST", "/v1/chat/completions",
                                   {"content-type": "application/json", "authorization": "Bearer sk-client"},
                                   json.dumps(CHAT).encode(), request_id="OPCREQ123")
    assert result.status == 200, result.body
    completion = json.loads(result.body)
    assert completion["object"] == "chat.completion"
    assert completion["model"] == "meta.llama-3.3-70b-instruct"
    assert completion["choices"][0]["message"] == {"role": "assistant", "content": "Echo: Hello there",
                                                   "refusal": None}
    assert completion["choices"][0]["finish_reason"] == "stop"
    assert completion["usage"]["total_tokens"] == completion["usage"]["prompt_tokens"] + \
        completion["usage"]["completion_tokens"] > 0
    assert result.headers["x-request-id"] == "OPCREQ123"
    assert_signed_and_verified(emulator)
    sent = chat_calls(emulator)[0]
    assert sent.headers["opc-request-id"] == "OPCREQ123"
    assert "authorization" not in json.dumps(sent.json).lower()  # the caller's key never travels upstream
    chat_request = sent.json["chatRequest"]
    assert chat_request["maxTokens"] == 50 and chat_request["stop"] == ["\n\n"]
    assert sent.json["compartmentId"] == "ocid1.compartment.oc1..local"


def test_deployment_prefix_is_ignored(fdk_gateway, emulator):
    result = fdk_gateway.call_http("POST", "/llm/prod/v1/chat/completions?trace=1",
                                   {"content-type": "application/json"}, json.dumps(CHAT).encode())
    assert result.status == 200 and json.loads(result.body)["choices"][0]["message"]["content"]
    assert_signed_and_verified(emulator)


def test_fn_invoke_shaped_chat_call(fdk_gateway, emulator):
    result = fdk_gateway.call_invoke(json.dumps(CHAT).encode())
    assert result.status == 200
    assert json.loads(result.body)["choices"][0]["message"]["content"] == "Echo: Hello there"
    assert_signed_and_verified(emulator)


@pytest.mark.parametrize("body, status, code, param", [
    (b"this is not json", 400, "invalid_json", None),
    (json.dumps({"messages": [{"role": "user", "content": "x"}]}).encode(), 400, "missing_required_parameter", "model"),
    (json.dumps({"model": "meta.llama-3.3-70b-instruct", "messages": [{"role": "user", "content": 42}]}).encode(),
     400, "invalid_type", "messages[0].content"),
    (json.dumps({**CHAT, "temperature": "hot"}).encode(), 400, "invalid_type", "temperature"),
    (b"{" + b" " * (7 * 1024 * 1024) + b"}", 413, "request_too_large", None),
])
def test_bad_input_over_http_gets_openai_errors(fdk_gateway, emulator, body, status, code, param):
    result = fdk_gateway.call_http("POST", "/v1/chat/completions", {"content-type": "application/json"}, body)
    assert result.status == status
    assert_openai_error(result.body, code=code, param=param)
    assert result.headers["content-type"].startswith("application/json")
    assert not chat_calls(emulator)


@pytest.mark.parametrize("path", ["/v1/audio/speech", "/v1/completions", "/v2/chat/completions"])
def test_unknown_paths_are_404(fdk_gateway, path):
    result = fdk_gateway.call_http("POST", path, {"content-type": "application/json"}, json.dumps(CHAT).encode())
    assert result.status == 404
    assert_openai_error(result.body, code="unknown_url")


def test_fn_invoke_errors_are_in_the_body(fdk_gateway, emulator):
    result = fdk_gateway.call_invoke(json.dumps({"model": "meta.llama-3.3-70b-instruct", "messages": []}).encode())
    assert result.status == 200  # fn invoke callers always get 200 from the fdk
    assert_openai_error(result.body, code="invalid_value", param="messages")


def test_unknown_model_is_404_model_not_found(fdk_gateway, emulator):
    body = {**CHAT, "model": "meta.llama-9-imaginary"}
    result = fdk_gateway.call_http("POST", "/v1/chat/completions", {"content-type": "application/json"},
                                   json.dumps(body).encode())
    assert result.status == 404
    error = assert_openai_error(result.body, code="model_not_found", param="model")
    # OCI said the model does not exist ("Entity with key ... not found"): no IAM hint for the operator.
    assert "does not serve the model 'meta.llama-9-imaginary'" in error["message"] and "policy" not in error["message"]


def test_upstream_429_is_retried_transparently(fdk_gateway, emulator):
    emulator.inject(429, times=2, retry_after="0")
    result = fdk_gateway.call_http("POST", "/v1/chat/completions", {"content-type": "application/json"},
                                   json.dumps(CHAT).encode())
    assert result.status == 200
    assert len(chat_calls(emulator)) == 3


def test_upstream_429_storm_reaches_the_client_with_retry_after(gateway_factory, emulator):
    gateway = gateway_factory({"OCI_MAX_RETRIES": "1"})
    emulator.inject(429, times=10, retry_after="0")
    result = gateway.call_http("POST", "/v1/chat/completions", {"content-type": "application/json"},
                               json.dumps(CHAT).encode())
    assert result.status == 429 and result.headers["retry-after"] == "0"
    assert_openai_error(result.body, code="rate_limit_exceeded")


def test_upstream_500_becomes_500_with_do_not_retry(gateway_factory, emulator):
    gateway = gateway_factory({"OCI_MAX_RETRIES": "0"})
    emulator.inject(500, times=1)
    result = gateway.call_http("POST", "/v1/chat/completions", {"content-type": "application/json"},
                               json.dumps(CHAT).encode())
    assert result.status == 500 and result.headers["x-should-retry"] == "false"
    assert_openai_error(result.body)


def test_missing_compartment_and_credentials_is_a_clear_500(gateway_factory, emulator):
    gateway = gateway_factory({"OCI_RESOURCE_PRINCIPAL_VERSION": None, "OCI_RESOURCE_PRINCIPAL_RPST": None,
                               "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM": None})
    result = gateway.call_http("POST", "/v1/chat/completions", {"content-type": "application/json"},
                               json.dumps(CHAT).encode())
    assert result.status == 500
    error = assert_openai_error(result.body, code="gateway_misconfigured")
    assert "OCI_" in error["message"]


def test_deadline_is_honoured_with_an_answer_before_the_platform_kills_the_call(gateway_factory, emulator):
    gateway = gateway_factory({"DEADLINE_MARGIN_SECONDS": "1"})
    emulator.emulator.latency = 5.0  # set on the emulator itself, not the fixture handle
    result = gateway.call_http("POST", "/v1/chat/completions", {"content-type": "application/json"},
                               json.dumps(CHAT).encode(), deadline_s=3)
    assert result.status == 503
    assert_openai_error(result.body, code="upstream_timeout")


def test_openai_sdk_sync_and_async_through_the_front(front, emulator):
    import asyncio

    import openai

    client = openai.OpenAI(base_url=f"{front.url}/v1", api_key="sk-local", max_retries=0)
    reply = client.chat.completions.create(model="meta.llama-3.3-70b-instruct",
                                           messages=[{"role": "user", "content": "ping"}], max_tokens=20)
    assert reply.choices[0].message.content == "Echo: ping" and reply.usage.total_tokens > 0

    async def run() -> str:
        async with openai.AsyncOpenAI(base_url=f"{front.url}/v1", api_key="sk-local", max_retries=0) as aclient:
            answer = await aclient.chat.completions.create(model="meta.llama-3.3-70b-instruct",
                                                           messages=[{"role": "user", "content": "pong"}])
            return answer.choices[0].message.content or ""

    assert asyncio.run(run()) == "Echo: pong"

    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="meta.llama-3.3-70b-instruct", messages=[])
    assert caught.value.body["param"] == "messages"
    with pytest.raises(openai.NotFoundError):
        client.completions.create(model="meta.llama-3.3-70b-instruct", prompt="hi")
