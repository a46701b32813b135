"""The AWS Lambda adapter's conversions, on the sample events AWS documents (tests/fixtures/aws).

End-to-end calls through the emulator are in tests/contract/test_aws_lambda.py.
"""

from __future__ import annotations

import base64
import copy
import json
import signal
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import respx

from adapters import aws_lambda
from core.exchange import HTTP, INVOKE, Response

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "aws"


def sample(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def lambda_context(remaining_ms: int = 30_000, request_id: str = "8f5b7c1e-aws-request-id"):
    return SimpleNamespace(get_remaining_time_in_millis=lambda: remaining_ms, aws_request_id=request_id,
                           function_name="gateway")


# --- event kinds -----------------------------------------------------------------------------------


def test_event_kinds():
    assert aws_lambda.event_kind(sample("apigw_rest_v1")) == aws_lambda.REST_V1
    assert aws_lambda.event_kind(sample("apigw_http_v2")) == aws_lambda.HTTP_V2
    assert aws_lambda.event_kind(sample("function_url")) == aws_lambda.HTTP_V2
    assert aws_lambda.event_kind({"model": "m", "messages": []}) == aws_lambda.DIRECT
    assert aws_lambda.event_kind({"version": "2.0", "model": "m"}) == aws_lambda.DIRECT  # no requestContext.http


# --- REST API (payload 1.0) ------------------------------------------------------------------------


def test_rest_v1_sample_becomes_a_request():
    before = time.time()
    request = aws_lambda.to_request(sample("apigw_rest_v1"), lambda_context(12_000))
    assert request.kind == HTTP and request.method == "POST"
    assert request.path == "/path/to/resource"
    assert request.query == "foo=bar"
    assert request.body == b'{"test":"body"}'  # base64 in the event
    assert request.headers["user-agent"] == "Custom User Agent String"
    # multiValueHeaders wins over headers (AWS's own sample disagrees between the two on Host).
    assert request.headers["host"] == "0123456789.execute-api.us-east-1.amazonaws.com"
    assert request.request_id == "8f5b7c1e-aws-request-id"
    assert before + 11.9 <= request.deadline <= time.time() + 12.1


def test_rest_v1_multi_values_are_kept():
    event = sample("apigw_rest_v1")
    event["multiValueQueryStringParameters"] = {"foo": ["bar", "baz"], "q": ["a b"]}
    event["multiValueHeaders"]["Accept"] = ["application/json", "text/event-stream"]
    event["multiValueHeaders"]["Cookie"] = ["a=1", "b=2"]
    request = aws_lambda.to_request(event, lambda_context())
    assert request.query == "foo=bar&foo=baz&q=a+b"
    assert request.headers["accept"] == "application/json, text/event-stream"
    assert request.headers["cookie"] == "a=1; b=2"


def test_rest_v1_without_multi_value_fields_uses_single_ones():
    event = sample("apigw_rest_v1")
    del event["multiValueHeaders"], event["multiValueQueryStringParameters"]
    event["isBase64Encoded"], event["body"] = False, "plain"
    event["queryStringParameters"] = None
    request = aws_lambda.to_request(event, None)
    assert request.headers["host"] == "1234567890.execute-api.us-east-1.amazonaws.com"
    assert request.query == "" and request.body == b"plain"
    assert request.deadline is None and request.request_id == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"


# --- HTTP API and Function URLs (payload 2.0) ------------------------------------------------------


@pytest.mark.parametrize("name", ["apigw_http_v2", "function_url"])
def test_v2_samples_become_requests(name):
    event = sample(name)
    request = aws_lambda.to_request(event, lambda_context())
    assert request.kind == HTTP and request.method == "POST" and request.path == "/my/path"
    assert request.query == "parameter1=value1&parameter1=value2&parameter2=value"
    assert request.query_params["parameter2"] == "value"
    assert request.headers["header2"] == "value1,value2"
    assert request.headers["cookie"] == "cookie1; cookie2"
    assert request.body == event["body"].encode()


def test_v2_base64_body_is_decoded_and_bad_base64_is_a_400():
    event = sample("function_url")
    payload = json.dumps({"model": "m", "messages": [{"role": "user", "content": "héllo"}]}).encode()
    event["body"], event["isBase64Encoded"] = base64.b64encode(payload).decode(), True
    assert aws_lambda.to_request(event, None).body == payload
    event["body"] = "not base64 at all!"
    result = aws_lambda.lambda_handler(event, lambda_context())
    assert result["statusCode"] == 400 and result["isBase64Encoded"] is False
    assert json.loads(result["body"])["error"]["code"] == "invalid_body"


def test_direct_invocation_is_an_invoke_request():
    body = {"model": "cohere.embed-v4.0", "input": "hi"}
    request = aws_lambda.to_request(body, lambda_context())
    assert request.kind == INVOKE and json.loads(request.body) == body


# --- responses -------------------------------------------------------------------------------------


def test_json_response_is_text():
    response = Response.json({"ok": True, "text": "café"}, status=201, headers={"X-Request-Id": "abc"})
    result = aws_lambda.to_lambda_response(response, response.body, aws_lambda.HTTP_V2)  # type: ignore[arg-type]
    assert result == {"statusCode": 201, "headers": {"content-type": "application/json", "x-request-id": "abc"},
                      "body": '{"ok":true,"text":"café"}', "isBase64Encoded": False}


async def _events():
    yield b"data: {}\n\n"
    yield b"data: [DONE]\n\n"


async def test_event_stream_is_collected_as_text_and_marked_buffered():
    response = Response(200, {"content-type": "text/event-stream"}, _events())
    result = aws_lambda.to_lambda_response(response, await response.read(), aws_lambda.REST_V1)
    assert result["body"] == "data: {}\n\ndata: [DONE]\n\n" and result["isBase64Encoded"] is False
    assert result["headers"][aws_lambda.BUFFERED_STREAM_HEADER] == "buffered"


def test_binary_response_is_base64():
    blob = bytes(range(256))
    response = Response(200, {"content-type": "application/octet-stream"}, blob)
    result = aws_lambda.to_lambda_response(response, blob, aws_lambda.REST_V1)
    assert result["isBase64Encoded"] is True and base64.b64decode(result["body"]) == blob


def test_direct_invocation_returns_the_openai_json_itself():
    response = Response.json({"error": {"message": "bad", "type": "invalid_request_error"}}, status=400)
    assert aws_lambda.to_lambda_response(response, response.body, aws_lambda.DIRECT) == {  # type: ignore[arg-type]
        "error": {"message": "bad", "type": "invalid_request_error"}}


# --- whole handler, no upstream ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["apigw_rest_v1", "apigw_http_v2", "function_url"])
def test_health_through_each_event_shape(gateway_env, name):
    event = copy.deepcopy(sample(name))
    if name == "apigw_rest_v1":
        event.update(httpMethod="GET", path="/v1/health", body=None, isBase64Encoded=False)
    else:
        event["requestContext"]["http"].update(method="GET", path="/v1/health")
        event.update(rawPath="/v1/health", body=None)
    with respx.mock:
        result = aws_lambda.lambda_handler(event, lambda_context())
    assert result["statusCode"] == 200, result
    assert json.loads(result["body"])["status"] == "ok"


def test_unknown_path_is_an_openai_404(gateway_env):
    result = aws_lambda.lambda_handler(sample("function_url"), lambda_context())  # POST /my/path
    assert result["statusCode"] == 404
    assert json.loads(result["body"])["error"]["code"] == "unknown_url"


def test_unrecognised_direct_payload_gets_an_error_body(gateway_env):
    result = aws_lambda.lambda_handler({"hello": "world"}, lambda_context())
    assert result["error"]["code"] == "unrecognized_invocation"


def test_the_loop_is_one_per_container(gateway_env):
    loops = []

    async def probe(event, context):
        import asyncio

        loops.append(asyncio.get_running_loop())
        return {}

    original = aws_lambda.handle_event
    aws_lambda.handle_event = probe  # type: ignore[assignment]
    try:
        aws_lambda.lambda_handler({}, None)
        aws_lambda.lambda_handler({}, None)
    finally:
        aws_lambda.handle_event = original  # type: ignore[assignment]
    assert loops[0] is loops[1] is aws_lambda._LOOP and not loops[0].is_closed()


def test_sigterm_closes_the_client_then_chains(monkeypatch):
    closed, chained = [], []

    async def fake_close():
        closed.append(True)

    monkeypatch.setattr(aws_lambda.runtime, "close_client", fake_close)
    handler = aws_lambda._sigterm_handler(lambda signum, frame: chained.append(signum))
    handler(signal.SIGTERM, None)
    assert closed == [True] and chained == [signal.SIGTERM]
    with pytest.raises(SystemExit):
        aws_lambda._sigterm_handler(signal.SIG_DFL)(signal.SIGTERM, None)


def test_install_shutdown_handler_registers_for_sigterm():
    previous = signal.getsignal(signal.SIGTERM)
    try:
        assert aws_lambda.install_shutdown_handler()
        assert signal.getsignal(signal.SIGTERM) is not previous
    finally:
        signal.signal(signal.SIGTERM, previous)
