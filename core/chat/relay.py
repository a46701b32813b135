"""Relay an open OCI event stream to the caller as OpenAI server-sent events.

The bytes are produced as they arrive, so a front that can stream (the ASGI adapter)
passes each token on at once; the fdk adapter collects them (OCI Functions cannot
stream). Errors after the first byte can no longer change the status: they become an
SSE ``error`` event, which the openai SDK raises on, and the stream ends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, AsyncIterator

from core import logs
from core.chat.sse import DONE, DONE_EVENT, SSEDecoder, encode_event
from core.chat.stream import StreamTranslator, UpstreamStreamError
from core.oci.client import StreamBroken, UpstreamStream
from core.errors import upstream_message
from core.jsonio import loads


def error_event(message: str, *, type: str = "server_error", code: str | None = None) -> bytes:
    return encode_event({"error": {"message": message, "type": type, "param": None, "code": code}}, event="error")


async def with_deadline(chunks: AsyncIterator[bytes], deadline: float | None, margin: float) -> AsyncIterator[bytes]:
    iterator = chunks.__aiter__()
    while True:
        try:
            if deadline is None:
                chunk = await iterator.__anext__()
            else:
                remaining = deadline - time.time() - margin
                if remaining <= 0:
                    raise asyncio.TimeoutError
                chunk = await asyncio.wait_for(iterator.__anext__(), timeout=remaining)
        except StopAsyncIteration:
            return
        yield chunk


class UpstreamAnswerError(Exception):
    """OCI answered a stream request with a whole document that is an error, or unreadable."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


async def chat_chunks(stream: UpstreamStream, translator: StreamTranslator, *, deadline: float | None,
                      margin: float) -> AsyncIterator[dict[str, Any]]:
    """The OpenAI ``chat.completion.chunk`` objects of an OCI chat stream, the translator's closing chunks last.

    Raises :class:`UpstreamStreamError` (an error event), :class:`UpstreamAnswerError` (an error document),
    ``asyncio.TimeoutError`` (the deadline) and :class:`StreamBroken` (the connection).
    """
    content_type = stream.headers.get("content-type", "")
    if "text/event-stream" not in content_type:
        # OCI answered with a whole JSON document: replay it as chunks.
        body = b"".join([chunk async for chunk in with_deadline(stream.chunks(), deadline, margin)])
        for chunk in _replay_document(body, translator):
            yield chunk
        return
    decoder = SSEDecoder()
    async for raw in with_deadline(stream.chunks(), deadline, margin):
        for data in decoder.feed(raw):
            for chunk in _translate(data, translator):
                yield chunk
    for data in decoder.close():
        for chunk in _translate(data, translator):
            yield chunk
    for chunk in translator.finish():
        yield chunk


async def relay(stream: UpstreamStream, translator: StreamTranslator, *, deadline: float | None, margin: float,
                log_fields: dict[str, Any]) -> AsyncIterator[bytes]:
    """OpenAI SSE bytes for an OCI chat event stream (ends with ``data: [DONE]`` unless an error ended it)."""
    watch = logs.Stopwatch()
    outcome = "complete"
    try:
        async for chunk in chat_chunks(stream, translator, deadline=deadline, margin=margin):
            yield encode_event(chunk)
        yield DONE_EVENT
    except UpstreamAnswerError as exc:
        outcome = "upstream_error"
        yield error_event(exc.message, code=exc.code)
    except UpstreamStreamError as exc:
        outcome = "upstream_error"
        yield error_event(f"OCI Generative AI failed during the stream: {exc.message}", code=exc.code or "upstream_error")
    except asyncio.TimeoutError:
        outcome = "deadline"
        yield error_event(DEADLINE_MESSAGE, type="timeout_error", code="deadline_exceeded")
    except StreamBroken as exc:
        outcome = "upstream_broken"
        yield error_event(f"The connection to OCI Generative AI broke during the stream ({exc}).",
                          code="upstream_unreachable")
    finally:
        await stream.aclose()
        usage = translator.usage or {}
        logs.log_event("stream_end", logging.INFO, outcome=outcome, duration_ms=watch.ms(),
                       prompt_tokens=usage.get("prompt_tokens"), completion_tokens=usage.get("completion_tokens"),
                       **log_fields)


DEADLINE_MESSAGE = ("The stream ran out of time before OCI finished; ask for fewer tokens or raise the function "
                    "timeout.")


def _translate(data: str, translator: StreamTranslator) -> list[dict[str, Any]]:
    if data.strip() == DONE:
        return []
    try:
        event = loads(data)
    except ValueError:
        logs.log_event("stream_bad_event", logging.WARNING, length=len(data))
        return []
    return translator.feed(event)


def _replay_document(body: bytes, translator: StreamTranslator) -> list[dict[str, Any]]:
    """A non-streamed ChatResult as OpenAI chunks; an error document raises :class:`UpstreamAnswerError`."""
    try:
        document = loads(body)
    except ValueError:
        raise UpstreamAnswerError("OCI Generative AI answered the stream with an unreadable document.") from None
    chat = document.get("chatResponse") if isinstance(document, dict) else None
    if not isinstance(chat, dict):
        code, message = upstream_message(body)
        raise UpstreamAnswerError(f"OCI Generative AI failed: {message or 'no message'}", code)
    events: list[dict[str, Any]]
    if chat.get("apiFormat") == "COHERE":
        events = [{**chat, "apiFormat": "COHERE"}]
    elif chat.get("apiFormat") == "COHEREV2":
        events = [{"apiFormat": "COHEREV2", "message": chat.get("message"), "finishReason": chat.get("finishReason"),
                   "usage": chat.get("usage")}]
    else:
        events = [{"index": c.get("index", 0), "message": c.get("message"), "finishReason": c.get("finishReason")}
                  for c in chat.get("choices") or []]
        events.append({"usage": chat.get("usage")})
    out: list[dict[str, Any]] = []
    for event in events:
        out.extend(translator.feed(event))
    out.extend(translator.finish())
    return out
