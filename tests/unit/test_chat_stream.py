"""OCI event streams -> exact OpenAI chunk sequences, and the relay over a real HTTP stream (respx)."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from core.chat.sse import SSEDecoder
from core.chat.stream import StreamTranslator, UpstreamStreamError
from core.exchange import HTTP, Headers, Request
from handlers.router import dispatch
from tests.conftest import GENAI

CHAT_URL = f"{GENAI}/actions/chat"


def translate(events: list[dict], include_usage: bool = False) -> list[dict]:
    t = StreamTranslator(response_id="chatcmpl-x", model="m", created=1, include_usage=include_usage)
    chunks = [c for e in events for c in t.feed(e)]
    return chunks + t.finish()


def deltas(chunks: list[dict]) -> list[tuple]:
    """(index, delta, finish_reason) per chunk; the usage chunk as ('usage', usage)."""
    out = []
    for c in chunks:
        if not c["choices"]:
            out.append(("usage", c["usage"]))
        else:
            choice = c["choices"][0]
            out.append((choice["index"], choice["delta"], choice["finish_reason"]))
    return out


GENERIC_TEXT = [  # a llama stream captured from the real service, pad fields included
    {"index": 0, "message": {"role": "ASSISTANT", "content": [{"type": "TEXT", "text": ""}]}, "pad": "aaaa"},
    {"index": 0, "message": {"role": "ASSISTANT", "content": [{"type": "TEXT", "text": "Why"}]}, "pad": "aa"},
    {"index": 0, "message": {"role": "ASSISTANT", "content": [{"type": "TEXT", "text": " did"}]}, "pad": "a"},
    {"message": {"role": "ASSISTANT", "content": [{"type": "TEXT", "text": ""}]}, "finishReason": "stop", "pad": "a"},
    {"usage": {"completionTokens": 33, "promptTokens": 43, "totalTokens": 76}, "pad": "aaaaaa"},
]


def test_generic_text_without_usage():
    assert deltas(translate(GENERIC_TEXT)) == [
        (0, {"role": "assistant", "content": ""}, None),
        (0, {"content": "Why"}, None),
        (0, {"content": " did"}, None),
        (0, {}, "stop"),
    ]


def test_generic_text_with_usage_has_null_usage_then_usage_chunk():
    chunks = translate(GENERIC_TEXT, include_usage=True)
    assert all(c["usage"] is None for c in chunks[:-1])
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == {
        "prompt_tokens": 43, "completion_tokens": 33, "total_tokens": 76}
    assert all(c["id"] == "chatcmpl-x" and c["object"] == "chat.completion.chunk" for c in chunks)


GENERIC_TOOLS = [  # a langchain4j capture: two calls, one after the other, no per-call index
    {"index": 0, "message": {"role": "ASSISTANT", "content": [{"type": "TEXT", "text": ""}]}},
    {"index": 0, "message": {"role": "ASSISTANT", "toolCalls": [{"type": "FUNCTION", "id": "chatcmpl-tool-e5f86a0",
                                                                 "name": "sqrt"}]}},
    {"index": 0, "message": {"role": "ASSISTANT", "toolCalls": [{"type": "FUNCTION", "arguments": "{\"arg0\": \""}]}},
    {"index": 0, "message": {"role": "ASSISTANT", "toolCalls": [{"type": "FUNCTION", "arguments": "16\"}"}]}},
    {"index": 0, "message": {"role": "ASSISTANT", "toolCalls": [{"type": "FUNCTION", "arguments": ""}]}},
    {"index": 0, "message": {"role": "ASSISTANT", "toolCalls": [{"type": "FUNCTION", "id": "chatcmpl-tool-13ee961b",
                                                                 "name": "extractMagicalNumber"}]}},
    {"index": 0, "message": {"role": "ASSISTANT", "toolCalls": [{"type": "FUNCTION", "arguments": "{\"arg1\": \""}]}},
    {"index": 0, "message": {"role": "ASSISTANT", "toolCalls": [{"type": "FUNCTION", "arguments": "778\"}"}]}},
    {"message": {"role": "ASSISTANT", "toolCalls": [{"type": "FUNCTION", "arguments": ""}]}, "finishReason": "tool_calls"},
]


def test_generic_parallel_tool_calls_get_indices_and_stable_ids():
    assert deltas(translate(GENERIC_TOOLS)) == [
        (0, {"role": "assistant", "content": ""}, None),
        (0, {"tool_calls": [{"index": 0, "id": "chatcmpl-tool-e5f86a0", "type": "function",
                             "function": {"name": "sqrt", "arguments": ""}}]}, None),
        (0, {"tool_calls": [{"index": 0, "function": {"arguments": "{\"arg0\": \""}}]}, None),
        (0, {"tool_calls": [{"index": 0, "function": {"arguments": "16\"}"}}]}, None),
        (0, {"tool_calls": [{"index": 1, "id": "chatcmpl-tool-13ee961b", "type": "function",
                             "function": {"name": "extractMagicalNumber", "arguments": ""}}]}, None),
        (0, {"tool_calls": [{"index": 1, "function": {"arguments": "{\"arg1\": \""}}]}, None),
        (0, {"tool_calls": [{"index": 1, "function": {"arguments": "778\"}"}}]}, None),
        (0, {}, "tool_calls"),
    ]


def test_gemini_tool_calls_without_ids_get_synthesized_stable_ids():
    events = [
        {"index": 0, "message": {"role": "ASSISTANT", "toolCalls": [{"type": "FUNCTION", "name": "a",
                                                                     "arguments": "{}"}]}},
        {"index": 0, "message": {"role": "ASSISTANT", "toolCalls": [{"type": "FUNCTION", "name": "b",
                                                                     "arguments": "{\"x\":1}"}]}},
        {"finishReason": "stop"},  # STOP although tools were called: still tool_calls
    ]
    chunks = deltas(translate(events))
    first, second = chunks[1][1]["tool_calls"][0], chunks[2][1]["tool_calls"][0]
    assert first["index"] == 0 and second["index"] == 1
    assert first["id"].startswith("call_") and second["id"].startswith("call_") and first["id"] != second["id"]
    assert chunks[-1] == (0, {}, "tool_calls")
    again = deltas(translate(events))
    assert again[1][1]["tool_calls"][0]["id"] == first["id"]  # deterministic


def test_generic_reasoning_deltas():
    events = [{"index": 0, "message": {"role": "ASSISTANT", "reasoningContent": "think"}},
              {"index": 0, "message": {"role": "ASSISTANT", "content": [{"type": "TEXT", "text": "42"}]}},
              {"finishReason": "stop"}]
    assert deltas(translate(events))[1:] == [(0, {"reasoning_content": "think"}, None), (0, {"content": "42"}, None),
                                             (0, {}, "stop")]


def test_generic_n_choices_are_kept_apart():
    events = [{"index": 0, "message": {"content": [{"type": "TEXT", "text": "a"}]}},
              {"index": 1, "message": {"content": [{"type": "TEXT", "text": "b"}]}},
              {"finishReason": "stop"}, {"finishReason": "length"}]
    assert deltas(translate(events)) == [
        (0, {"role": "assistant", "content": ""}, None), (0, {"content": "a"}, None),
        (1, {"role": "assistant", "content": ""}, None), (1, {"content": "b"}, None),
        (0, {}, "stop"), (1, {}, "length"),
    ]


COHERE_TEXT = [  # a captured command-a stream: the last event restates everything
    {"apiFormat": "COHERE", "text": "Why", "pad": "aaa"},
    {"apiFormat": "COHERE", "text": " did", "pad": "aaaaaa"},
    {"apiFormat": "COHERE", "text": "Why did", "chatHistory": [{"role": "USER", "message": "Hello"}],
     "finishReason": "COMPLETE", "usage": {"completionTokens": 18, "promptTokens": 22, "totalTokens": 40}},
]


def test_cohere_final_restatement_is_not_emitted_twice():
    chunks = translate(COHERE_TEXT, include_usage=True)
    assert deltas(chunks) == [
        (0, {"role": "assistant", "content": ""}, None), (0, {"content": "Why"}, None), (0, {"content": " did"}, None),
        (0, {}, "stop"), ("usage", {"prompt_tokens": 22, "completion_tokens": 18, "total_tokens": 40}),
    ]


def test_cohere_tool_calls_with_restated_text():
    events = [
        {"apiFormat": "COHERE", "text": "I will"},
        {"apiFormat": "COHERE", "text": " check."},
        {"apiFormat": "COHERE", "text": "I will check.", "toolCalls": [{"name": "get_weather",
                                                                        "parameters": {"city": "Paris"}}]},
        {"apiFormat": "COHERE", "text": "I will check.", "toolCalls": [{"name": "get_weather",
                                                                        "parameters": {"city": "Paris"}}],
         "chatHistory": [], "finishReason": "COMPLETE"},
    ]
    out = deltas(translate(events))
    assert [d for d in out if "content" in d[1] and d[1]["content"]] == [(0, {"content": "I will"}, None),
                                                                        (0, {"content": " check."}, None)]
    calls = [d[1]["tool_calls"][0] for d in out if "tool_calls" in d[1]]
    assert len(calls) == 1 and calls[0]["function"] == {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}
    assert calls[0]["id"].startswith("call_") and out[-1] == (0, {}, "tool_calls")


def test_coherev2_text_thinking_tools_and_usage():
    events = [
        {"apiFormat": "COHEREV2", "message": {"role": "ASSISTANT", "content": [{"type": "THINKING", "thinking": "hm"}]}},
        {"apiFormat": "COHEREV2", "message": {"role": "ASSISTANT", "content": [{"type": "TEXT", "text": "Hel"}]}},
        {"apiFormat": "COHEREV2", "message": {"role": "ASSISTANT", "content": [{"type": "TEXT", "text": "lo"}]}},
        {"apiFormat": "COHEREV2", "message": {"role": "ASSISTANT", "toolCalls": [
            {"id": "tc-1", "type": "FUNCTION", "function": {"name": "f", "arguments": "{\"a\":1}"}}]}},
        {"apiFormat": "COHEREV2", "finishReason": "TOOL_CALL",
         "usage": {"promptTokens": 5, "completionTokens": 7, "totalTokens": 12}},
    ]
    out = deltas(translate(events, include_usage=True))
    assert out == [
        (0, {"role": "assistant", "content": ""}, None), (0, {"reasoning_content": "hm"}, None),
        (0, {"content": "Hel"}, None), (0, {"content": "lo"}, None),
        (0, {"tool_calls": [{"index": 0, "id": "tc-1", "type": "function",
                             "function": {"name": "f", "arguments": "{\"a\":1}"}}]}, None),
        (0, {}, "tool_calls"), ("usage", {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}),
    ]


def test_error_event_mid_stream_raises():
    t = StreamTranslator(response_id="x", model="m", created=1, include_usage=False)
    t.feed(GENERIC_TEXT[1])
    with pytest.raises(UpstreamStreamError) as caught:
        t.feed({"code": "InternalServerError", "message": "model crashed"})
    assert caught.value.code == "InternalServerError"


@pytest.mark.parametrize("cuts", [[1], [7, 8, 9], list(range(1, 200, 3)), [5, 50]])
def test_sse_decoder_handles_split_reads_single_newlines_and_crlf(cuts):
    stream = ('data: {"a":1}\n\ndata: {"b":"é"}\ndata: {"c":3}\r\n\r\n: comment\nevent: x\ndata: [DONE]\n\n'
              ).encode()
    pieces, last = [], 0
    for cut in cuts + [len(stream)]:
        cut = min(cut, len(stream))
        if cut > last:
            pieces.append(stream[last:cut])
            last = cut
    decoder = SSEDecoder()
    got = [d for p in pieces for d in decoder.feed(p)] + list(decoder.close())
    assert got == ['{"a":1}', '{"b":"é"}', '{"c":3}', "[DONE]"]


# -- the relay through the handler, against a real streamed HTTP body -------------------------

def sse_stream(events: list, *, done: bool = True, split: int | None = None) -> httpx.Response:
    raw = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + ("data: [DONE]\n\n" if done else "")
    data = raw.encode()
    parts = [data[i:i + split] for i in range(0, len(data), split)] if split else [data]
    return httpx.Response(200, headers={"content-type": "text/event-stream", "opc-request-id": "S1"},
                          stream=httpx.ByteStream(b"".join(parts)))


def chat_request(**extra) -> Request:
    body = {"model": "meta.llama-3.3-70b-instruct", "messages": [{"role": "user", "content": "hi"}],
            "stream": True, **extra}
    return Request(method="POST", path="/v1/chat/completions", headers=Headers({"content-type": "application/json"}),
                   body=json.dumps(body).encode(), kind=HTTP, request_id="R1")


def parse_sse(body: bytes) -> list:
    events = []
    for block in body.decode().split("\n\n"):
        if not block.strip():
            continue
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        data = lines["data"]
        events.append(("error", json.loads(data)) if lines.get("event") == "error" else
                      ("done", None) if data == "[DONE]" else ("chunk", json.loads(data)))
    return events


@respx.mock
async def test_stream_request_asks_oci_for_a_stream_with_usage(gateway_env):
    route = respx.post(CHAT_URL).mock(return_value=sse_stream(GENERIC_TEXT))
    response = await dispatch(chat_request(stream_options={"include_usage": True}))
    assert response.status == 200 and response.headers["content-type"] == "text/event-stream"
    assert response.is_streaming
    events = parse_sse(await response.read())
    sent = json.loads(route.calls.last.request.content)["chatRequest"]
    assert sent["isStream"] is True and sent["streamOptions"] == {"isIncludeUsage": True}
    assert route.calls.last.request.headers["accept"] == "application/json, text/event-stream"
    assert events[-1] == ("done", None)
    assert events[-2][1]["choices"] == [] and events[-2][1]["usage"]["total_tokens"] == 76
    assert "".join(e[1]["choices"][0]["delta"].get("content", "") for e in events[:-2]) == "Why did"


@respx.mock
async def test_stream_without_include_usage_never_sends_usage(gateway_env):
    respx.post(CHAT_URL).mock(return_value=sse_stream(GENERIC_TEXT, split=7))
    events = parse_sse(await (await dispatch(chat_request())).read())
    assert events[-1] == ("done", None)
    assert all("usage" not in e[1] for e in events[:-1])


@respx.mock
async def test_mid_stream_error_becomes_an_error_event_and_ends(gateway_env):
    respx.post(CHAT_URL).mock(return_value=sse_stream(
        GENERIC_TEXT[:2] + [{"code": "500", "message": "boom"}] + GENERIC_TEXT[2:]))
    events = parse_sse(await (await dispatch(chat_request())).read())
    assert events[-1][0] == "error" and "boom" in events[-1][1]["error"]["message"]
    assert ("done", None) not in events


@respx.mock
async def test_error_before_the_stream_is_a_normal_error_response(gateway_env):
    respx.post(CHAT_URL).mock(return_value=httpx.Response(400, json={"code": "400", "message": "bad things"}))
    response = await dispatch(chat_request())
    assert response.status == 400 and not response.is_streaming
    assert json.loads(response.body)["error"]["message"].endswith("bad things")


@respx.mock
async def test_cohere_stream_without_done_sentinel_still_ends_with_done(gateway_env):
    respx.post(CHAT_URL).mock(return_value=sse_stream(COHERE_TEXT, done=False))
    body = {"model": "meta.llama-3.3-70b-instruct", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    request = Request(method="POST", path="/v1/chat/completions", body=json.dumps(body).encode(), kind=HTTP)
    events = parse_sse(await (await dispatch(request)).read())
    text = "".join(e[1]["choices"][0]["delta"].get("content", "") for e in events if e[0] == "chunk")
    assert text == "Why did" and events[-1] == ("done", None)


def test_gemini_parallel_calls_to_the_same_tool_stay_apart():
    events = [
        {"index": 0, "message": {"toolCalls": [{"type": "FUNCTION", "name": "w", "arguments": "{\"c\":\"a\"}"}]}},
        {"index": 0, "message": {"toolCalls": [{"type": "FUNCTION", "name": "w", "arguments": "{\"c\":\"b\"}"}]}},
        {"finishReason": "stop"},
    ]
    calls = [d[1]["tool_calls"][0] for d in deltas(translate(events)) if "tool_calls" in d[1]]
    assert [c["index"] for c in calls] == [0, 1]
    assert [c["function"]["arguments"] for c in calls] == ["{\"c\":\"a\"}", "{\"c\":\"b\"}"]


def test_name_resent_with_partial_arguments_continues_the_call():
    events = [
        {"index": 0, "message": {"toolCalls": [{"type": "FUNCTION", "name": "w", "arguments": "{\"c\":"}]}},
        {"index": 0, "message": {"toolCalls": [{"type": "FUNCTION", "name": "w", "arguments": "\"a\"}"}]}},
        {"finishReason": "tool_calls"},
    ]
    calls = [d[1]["tool_calls"][0] for d in deltas(translate(events)) if "tool_calls" in d[1]]
    assert [c["index"] for c in calls] == [0, 0]
    assert "".join(c["function"]["arguments"] for c in calls) == "{\"c\":\"a\"}"


@pytest.mark.parametrize("split", [1, 2, 3, 1000])
def test_sse_decoder_splits_on_cr_alone_but_never_inside_json_text(split):
    stream = 'data: {"t":"a\u2028b\x85c"}\rdata: {"t":"d"}\r\rdata: [DONE]\r'.encode()
    decoder = SSEDecoder()
    got = [d for i in range(0, len(stream), split) for d in decoder.feed(stream[i:i + split])]
    got += list(decoder.close())
    assert got == ['{"t":"a\u2028b\x85c"}', '{"t":"d"}', "[DONE]"]
