"""A capture from the live service replaces the emulator's inferred rule for the requests it matches.

The COHEREV2 streamed tool call is inferred in the emulator (no capture existed). Loading a capture document
(``make doctor ARGS="--capture FILE"`` writes them) makes the emulator answer with what was recorded, and the
gateway's translation then runs against the recorded events; other requests keep the emulator's rules.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Iterator

import pytest

from core import runtime
from core.oci.capture import Exchange, capture_document
from local.emulator.captures import install_captures, load
from tests.support.runtime import reset_settings

MODEL = "cohere.command-a-03-2025"
TOOL = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}
# What a live COHEREV2 stream might send instead: the whole tool call in one event, with its own id.
LIVE_EVENTS = (
    'data: {"apiFormat":"COHEREV2","message":{"role":"ASSISTANT","toolCalls":[{"id":"call_live_1","type":"FUNCTION",'
    '"function":{"name":"get_time","arguments":"{\\"zone\\": \\"UTC\\"}"}}]}}\n\n'
    'data: {"apiFormat":"COHEREV2","finishReason":"TOOL_CALL","usage":{"completionTokens":5,"promptTokens":9,'
    '"totalTokens":14}}\n\n'
    "data: [DONE]\n\n"
)


@pytest.fixture
def env(gateway_env: dict[str, str], emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in gateway_env.items():
        monkeypatch.setenv(key, value)
    reset_settings()
    runtime.set_credentials(None)
    yield
    emulator.emulator.routes[:] = [r for r in emulator.emulator.routes if not r.name.startswith("capture:")]
    runtime.reset()


def _capture() -> dict[str, Any]:
    request = {"compartmentId": "ocid1.compartment.oc1..live", "servingMode": {"servingType": "ON_DEMAND",
               "modelId": MODEL}, "chatRequest": {"apiFormat": "COHEREV2", "isStream": True, "tools": [{}],
                                                  "messages": [{"role": "USER", "content": [{"type": "TEXT",
                                                                                             "text": "secret"}]}]}}
    exchange = Exchange("POST", "https://inference.generativeai.us-chicago-1.oci.oraclecloud.com/20231130/actions/chat",
                        {"authorization": "Signature keyId=...", "content-type": "application/json"},
                        json.dumps(request).encode(), 200, {"content-type": "text/event-stream"}, LIVE_EVENTS.encode())
    return capture_document([("cohere-v2 tool-call stream", exchange)])


def _tool_calls() -> list[dict[str, Any]]:
    from core.chat.service import create_chat_completion

    async def go() -> list[dict[str, Any]]:
        try:
            result = await create_chat_completion({"model": MODEL, "stream": True, "tools": [TOOL],
                                                   "tool_choice": "required",
                                                   "messages": [{"role": "user", "content": "Time? call:get_time"}]})
            calls: list[dict[str, Any]] = []
            async for chunk in result.stream or ():
                for line in chunk.decode().splitlines():
                    if line.startswith("data: {"):
                        for choice in json.loads(line[6:]).get("choices", []):
                            calls.extend(choice.get("delta", {}).get("tool_calls") or [])
            return calls
        finally:
            await runtime.close_client()

    return asyncio.run(go())


def test_a_capture_replaces_the_inferred_cohere_v2_tool_stream(env: None, emulator: Any) -> None:
    inferred = _tool_calls()
    assert "".join(c["function"].get("arguments", "") for c in inferred) == "{}"  # the emulator's own rule
    assert emulator.requests[-1].route == "genai.chat"

    document = _capture()
    assert "secret" not in json.dumps(document) and "Signature" not in json.dumps(document)  # redacted
    assert install_captures(emulator.emulator, document) == 1
    recorded = _tool_calls()
    assert recorded[0]["function"]["name"] == "get_time"
    assert "".join(c["function"].get("arguments", "") for c in recorded) == '{"zone": "UTC"}'
    assert emulator.requests[-1].route == "capture:POST /20231130/actions/chat"
    assert emulator.requests[-1].verified  # still signed and checked like any request


def test_requests_the_capture_does_not_match_keep_the_emulators_rules(env: None, emulator: Any) -> None:
    from core.chat.service import create_chat_completion

    install_captures(emulator.emulator, _capture())

    async def go() -> Any:
        try:
            return await create_chat_completion({"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]})
        finally:
            await runtime.close_client()

    assert asyncio.run(go()).body["choices"][0]["message"]["content"] == "Echo: Hi"


def test_only_capture_documents_load(tmp_path: Any) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"format": "something-else", "exchanges": []}))
    with pytest.raises(ValueError, match="not a capture document"):
        load(path)
