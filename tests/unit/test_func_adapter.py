"""func.py under the fdk's own in-process fixtures: the context becomes a Request, the Response goes back."""

from __future__ import annotations

import io
import json
import time
from datetime import datetime, timedelta, timezone

import httpx
import respx
from fdk import fixtures

from adapters import fdk as func
from tests.conftest import GENAI

LLAMA = {"modelId": "m", "modelVersion": "1", "chatResponse": {
    "apiFormat": "GENERIC", "timeCreated": "2026-01-01T00:00:00.000Z",
    "choices": [{"index": 0, "message": {"role": "ASSISTANT", "content": [{"type": "TEXT", "text": "hi"}]},
                 "finishReason": "stop"}], "usage": {"promptTokens": 1, "completionTokens": 1, "totalTokens": 2}}}
CHAT = {"model": "meta.llama-3.3-70b-instruct", "messages": [{"role": "user", "content": "x"}]}


async def call(**kwargs):
    return await (await fixtures.setup_fn_call(func.handler, **kwargs))


def test_deadline_parsing():
    assert func._deadline("2030-01-01T00:00:00Z") == datetime(2030, 1, 1, tzinfo=timezone.utc).timestamp()
    naive_local = (datetime.now() + timedelta(seconds=30)).isoformat()  # what the fdk makes up without a header
    assert abs(func._deadline(naive_local) - (time.time() + 30)) < 2
    assert func._deadline(None) is None and func._deadline("garbage") is None


@respx.mock
async def test_gateway_call_routes_by_path_and_answers_status_and_headers(gateway_env):
    route = respx.post(f"{GENAI}/actions/chat").mock(return_value=httpx.Response(
        200, json=LLAMA, headers={"opc-request-id": "UP1"}))
    deadline = (datetime.now(timezone.utc) + timedelta(seconds=60)).isoformat()
    body, status, headers = await call(request_url="/deploy/v1/chat/completions?x=1", method="POST", gateway=True,
                                       headers={"Content-Type": "application/json", "Authorization": "Bearer k"},
                                       content=io.BytesIO(json.dumps(CHAT).encode()), deadline=deadline)
    assert status == 200 and json.loads(body)["choices"][0]["message"]["content"] == "hi"
    assert headers.get("fn-http-h-x-request-id") == "UP1"
    upstream = route.calls.last.request.headers
    assert upstream["authorization"].startswith("Signature ")  # signed by the gateway...
    assert "Bearer k" not in str(dict(upstream))  # ...and the caller's credential never travels upstream


async def test_gateway_errors_keep_their_status(gateway_env):
    body, status, headers = await call(request_url="/v1/nowhere", method="GET", gateway=True,
                                       content=io.BytesIO(b""))
    assert status == 404 and json.loads(body)["error"]["code"] == "unknown_url"
    assert headers.get("fn-http-status") == "404"


@respx.mock
async def test_plain_invoke_is_routed_by_shape(gateway_env):
    respx.post(f"{GENAI}/actions/chat").mock(return_value=httpx.Response(200, json=LLAMA))
    body, status, _ = await (await fixtures.setup_fn_call_raw(
        func.handler, content=io.BytesIO(json.dumps(CHAT).encode()), headers={"Content-Type": "application/json"}))
    assert json.loads(body)["object"] == "chat.completion"


@respx.mock
async def test_streams_are_collected_and_marked_buffered(gateway_env):
    sse = b'data: {"index":0,"message":{"content":[{"type":"TEXT","text":"hi"}]}}\n\ndata: {"finishReason":"stop"}\n\n'
    respx.post(f"{GENAI}/actions/chat").mock(return_value=httpx.Response(
        200, headers={"content-type": "text/event-stream"}, stream=httpx.ByteStream(sse)))
    body, status, headers = await call(request_url="/v1/chat/completions", method="POST", gateway=True,
                                       headers={"Content-Type": "application/json"},
                                       content=io.BytesIO(json.dumps({**CHAT, "stream": True}).encode()))
    assert status == 200 and headers.get("fn-http-h-x-gateway-streaming") == "buffered"
    text = body.decode() if isinstance(body, bytes) else body
    assert text.rstrip().endswith("data: [DONE]") and '"content":"hi"' in text
