"""Hostile chat input: each limit is a 400 naming it, before anything goes upstream."""

from __future__ import annotations

import base64
import json

import pytest

from core.chat.limits import data_uri_size
from core.exchange import HTTP, Headers, Request
from handlers.router import dispatch

PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG" + b"\0" * 2000).decode()


async def call(body: dict) -> tuple[int, dict]:
    response = await dispatch(Request(method="POST", path="/v1/chat/completions", body=json.dumps(body).encode(),
                                      headers=Headers({"content-type": "application/json"}), kind=HTTP))
    return response.status, json.loads(response.body)


@pytest.mark.parametrize("env, body, code", [
    ({"MAX_MESSAGES": "3"}, {"messages": [{"role": "user", "content": "x"}] * 4}, "too_many_messages"),
    ({"MAX_INPUT_CHARS": "100"}, {"messages": [{"role": "user", "content": "x" * 101}]}, "input_too_large"),
    ({"MAX_IMAGES": "1"}, {"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": PNG}}, {"type": "image_url", "image_url": {"url": PNG}}]}]},
     "too_many_images"),
    ({"MAX_IMAGE_BYTES": "1000"}, {"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": PNG}}]}]}, "image_too_large"),
    ({"MAX_TOTAL_IMAGE_BYTES": "3000"}, {"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": PNG}}, {"type": "image_url", "image_url": {"url": PNG}}]}]},
     "images_too_large"),
])
async def test_limits(gateway_env, env, body, code):
    for key, value in env.items():
        gateway_env.setenv(key, value)
    from tests.support.runtime import reset_settings

    reset_settings()
    status, payload = await call({"model": "meta.llama-4-scout-17b-16e-instruct", **body})
    assert status == 400 and payload["error"]["code"] == code


async def test_n_above_limit(gateway_env):
    status, payload = await call({"model": "meta.llama-3.3-70b-instruct", "n": 50,
                                  "messages": [{"role": "user", "content": "x"}]})
    assert status == 400 and payload["error"]["param"] == "n"


def test_data_uri_size_matches_decoded_length():
    for raw in (b"", b"a", b"ab", b"abc", b"\0" * 1001):
        uri = "data:image/png;base64," + base64.b64encode(raw).decode()
        assert data_uri_size(uri) == len(raw)
    assert data_uri_size("https://example.com/x.png") is None


TEXT_FIELDS = [
    ("response_format", {"response_format": {"type": "json_schema", "json_schema": {
        "name": "big", "schema": {"type": "object", "description": "x" * 150}}}}),
    ("stop", {"stop": ["y" * 60, "z" * 60]}),
    ("messages", {"messages": [{"role": "user", "content": "hi", "name": "n" * 150}]}),
    ("logit_bias", {"logit_bias": {str(1000 + i): 1 for i in range(40)}}),
]


@pytest.mark.parametrize("param, fields", TEXT_FIELDS)
async def test_max_input_chars_counts_every_text_the_caller_sends(gateway_env, param, fields):
    """Schemas, stop sequences, message names and logit_bias reach OCI as text: they count, and the 400 names them."""
    gateway_env.setenv("MAX_INPUT_CHARS", "100")
    from tests.support.runtime import reset_settings

    reset_settings()
    body = {"model": "meta.llama-3.3-70b-instruct", "messages": [{"role": "user", "content": "hi"}], **fields}
    status, payload = await call(body)
    assert status == 400 and payload["error"]["code"] == "input_too_large"
    assert payload["error"]["param"] == param and "MAX_INPUT_CHARS" in payload["error"]["message"]
