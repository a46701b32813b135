"""A bridged response streamed: the chat core's chunks as Responses events, ``response.failed`` when OCI fails.

The events are produced as the chat chunks arrive, so the ASGI target streams them token by token (OCI Functions
collects them). The stored copy, when the response is stored, is written before the final event is sent: a
client that saw ``response.completed`` can continue the conversation at once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, AsyncIterator, Awaitable, Callable

from core import logs
from core.chat.relay import DEADLINE_MESSAGE, UpstreamAnswerError, chat_chunks
from core.chat.sse import encode_event
from core.chat.stream import StreamTranslator, UpstreamStreamError
from core.errors import APIError
from core.oci.client import StreamBroken, UpstreamStream
from core.responses.events import EventWriter

OnComplete = Callable[[dict[str, Any]], Awaitable[None]]
Screen = Callable[[AsyncIterator[dict[str, Any]]], AsyncIterator[dict[str, Any]]]


def _encoded(events: list[dict[str, Any]]) -> list[bytes]:
    return [encode_event(event, event=event["type"]) for event in events]


THROTTLED = frozenset({"TooManyRequests", "429", "rate_limit_exceeded"})


def _failed(writer: EventWriter, code: str | None, message: str) -> bytes:
    """``response.failed``; its ``error.code`` is one of OpenAI's (the upstream code is kept in the message)."""
    if code and code not in THROTTLED:
        message = f"{message} ({code})"
    return _encoded(writer.fail("rate_limit_exceeded" if code in THROTTLED else "server_error", message))[0]


class Unchecked(Exception):
    """A guardrail check that may block or mask failed: the answer cannot be sent."""

    def __init__(self, error: APIError) -> None:
        super().__init__(error.message)
        self.error = error


async def _screened(chunks: AsyncIterator[dict[str, Any]], screen: Screen | None) -> AsyncIterator[dict[str, Any]]:
    if screen is None:
        async for chunk in chunks:
            yield chunk
        return
    try:
        async for chunk in screen(chunks):
            yield chunk
    except APIError as exc:
        raise Unchecked(exc) from None


async def response_events(stream: UpstreamStream, translator: StreamTranslator, writer: EventWriter, *,
                          deadline: float | None, margin: float, log_fields: dict[str, Any],
                          on_complete: OnComplete | None = None, screen: Screen | None = None,
                          after: OnComplete | None = None) -> AsyncIterator[bytes]:
    """Server-sent Responses events for an open OCI chat stream; never raises once started.

    ``screen`` may hold back and rewrite the chat chunks before they become events (guardrails that block or
    mask); ``after`` runs on the finished response once its last event is sent (guardrails that inform).
    """
    watch = logs.Stopwatch()
    outcome = "complete"
    chunks = chat_chunks(stream, translator, deadline=deadline, margin=margin)
    try:
        for event in _encoded(writer.start()):
            yield event
        async for chunk in _screened(chunks, screen):
            for event in _encoded(writer.feed(chunk)):
                yield event
        *body, last = _encoded(writer.finish())
        response = writer.response or {}  # finish() built it
        for event in body:
            yield event
        if on_complete is not None:
            await on_complete(response)
        yield last
        if after is not None:
            await after(response)
    except UpstreamAnswerError as exc:
        outcome = "upstream_error"
        yield _failed(writer, exc.code, exc.message)
    except UpstreamStreamError as exc:
        outcome = "upstream_error"
        yield _failed(writer, exc.code, f"OCI Generative AI failed during the stream: {exc.message}")
    except asyncio.TimeoutError:
        outcome = "deadline"
        yield _failed(writer, None, DEADLINE_MESSAGE)
    except StreamBroken as exc:
        outcome = "upstream_broken"
        yield _failed(writer, None, f"The connection to OCI Generative AI broke during the stream ({exc}).")
    except Unchecked as exc:  # a guardrail check that may block or mask could not run: nothing unchecked is sent
        outcome = "guardrails_failed"
        yield _failed(writer, exc.error.code, f"The answer could not be checked by the gateway's guardrails: "
                                              f"{exc.error.message}")
    except APIError as exc:  # the stored copy could not be written
        outcome = "store_failed"
        yield _failed(writer, exc.code, f"The response could not be stored: {exc.message}")
    finally:
        await stream.aclose()
        usage = translator.usage or {}
        logs.log_event("stream_end", logging.INFO, outcome=outcome, duration_ms=watch.ms(),
                       prompt_tokens=usage.get("prompt_tokens"), completion_tokens=usage.get("completion_tokens"),
                       **log_fields)
