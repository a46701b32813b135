"""Emulator SSE streaming, parsed by the ``oci`` SDK's own SSE client as the authority.

Event shapes and order follow streams captured from the real OCI service: GENERIC token
events with ``index``, a finish event without it, an optional usage-only event and ``[DONE]``;
COHERE v1 deltas and a final event restating everything, no ``[DONE]``; COHEREV2 deltas, a
final event and ``[DONE]``. Pacing is shown causally (the first event is in the client's hands
while the emulator still has unsent chunks), never by measuring durations.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

import httpx
import oci
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from oci._vendor import requests as oci_requests
from oci._vendor.sseclient import SSEClient
from oci.generative_ai_inference import GenerativeAiInferenceClient
from oci.generative_ai_inference import models as M

from local.emulator import Emulator, RunningEmulator, serve_in_thread
from local.emulator.streaming import StreamPlan, frames, writes

TENANCY = "ocid1.tenancy.oc1..aaaaaaaatesttenancy"
USER = "ocid1.user.oc1..aaaaaaaatestuser"
FINGERPRINT = ":".join(["ef"] * 16)
KEY_ID = f"{TENANCY}/{USER}/{FINGERPRINT}"
COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaatestcompartment"
LLAMA = "meta.llama-3.3-70b-instruct"
COHERE = "cohere.command-a-03-2025"
CHAT_PATH = "/20231130/actions/chat"
DONE = "[DONE]"
TOOLS = [
    {"type": "FUNCTION", "name": "get_weather",
     "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
    {"type": "FUNCTION", "name": "get_time", "parameters": {"type": "object", "properties": {}}},
]


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def pem(private_key: rsa.RSAPrivateKey) -> str:
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture(scope="module")
def signer(pem: str) -> oci.signer.Signer:
    return oci.signer.Signer(TENANCY, USER, FINGERPRINT, None, private_key_content=pem)


@pytest.fixture(scope="module")
def server(private_key: rsa.RSAPrivateKey) -> Iterator[RunningEmulator]:
    emulator = Emulator()
    emulator.add_key(KEY_ID, private_key.public_key())
    with serve_in_thread(emulator) as running:
        yield running


@pytest.fixture
def emu(server: RunningEmulator) -> Iterator[Emulator]:
    server.emulator.reset()
    yield server.emulator
    server.emulator.reset()


@pytest.fixture
def http(server: RunningEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, trust_env=False, timeout=30) as client:
        yield client


@pytest.fixture
def sdk(server: RunningEmulator, signer: oci.signer.Signer, pem: str) -> GenerativeAiInferenceClient:
    config = {"tenancy": TENANCY, "user": USER, "fingerprint": FINGERPRINT, "key_content": pem,
              "region": "us-chicago-1"}
    return GenerativeAiInferenceClient(
        config, signer=signer, service_endpoint=server.url, retry_strategy=oci.retry.NoneRetryStrategy(),
        timeout=(10, 60),
    )


def signed_headers(signer: Any, url: str, body: bytes, extra: dict[str, str] | None = None) -> dict[str, str]:
    prepared = oci_requests.Request("POST", url, headers=dict(extra or {}), data=body).prepare()
    signer.do_request_sign(prepared)
    return dict(prepared.headers)


def post_raw(http: httpx.Client, signer: Any, payload: dict[str, Any], **headers: str) -> httpx.Response:
    """POST a signed chat body and read the whole response (stream or not)."""
    body = json.dumps(payload).encode()
    extra = {k.replace("_", "-"): v for k, v in headers.items()}
    headers_ = signed_headers(signer, f"{http.base_url}{CHAT_PATH}", body, extra)
    return http.post(CHAT_PATH, content=body, headers=headers_)


def sdk_sse(data: bytes | list[bytes]) -> list[str]:
    """The event payloads the SDK's own SSE client finds in ``data`` (one chunk or several)."""
    chunks = [data] if isinstance(data, bytes) else data
    return [event.data for event in SSEClient(iter(chunks)).events()]


def stream(http: httpx.Client, signer: Any, payload: dict[str, Any], **headers: str) -> list[Any]:
    """Stream a chat; return its events (JSON-decoded, ``[DONE]`` kept as a string)."""
    response = post_raw(http, signer, payload, **headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/event-stream"  # exactly: what the SDK requires
    return [data if data == DONE else json.loads(data) for data in sdk_sse(response.content)]


def generic(text: str = "tell me a joke", model: str = LLAMA, **chat: Any) -> dict[str, Any]:
    return {
        "compartmentId": COMPARTMENT,
        "servingMode": {"servingType": "ON_DEMAND", "modelId": model},
        "chatRequest": {"apiFormat": "GENERIC", "isStream": True,
                        "messages": [{"role": "USER", "content": [{"type": "TEXT", "text": text}]}], **chat},
    }


def cohere_v1(message: str, **chat: Any) -> dict[str, Any]:
    return {"compartmentId": COMPARTMENT, "servingMode": {"servingType": "ON_DEMAND", "modelId": COHERE},
            "chatRequest": {"apiFormat": "COHERE", "isStream": True, "message": message, **chat}}


def cohere_v2(text: str, model: str = COHERE, **chat: Any) -> dict[str, Any]:
    return {"compartmentId": COMPARTMENT, "servingMode": {"servingType": "ON_DEMAND", "modelId": model},
            "chatRequest": {"apiFormat": "COHEREV2", "isStream": True,
                            "messages": [{"role": "USER", "content": [{"type": "TEXT", "text": text}]}], **chat}}


def non_stream(payload: dict[str, Any]) -> dict[str, Any]:
    copy = json.loads(json.dumps(payload))
    copy["chatRequest"]["isStream"] = False
    copy["chatRequest"].pop("streamOptions", None)
    return copy


def generic_text(events: list[Any], field: str = "text") -> str:
    out = []
    for event in events:
        message = event.get("message") if isinstance(event, dict) else None
        if not message:
            continue
        if field == "reasoning":
            out.append(message.get("reasoningContent") or "")
        else:
            out += [p.get("text") or "" for p in message.get("content") or []]
    return "".join(out)


def assemble_generic_calls(events: list[Any]) -> list[dict[str, Any]]:
    """The client rule: an id (or a new name) opens a call, fragments append."""
    calls: list[dict[str, Any]] = []
    for event in events:
        message = event.get("message") if isinstance(event, dict) else None
        for fragment in (message or {}).get("toolCalls") or []:
            if "id" in fragment or "name" in fragment:
                calls.append({"id": fragment.get("id"), "name": fragment["name"], "arguments": ""})
            else:
                calls[-1]["arguments"] += fragment.get("arguments", "")
    return calls


# ------------------------------------------------------------------------------------------------
# GENERIC


def test_generic_text_stream_through_the_sdk_client(emu: Emulator, sdk: GenerativeAiInferenceClient) -> None:
    details = M.ChatDetails(
        compartment_id=COMPARTMENT,
        serving_mode=M.OnDemandServingMode(model_id=LLAMA),
        chat_request=M.GenericChatRequest(
            messages=[M.UserMessage(content=[M.TextContent(text="tell me a joke")])],
            is_stream=True, stream_options=M.StreamOptions(is_include_usage=True),
        ),
    )
    response = sdk.chat(details)
    assert isinstance(response.data, SSEClient)  # the SDK recognised the stream
    datas = [event.data for event in response.data.events()]
    assert datas[-1] == DONE
    events = [json.loads(d) for d in datas[:-1]]
    assert all("pad" in e and set(e["pad"]) == {"a"} for e in events)

    first, *tokens, finish, usage = events
    assert first["index"] == 0 and first["message"]["content"] == [{"type": "TEXT", "text": ""}]
    assert all(t["index"] == 0 and t["message"]["role"] == "ASSISTANT" for t in tokens)
    assert [t["message"]["content"][0]["text"] for t in tokens] == ["Echo:", " tell", " me", " a", " joke"]
    assert "index" not in finish  # as captured: the finish event has no index
    assert finish["finishReason"] == "stop" and finish["message"]["content"] == [{"type": "TEXT", "text": ""}]
    assert set(usage) == {"usage", "pad"}
    assert usage["usage"] == {"completionTokens": 5, "promptTokens": 4, "totalTokens": 9}


def test_generic_usage_event_only_when_asked(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    events = stream(http, signer, generic("hi"))
    assert events[-1] == DONE and "finishReason" in events[-2]
    assert not any("usage" in e for e in events[:-1])


def test_generic_streamed_tool_calls_match_the_non_stream_answer(
    emu: Emulator, http: httpx.Client, signer: Any
) -> None:
    payload = generic("weather in Paris call:get_weather call:get_time", tools=TOOLS)
    events = stream(http, signer, payload, opc_request_id="SAMEREQUESTID1")
    calls = assemble_generic_calls(events[:-1])
    body = post_raw(http, signer, non_stream(payload), opc_request_id="SAMEREQUESTID1").json()
    expected = body["chatResponse"]["choices"][0]["message"]["toolCalls"]
    assert [(c["id"], c["name"], json.loads(c["arguments"])) for c in calls] == [
        (c["id"], c["name"], json.loads(c["arguments"])) for c in expected
    ]
    assert calls[0]["name"] == "get_weather" and json.loads(calls[0]["arguments"]) == {"city": "Paris"}

    fragments = [f for e in events[:-1] if "message" in e for f in e["message"].get("toolCalls") or []]
    openings = [f for f in fragments if "id" in f]
    assert len(openings) == 2 and all("arguments" not in f for f in openings)  # id + name only
    assert len(fragments) > 4  # the arguments arrive in several pieces, at position 0, no index
    assert all(len(e["message"].get("toolCalls") or [None]) == 1 for e in events[:-1] if "message" in e)
    assert events[-2]["finishReason"] == "tool_calls" and "index" not in events[-2]


def test_gemini_streamed_tool_calls_have_no_ids(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    events = stream(http, signer, generic("call:get_time call:get_weather", model="google.gemini-2.5-flash",
                                          tools=TOOLS))
    calls = assemble_generic_calls(events[:-1])
    assert [c["name"] for c in calls] == ["get_time", "get_weather"]
    assert all(c["id"] is None for c in calls)


def test_generic_reasoning_streams_before_the_text(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    events = stream(http, signer, generic("why blue", model="xai.grok-3-mini", reasoningEffort="HIGH",
                                          streamOptions={"isIncludeUsage": True}))
    messages = [e.get("message", {}) for e in events[:-1]]
    reasoning_at = [i for i, m in enumerate(messages) if "reasoningContent" in m]
    text_at = [i for i, m in enumerate(messages) if any(p.get("text") for p in m.get("content") or [])]
    assert reasoning_at and text_at and max(reasoning_at) < min(text_at)
    assert generic_text(events, "reasoning") == "Thinking about: why blue"
    assert generic_text(events) == "Echo: why blue"
    assert events[-2]["usage"]["completionTokensDetails"]["reasoningTokens"] == 4


def test_generic_n_choices_stream_one_after_another(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    events = stream(http, signer, generic("a b", numGenerations=2))[:-1]
    finishes = [i for i, e in enumerate(events) if "finishReason" in e]
    assert len(finishes) == 2
    assert {e["index"] for e in events[: finishes[0]]} == {0}
    assert {e["index"] for e in events[finishes[0] + 1 : finishes[1]]} == {1}
    assert generic_text(events[: finishes[0]]) == generic_text(events[finishes[0] + 1 :]) == "Echo: a b"


# ------------------------------------------------------------------------------------------------
# COHERE v1 and COHEREV2


def test_cohere_v1_stream_through_the_sdk_client(emu: Emulator, sdk: GenerativeAiInferenceClient) -> None:
    details = M.ChatDetails(
        compartment_id=COMPARTMENT,
        serving_mode=M.OnDemandServingMode(model_id=COHERE),
        chat_request=M.CohereChatRequest(message="tell me a joke", chat_history=[M.CohereUserMessage(message="hi")],
                                         is_stream=True, stream_options=M.StreamOptions(is_include_usage=True)),
    )
    datas = [event.data for event in sdk.chat(details).data.events()]
    assert DONE not in datas  # as captured: no [DONE] for COHERE v1
    *deltas, final = [json.loads(d) for d in datas]
    assert all(set(d) == {"apiFormat", "text", "pad"} and d["apiFormat"] == "COHERE" for d in deltas)
    text = "".join(d["text"] for d in deltas)
    assert text == "Echo: tell me a joke"
    assert final["text"] == text  # the final event restates the whole text
    assert final["finishReason"] == "COMPLETE"
    assert final["chatHistory"][-2:] == [{"role": "USER", "message": "tell me a joke"},
                                         {"role": "CHATBOT", "message": text}]
    assert final["usage"]["completionTokens"] == 5


def test_cohere_v1_stream_tool_calls_restate_the_text(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    tool = {"name": "get_weather", "description": "w",
            "parameterDefinitions": {"city": {"type": "str", "isRequired": True}}}
    events = stream(http, signer, cohere_v1("weather in Oslo", tools=[tool], maxTokens=50))
    calls_event = next(e for e in events if "toolCalls" in e and "chatHistory" not in e)
    deltas = events[: events.index(calls_event)]
    assert calls_event["text"] == "".join(d["text"] for d in deltas) == "I will call get_weather."
    assert calls_event["toolCalls"] == [{"name": "get_weather", "parameters": {"city": "Oslo"}}]
    final = events[-1]
    assert final["finishReason"] == "COMPLETE" and final["toolCalls"] == calls_event["toolCalls"]
    assert "usage" not in final


def test_cohere_v2_stream_through_the_sdk_client(emu: Emulator, sdk: GenerativeAiInferenceClient) -> None:
    details = M.ChatDetails(
        compartment_id=COMPARTMENT,
        serving_mode=M.OnDemandServingMode(model_id="cohere.command-a-reasoning"),
        chat_request=M.CohereChatRequestV2(
            messages=[M.CohereUserMessageV2(content=[M.CohereTextContentV2(text="plan a trip")])],
            thinking=M.CohereThinkingV2(type="ENABLED", token_budget=100),
            is_stream=True, stream_options=M.StreamOptions(is_include_usage=True),
        ),
    )
    datas = [event.data for event in sdk.chat(details).data.events()]
    assert datas[-1] == DONE
    *deltas, final = [json.loads(d) for d in datas[:-1]]
    parts = [d["message"]["content"][0] for d in deltas]
    assert all(d["apiFormat"] == "COHEREV2" and d["message"]["role"] == "ASSISTANT" for d in deltas)
    kinds = [p["type"] for p in parts]
    assert kinds == sorted(kinds, key=lambda k: k != "THINKING")  # thinking first
    assert "".join(p.get("thinking", "") for p in parts) == "Thinking about: plan a trip"
    assert "".join(p.get("text", "") for p in parts) == "Echo: plan a trip"
    assert final["finishReason"] == "COMPLETE" and "message" not in final
    assert final["usage"]["completionTokensDetails"]["reasoningTokens"] == 5


def test_cohere_v2_stream_tool_calls(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    tools = [{"type": "FUNCTION", "function": {"name": t["name"], "parameters": t["parameters"]}} for t in TOOLS]
    events = stream(http, signer, cohere_v2("call:get_weather call:get_time in Lima", tools=tools))
    assert events[-1] == DONE and events[-2]["finishReason"] == "TOOL_CALL"
    plans = [e["message"]["toolPlan"] for e in events[:-2] if "toolPlan" in e["message"]]
    assert plans == ["I will call get_weather, get_time."]
    calls: list[dict[str, Any]] = []
    for event in events[:-2]:
        for fragment in event["message"].get("toolCalls") or []:
            if "id" in fragment:
                calls.append({"id": fragment["id"], "name": fragment["function"]["name"], "arguments": ""})
            calls[-1]["arguments"] += fragment["function"].get("arguments", "")
    assert [(c["name"], json.loads(c["arguments"])) for c in calls] == [("get_weather", {"city": "Lima"}),
                                                                       ("get_time", {})]
    assert len({c["id"] for c in calls}) == 2


# ------------------------------------------------------------------------------------------------
# Pacing, framing quirks, mid-stream errors


def test_pacing_first_event_arrives_before_the_last_is_sent(
    emu: Emulator, sdk: GenerativeAiInferenceClient
) -> None:
    emu.configure_stream(delay=0.3)
    details = M.ChatDetails(
        compartment_id=COMPARTMENT, serving_mode=M.OnDemandServingMode(model_id=LLAMA),
        chat_request=M.GenericChatRequest(messages=[M.UserMessage(content=[M.TextContent(text="one two three")])],
                                          is_stream=True),
    )
    events = sdk.chat(details).data.events()
    first = next(events)
    record = emu.requests[-1]
    assert json.loads(first.data)["message"]["content"][0]["text"] == ""
    assert record.stream_total is not None and record.stream_sent is not None
    assert record.stream_sent < record.stream_total  # the emulator is still "generating"
    assert not record.stream_finished
    rest = [e.data for e in events]
    assert rest[-1] == DONE and record.stream_finished


def test_framing_quirks_do_not_change_what_the_sdk_parses(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    payload = generic("several words to split across writes", streamOptions={"isIncludeUsage": True})
    normal = stream(http, signer, payload)
    emu.configure_stream(events_per_write=3, max_write_bytes=7, delay=0.001)
    quirky = stream(http, signer, payload)
    assert quirky == normal
    assert emu.requests[-1].stream_total > len(normal)  # really cut into small writes


def test_writes_group_and_split_frames() -> None:
    plan = StreamPlan(pad=False, events_per_write=2, max_write_bytes=5)
    encoded = frames([{"a": 1}, {"b": 2}, DONE], plan)
    assert encoded == [b'data: {"a":1}\n\n', b'data: {"b":2}\n\n', b"data: [DONE]\n\n"]
    chunks = writes(encoded, plan)
    assert b"".join(chunks) == b"".join(encoded)
    assert all(len(c) <= 5 for c in chunks)
    assert writes(encoded, StreamPlan(events_per_write=2)) == [encoded[0] + encoded[1], encoded[2]]
    assert sdk_sse(chunks) == ['{"a":1}', '{"b":2}', DONE]  # events straddling writes survive


def test_single_newline_separators(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    payload = generic("a b c")
    expected = stream(http, signer, payload)
    emu.configure_stream(separator="\n")
    response = post_raw(http, signer, payload)
    assert b"\n\n" not in response.content
    by_line = [line[len(b"data: "):].decode() for line in response.content.splitlines() if line.startswith(b"data:")]
    assert [d if d == DONE else json.loads(d) for d in by_line] == expected  # a line parser copes
    assert len(sdk_sse(response.content)) < len(expected)  # a blank-line parser merges events: the quirk


def test_mid_stream_error_ends_the_stream(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    emu.break_streams(3, code="InternalServerError", message="boom")
    events = stream(http, signer, generic("one two three four"))
    assert len(events) == 4 and DONE not in events
    assert all("message" in e for e in events[:3])
    assert events[3] == {"code": "InternalServerError", "message": "boom"}
    assert stream(http, signer, generic("one two three four"))[-1] == DONE  # one-shot by default


def test_errors_before_the_stream_stay_json(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    bad = generic()
    bad["chatRequest"]["maxTokens"] = 0
    for response in (post_raw(http, signer, bad), post_raw(http, signer, generic(model="meta.nope"))):
        assert response.status_code in (400, 404)
        assert response.headers["content-type"] == "application/json"
        assert set(response.json()) == {"code", "message"}
    emu.inject(429, retry_after="2")
    response = post_raw(http, signer, generic())
    assert response.status_code == 429 and response.headers["content-type"] == "application/json"


def test_stream_control_endpoints(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    settings = {"delaySeconds": 0.0, "eventsPerWrite": 2, "maxWriteBytes": 9, "separator": "\n", "cohereDone": True}
    shown = http.post("/_emulator/stream", json=settings).json()
    assert shown["eventsPerWrite"] == 2 and shown["maxWriteBytes"] == 9 and shown["separator"] == "\n"
    response = post_raw(http, signer, cohere_v1("hi"))
    assert response.content.rstrip().endswith(b"data: [DONE]")  # the cohereDone tolerance knob
    assert emu.requests[-1].stream_total > 2

    assert http.post("/_emulator/stream", json={"maxWriteBytes": None, "separator": "\n\n",
                                                "cohereDone": False}).json()["maxWriteBytes"] is None
    armed = http.post("/_emulator/stream/error", json={"afterEvents": 1, "code": "TooManyRequests", "message": "slow"})
    assert armed.json()["error"] == {"afterEvents": 1, "code": "TooManyRequests", "message": "slow", "times": 1}
    events = stream(http, signer, cohere_v1("hi there"))
    assert events[-1] == {"code": "TooManyRequests", "message": "slow"} and len(events) == 2

    http.post("/_emulator/stream/error", json={"afterEvents": 0, "times": 5})
    assert http.delete("/_emulator/stream/error").json()["error"] is None
    assert http.post("/_emulator/stream", json={"separator": "\t"}).status_code == 400
    assert http.post("/_emulator/reset").status_code == 200
    assert http.get("/_emulator/stream").json()["eventsPerWrite"] == 1
