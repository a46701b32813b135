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


def _encoded(events: list[dict[str, Any]]) -> list[bytes]:
    return [encode_event(event, event=event["type"]) for event in events]


THROTTLED = frozenset({"TooManyRequests", "429", "rate_limit_exceeded"})


def _failed(writer: EventWriter, code: str | None, message: str) -> bytes:
    """``response.failed``; its ``error.code`` is one of OpenAI's (the upstream code is kept in the message)."""
    if code and code not in THROTTLED:
        message = f"{message} ({code})"
    return _encoded(writer.fail("rate_limit_exceeded" if code in THROTTLED else "server_error", message))[0]


async def response_events(stream: UpstreamStream, translator: StreamTranslator, writer: EventWriter, *,
                          deadline: float | None, margin: float, log_fields: dict[str, Any],
                          on_complete: OnComplete | None = None) -> AsyncIterator[bytes]:
    """Server-sent Responses events for an open OCI chat stream; never raises once started."""
    watch = logs.Stopwatch()
    outcome = "complete"
    try:
        for event in _encoded(writer.start()):
            yield event
        async for chunk in chat_chunks(stream, translator, deadline=deadline, margin=margin):
            for event in _encoded(writer.feed(chunk)):
                yield event
        *body, last = _encoded(writer.finish())
        for event in body:
            yield event
        if on_complete is not None and writer.response is not None:
            await on_complete(writer.response)
        yield last
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
    except APIError as exc:  # the stored copy could not be written
        outcome = "store_failed"
        yield _failed(writer, exc.code, f"The response could not be stored: {exc.message}")
    finally:
        await stream.aclose()
        usage = translator.usage or {}
        logs.log_event("stream_end", logging.INFO, outcome=outcome, duration_ms=watch.ms(),
                       prompt_tokens=usage.get("prompt_tokens"), completion_tokens=usage.get("completion_tokens"),
                       **log_fields)
