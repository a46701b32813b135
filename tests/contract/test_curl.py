"""``curl``, as the README tells people to use it, against the gateway through the real fdk and the emulator."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.contract.conftest import CHAT_MODEL, EMBED_MODEL, chat_calls

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")]


def curl(*args: str, data: dict | None = None) -> tuple[int, dict[str, str], str]:
    """Run curl; return (status, lower-cased headers, body)."""
    command = ["curl", "-sS", "-D", "-", *args]
    if data is not None:
        command += ["-H", "Content-Type: application/json", "-d", json.dumps(data)]
    out = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout
    head, _, body = out.partition("\n\n")  # text mode turned CRLF into LF
    lines = head.split("\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def test_chat(front, emulator):
    status, headers, body = curl(f"{front.url}/v1/chat/completions", data={
        "model": CHAT_MODEL, "messages": [{"role": "user", "content": "Hello"}]})
    assert status == 200 and headers["content-type"].startswith("application/json")
    assert json.loads(body)["choices"][0]["message"]["content"] == "Echo: Hello"
    assert chat_calls(emulator)[0].verified


def test_stream_is_server_sent_events(front, emulator):
    status, headers, body = curl("-N", f"{front.url}/v1/chat/completions", data={
        "model": CHAT_MODEL, "stream": True, "messages": [{"role": "user", "content": "a b"}]})
    assert status == 200 and headers["content-type"] == "text/event-stream"
    assert headers["x-gateway-streaming"] == "buffered"  # the Functions path cannot stream
    events = [line[len("data: "):] for line in body.split("\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    text = "".join(json.loads(e)["choices"][0]["delta"].get("content") or "" for e in events[:-1])
    assert text == "Echo: a b"


def test_embeddings_models_and_health(front, emulator):
    status, _, body = curl(f"{front.url}/v1/embeddings", data={"model": EMBED_MODEL, "input": "hi",
                                                                "encoding_format": "float"})
    assert status == 200 and len(json.loads(body)["data"][0]["embedding"]) == 1536
    status, _, body = curl(f"{front.url}/v1/models")
    assert status == 200 and CHAT_MODEL in {m["id"] for m in json.loads(body)["data"]}
    status, _, body = curl(f"{front.url}/health")
    assert status == 200 and json.loads(body)["status"] == "ok"


def test_errors_keep_their_status_and_openai_shape(front, emulator):
    status, _, body = curl(f"{front.url}/v1/chat/completions", data={
        "model": "gpt-imaginary", "messages": [{"role": "user", "content": "x"}]})
    assert status == 404 and json.loads(body)["error"]["code"] == "model_not_found"
    status, _, body = curl("-X", "PUT", f"{front.url}/v1/models")
    assert status == 405 and json.loads(body)["error"]["type"]
