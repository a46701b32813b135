"""Hostile input, each a 4xx in OpenAI's error shape: header injection, path tricks, JSON bombs, bad UTF-8."""

from __future__ import annotations

import json

import pytest

from core.exchange import HTTP, INVOKE, Headers, Request
from handlers.router import dispatch

CHAT = {"model": "meta.llama-3.3-70b-instruct", "messages": [{"role": "user", "content": "x"}]}


def error_of(response) -> dict:
    payload = json.loads(response.body)
    assert set(payload["error"]) == {"message", "type", "param", "code"}
    return payload["error"]


@pytest.mark.parametrize("request_id", ["abc\r\nset-cookie: x=1", "a" * 500, "ünïcode", "id with spaces", ""])
async def test_request_ids_from_callers_cannot_inject_headers(gateway_env, request_id):
    response = await dispatch(Request(method="POST", path="/v1/nowhere", body=b"{}", kind=HTTP,
                                      request_id=request_id))
    assert response.status == 404
    echoed = response.headers["x-request-id"]
    assert "\r" not in echoed and "\n" not in echoed and " " not in echoed and len(echoed) <= 128
    assert echoed != request_id


@pytest.mark.parametrize("path", ["/v1/models/../../etc/passwd", "/v1/models/%2e%2e%2f%2e%2e%2fetc",
                                  "/v1/chat/completions/../../admin", "/%00/v1/models/x\x00"])
async def test_path_tricks_are_404s(gateway_env, path):
    response = await dispatch(Request(method="GET", path=path, kind=HTTP))
    assert response.status == 404
    error_of(response)


@pytest.mark.parametrize("body", [
    b'{"model": "m", "messages": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'{"a": ' + b'{"a": ' * 3000 + b"1" + b"}" * 3001,
    b'{"model": "meta.llama-3.3-70b-instruct", "messages": [{"role": "user", "content": "x"}], "max_tokens": '
    + b"9" * 5000 + b"}",
    b'{"model": "meta.llama-3.3-70b-instruct", "messages": [{"role": "user", "content": "x"}], "temperature": 1e999}',
    b'{"model": "meta.llama-3.3-70b-instruct", "messages": [{"role": "user", "content": "\xff\xfe"}]}',
    b'{"model": "meta.llama-3.3-70b-instruct", "messages": [{"role": "user", "content": "\\ud800"}]}',
])
@pytest.mark.parametrize("kind", [HTTP, INVOKE])
async def test_json_bombs_and_bad_encodings_are_400(gateway_env, body, kind):
    response = await dispatch(Request(method="POST", path="/v1/chat/completions", body=body, kind=kind,
                                      headers=Headers({"content-type": "application/json"})))
    assert response.status == 400, response.body
    error_of(response)


@pytest.mark.parametrize("name, expected", [
    ("..", "/n/ns/b/bk/o/%2E%2E"), (".", "/n/ns/b/bk/o/%2E"), ("../../secret", "/n/ns/b/bk/o/..%2F..%2Fsecret"),
    ("x\r\nHost: evil", "/n/ns/b/bk/o/x%0D%0AHost%3A%20evil"), ("%2e%2e", "/n/ns/b/bk/o/%252e%252e"),
    ("a?b#c", "/n/ns/b/bk/o/a%3Fb%23c"),
])
def test_odd_object_names_stay_one_encoded_path_segment(name, expected):
    import httpx

    from core.oci.objectstorage import object_path

    path = object_path("ns", "bk", name)
    assert path == expected
    # what goes on the wire: no URL normaliser may collapse or split it
    assert httpx.URL("https://objectstorage.example" + path).raw_path.decode() == expected
