"""Direct ASGI mode (``uvicorn adapters.asgi:app``): every client sees the first chunk while the upstream
is still generating.

The emulator paces its events (``configure_stream(delay=...)``) and records how many it has written;
each test looks at that record the moment the client holds its first content chunk. No timing is
asserted: the check is causal (the upstream's last event had not been written yet).
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.contract.conftest import CHAT_MODEL

pytestmark = pytest.mark.integration

PACE_SECONDS = 0.15
WORDS = " ".join(f"w{i}" for i in range(12))  # 13 content events upstream: ~2 s of pacing in all


@pytest.fixture
def paced(emulator):
    emulator.configure_stream(delay=PACE_SECONDS)
    return emulator


def upstream_still_running(emulator) -> bool:
    [record] = [r for r in emulator.requests if r.path.endswith("/actions/chat")]
    assert record.verified
    return not record.stream_finished


def test_openai_sdk(direct_gateway, paced):
    import openai

    client = openai.OpenAI(base_url=f"{direct_gateway}/v1", api_key="sk-anything")
    text, early = "", None
    for chunk in client.chat.completions.create(model=CHAT_MODEL, stream=True,
                                                messages=[{"role": "user", "content": WORDS}]):
        delta = chunk.choices[0].delta.content if chunk.choices else None
        if delta and early is None:
            early = upstream_still_running(paced)
        text += delta or ""
    assert early is True and text == f"Echo: {WORDS}"
    assert not upstream_still_running(paced)  # and it did finish afterwards


def test_langchain(direct_gateway, paced):
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(model=CHAT_MODEL, base_url=f"{direct_gateway}/v1", api_key="sk-anything")
    text, early = "", None
    for chunk in llm.stream(WORDS):
        if chunk.content and early is None:
            early = upstream_still_running(paced)
        text += chunk.content
    assert early is True and text == f"Echo: {WORDS}"


def test_llamaindex(direct_gateway, paced):
    from llama_index.llms.openai_like import OpenAILike

    llm = OpenAILike(model=CHAT_MODEL, api_base=f"{direct_gateway}/v1", api_key="sk-anything", is_chat_model=True)
    text, early = "", None
    for response in llm.stream_complete(WORDS):
        if response.delta and early is None:
            early = upstream_still_running(paced)
        text += response.delta or ""
    assert early is True and text == f"Echo: {WORDS}"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl(direct_gateway, paced):
    body = json.dumps({"model": CHAT_MODEL, "stream": True, "messages": [{"role": "user", "content": WORDS}]})
    process = subprocess.Popen(["curl", "-sSN", f"{direct_gateway}/v1/chat/completions",
                                "-H", "Content-Type: application/json", "-d", body],
                               stdout=subprocess.PIPE, text=True)
    early, events = None, []
    try:
        for line in process.stdout:  # type: ignore[union-attr]
            if not line.startswith("data: "):
                continue
            events.append(line[len("data: "):].strip())
            if events[-1] != "[DONE]" and json.loads(events[-1])["choices"][0]["delta"].get("content") \
                    and early is None:
                early = upstream_still_running(paced)
    finally:
        process.wait(timeout=30)
    assert process.returncode == 0 and early is True and events[-1] == "[DONE]"


def test_fdk_path_for_contrast(front, paced):
    """Through OCI Functions the same request arrives only once the upstream has finished."""
    import openai

    client = openai.OpenAI(base_url=f"{front.url}/v1", api_key="sk-anything")
    stream = client.chat.completions.create(model=CHAT_MODEL, stream=True,
                                            messages=[{"role": "user", "content": "w0 w1 w2"}])
    first = next(iter(stream))
    assert first.choices[0].delta.role == "assistant"
    assert not upstream_still_running(paced)
    stream.close()
