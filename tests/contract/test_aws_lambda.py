"""``adapters.aws_lambda.lambda_handler`` end to end: AWS's documented sample events carrying OpenAI requests,
API-key credentials from the environment, the OCI emulator upstream (which checks every signature).

The handler runs in this process, as the Lambda runtime runs it: settings and credentials are read from
``os.environ``, so each test gets a clean configuration (``clean_config``) and the adapter's pooled client is
closed afterwards.
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from adapters import aws_lambda
from core import runtime
from tests.support.runtime import reset_settings
from local.emulator.genai import embedding_vector
from local.local_credentials import make_api_key_env
from tests.contract.conftest import CHAT_MODEL, EMBED_MODEL, chat_calls, embed_calls

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "aws"
COMPARTMENT = "ocid1.compartment.oc1..lambdatest"


def sample(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def context(remaining_ms: int = 60_000) -> SimpleNamespace:
    return SimpleNamespace(get_remaining_time_in_millis=lambda: remaining_ms, aws_request_id="aws-req-0001")


def rest_v1(method: str, path: str, body: dict | None = None) -> dict:
    """The documented REST proxy sample, re-aimed at a gateway route (its body stays base64, as in the sample)."""
    event = copy.deepcopy(sample("apigw_rest_v1"))
    event.update(httpMethod=method, path=path, resource="/{proxy+}", pathParameters={"proxy": path.lstrip("/")})
    event["requestContext"].update(httpMethod=method, path=f"/prod{path}")
    event["multiValueHeaders"]["Content-Type"] = ["application/json"]
    event["body"] = base64.b64encode(json.dumps(body).encode()).decode() if body is not None else None
    event["isBase64Encoded"] = body is not None
    return event


def v2(name: str, method: str, path: str, body: dict | None = None, *, b64: bool = False) -> dict:
    """The documented HTTP API / Function URL sample, re-aimed at a gateway route."""
    event = copy.deepcopy(sample(name))
    event["rawPath"] = path
    event["requestContext"]["http"].update(method=method, path=path)
    event["headers"]["content-type"] = "application/json"
    raw = json.dumps(body) if body is not None else None
    event["body"] = base64.b64encode(raw.encode()).decode() if (b64 and raw) else raw
    event["isBase64Encoded"] = bool(b64 and raw)
    return event


@pytest.fixture
def lambda_env(emulator, clean_config):
    """API-key credentials in the environment (as Lambda configuration would hold them), emulator upstream."""
    creds = make_api_key_env()
    emulator.add_key(creds.key_id, creds.public_key)
    for key, value in creds.env.items():
        clean_config.setenv(key, value)
    clean_config.setenv("GATEWAY_ROLE", "gateway")
    clean_config.setenv("OCI_GENAI_ENDPOINT", emulator.url)
    clean_config.setenv("OCI_COMPARTMENT_ID", COMPARTMENT)
    # OCI's model list is read beside a first chat call and may finish in a later invocation: not here.
    clean_config.setenv("MODEL_LIST_TTL_SECONDS", "0")
    runtime.reset()
    yield creds
    aws_lambda.shutdown()
    reset_settings()


def test_rest_v1_chat(lambda_env, emulator):
    result = aws_lambda.lambda_handler(rest_v1("POST", "/v1/chat/completions", {
        "model": CHAT_MODEL, "messages": [{"role": "user", "content": "from API Gateway REST"}]}), context())
    assert result["statusCode"] == 200 and result["isBase64Encoded"] is False
    assert result["headers"]["content-type"] == "application/json"
    assert json.loads(result["body"])["choices"][0]["message"]["content"] == "Echo: from API Gateway REST"
    [call] = chat_calls(emulator)
    assert call.key_id == lambda_env.key_id  # signed with the API key from the environment
    assert call.json["compartmentId"] == COMPARTMENT


def test_http_api_v2_stream_is_buffered_sse_text(lambda_env, emulator):
    result = aws_lambda.lambda_handler(v2("apigw_http_v2", "POST", "/v1/chat/completions", {
        "model": CHAT_MODEL, "stream": True, "messages": [{"role": "user", "content": "stream me"}]}), context())
    assert result["statusCode"] == 200 and result["isBase64Encoded"] is False
    assert result["headers"]["content-type"] == "text/event-stream"
    assert result["headers"]["x-gateway-streaming"] == "buffered"
    events = [line[6:] for line in result["body"].split("\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    assert "".join(json.loads(e)["choices"][0]["delta"].get("content") or "" for e in events[:-1]) == \
        "Echo: stream me"


def test_function_url_embeddings_with_base64_request_body(lambda_env, emulator):
    event = v2("function_url", "POST", "/v1/embeddings", {"model": EMBED_MODEL, "input": ["x", "y"]}, b64=True)
    result = aws_lambda.lambda_handler(event, context())  # the sample's query string and cookies ride along
    assert result["statusCode"] == 200
    data = json.loads(result["body"])["data"]
    assert np.allclose(data[1]["embedding"], embedding_vector(EMBED_MODEL, "y", 1536), atol=1e-7)
    assert embed_calls(emulator)[0].json["inputs"] == ["x", "y"]


def test_models_and_errors_keep_their_status(lambda_env, emulator):
    listed = aws_lambda.lambda_handler(v2("function_url", "GET", "/v1/models"), context())
    assert listed["statusCode"] == 200 and CHAT_MODEL in {m["id"] for m in json.loads(listed["body"])["data"]}
    missing = aws_lambda.lambda_handler(rest_v1("POST", "/v1/chat/completions", {
        "model": "gpt-imaginary", "messages": [{"role": "user", "content": "x"}]}), context())
    assert missing["statusCode"] == 404
    assert json.loads(missing["body"])["error"]["code"] == "model_not_found"


def test_direct_invocation_answers_the_openai_json(lambda_env, emulator):
    reply = aws_lambda.lambda_handler({"model": CHAT_MODEL, "messages": [{"role": "user", "content": "direct"}]},
                                      context())
    assert reply["choices"][0]["message"]["content"] == "Echo: direct"
    error = aws_lambda.lambda_handler({"model": CHAT_MODEL, "messages": []}, context())
    assert error["error"]["type"] == "invalid_request_error"


def test_pooled_client_survives_between_invocations(lambda_env, emulator):
    body = {"model": CHAT_MODEL, "messages": [{"role": "user", "content": "again"}]}
    aws_lambda.lambda_handler(rest_v1("POST", "/v1/chat/completions", body), context())
    first = runtime._state.clients[aws_lambda._LOOP]
    aws_lambda.lambda_handler(v2("apigw_http_v2", "POST", "/v1/chat/completions", body), context())
    assert runtime._state.clients[aws_lambda._LOOP] is first and not first._http.is_closed
    assert len(chat_calls(emulator)) == 2
    aws_lambda.shutdown()  # what SIGTERM does
    assert first._http.is_closed and aws_lambda._LOOP not in runtime._state.clients


def test_deadline_comes_from_the_lambda_context(lambda_env, emulator):
    # 1 s left, less than the 1.5 s safety margin: the gateway answers at once instead of calling OCI.
    result = aws_lambda.lambda_handler(rest_v1("POST", "/v1/chat/completions", {
        "model": CHAT_MODEL, "messages": [{"role": "user", "content": "late"}]}), context(remaining_ms=1000))
    assert result["statusCode"] == 503
    assert json.loads(result["body"])["error"]["code"] == "deadline_exceeded"
    assert chat_calls(emulator) == []


def test_health(lambda_env, emulator):
    result = aws_lambda.lambda_handler(rest_v1("GET", "/v1/health"), context())
    body = json.loads(result["body"])
    assert result["statusCode"] == 200 and body["status"] == "ok" and body["auth"] == "api_key"
    assert emulator.requests == []
