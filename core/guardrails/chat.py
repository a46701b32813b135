"""Guardrails on one chat completion, streamed or not (the hooks ``core/chat/service.py`` calls).

* Input: when a check can block or mask, it runs before the model is called (a block is a 400
  ``content_filter``, a mask rewrites the checked parts); when every check only informs, it runs
  concurrently with the model call and is awaited before the answer is returned.
* Output, not streamed: each choice's text is checked before the completion is returned.
* Output, streamed: under ``block`` or ``mask`` the stream is buffered, checked, rewritten and sent;
  under ``inform`` it is relayed as it comes and checked after its last event.

Reports travel in ``x-guardrails-input`` / ``x-guardrails-output`` response headers (scores and labels
only) and in a ``guardrails`` log line per check. A streamed answer's output report is added to the
headers once the stream has run, which reaches the caller on OCI Functions (the answer is sent whole)
and only the log on a streaming front.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, AsyncIterator, Callable

from core import logs
from core.chat.relay import error_event
from core.chat.request import ChatRequest
from core.errors import APIError
from core.guardrails import conversation
from core.guardrails.policy import GuardrailPolicy
from core.guardrails.service import (INPUT_HEADER, OUTPUT_HEADER, Verdict, check_input, check_output,
                                     content_filter_error)
from core.settings import Settings

class ChatGuard:
    """One call's guardrails; ``headers`` fills in as reports arrive (the response shares the dict)."""

    def __init__(self, policy: GuardrailPolicy, *, settings: Settings, deadline: float | None,
                 request_id: str) -> None:
        self.policy = policy
        self.settings = settings
        self.deadline = deadline
        self.request_id = request_id
        self.headers: dict[str, str] = {}
        self._pending: asyncio.Task[Verdict] | None = None

    def _options(self) -> dict[str, Any]:
        return {"deadline": self.deadline, "request_id": self.request_id, "settings": self.settings}

    async def screen_input(self, chat: ChatRequest) -> ChatRequest:
        """The request to send on: unchanged, masked, or a raised 400 when an input check blocks."""
        targets = conversation.input_targets(chat)
        masked = await self.screen_texts([t.text for t in targets])
        return conversation.with_texts(chat, targets, masked) if masked is not None else chat

    async def screen_texts(self, texts: list[str], *, param: str = "messages") -> tuple[str, ...] | None:
        """The input texts masked, or None when they go on unchanged; a raised 400 naming ``param`` when a check
        blocks. When every check only informs, the check is started alongside and None is returned at once."""
        if not texts or not self.policy.checks():
            return None
        if not self.policy.must_wait():
            self._pending = asyncio.create_task(check_input(texts, self.policy, **self._options()))
            self._pending.add_done_callback(_consume)  # the model call may fail first: never leave it unread
            return None
        verdict = await check_input(texts, self.policy, **self._options())
        self.headers[INPUT_HEADER] = verdict.report.header()
        if verdict.blocked:
            raise content_filter_error(verdict.report, param=param)
        return verdict.texts if verdict.report.action == "masked" else None

    async def finish_input(self) -> None:
        """Wait for an input check that ran alongside the model call."""
        if self._pending is not None:
            verdict = await self._pending
            self._pending = None
            self.headers[INPUT_HEADER] = verdict.report.header()

    async def screen_streamed(self, result: Any) -> Any:
        """A streamed ``ChatResult`` with its stream screened and the reports' headers attached."""
        await self.finish_input()
        result.stream = self.screen_stream(result.stream)
        result.headers = self.headers
        return result

    async def screen_outputs(self, texts: dict[int, str]) -> tuple[set[int], dict[int, str]]:
        """Check each answer text (a choice's, by its index); (blocked ones, masked texts)."""
        if not texts or not self.policy.checks(output=True):
            return set(), {}
        verdicts = await asyncio.gather(*(check_output(t, self.policy, **self._options()) for t in texts.values()))
        self.headers[OUTPUT_HEADER] = " | ".join(v.report.header() for v in verdicts)
        blocked = {i for i, v in zip(texts, verdicts) if v.blocked}
        masked = {i: v.texts[0] for i, v in zip(texts, verdicts) if v.report.action == "masked"}
        return blocked, masked

    async def screen_completion(self, completion: dict[str, Any]) -> dict[str, Any]:
        await self.finish_input()
        blocked, masked = await self.screen_outputs(conversation.choice_texts(completion))
        return conversation.apply_to_completion(completion, blocked, masked) if blocked or masked else completion

    def screen_stream(self, stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        if not self.policy.checks(output=True):
            return stream
        return self._buffered(stream) if self.policy.must_wait(output=True) else self._relayed(stream)

    async def _buffered(self, stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        raw = b"".join([chunk async for chunk in stream])
        events = conversation.parse_events(raw)
        if _failed(events):
            yield raw  # the stream failed: nothing to check
            return
        try:
            blocked, masked = await self.screen_outputs(conversation.stream_texts(events))
        except APIError as exc:  # a check that may block could not run: send nothing unchecked
            yield error_event(f"The answer could not be checked by the gateway's guardrails: {exc.message}",
                              type=exc.type, code=exc.code)
            return
        if not blocked and not masked:
            yield raw
            return
        for chunk in conversation.apply_to_stream(events, blocked, masked):
            yield chunk

    async def _relayed(self, stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        seen: list[bytes] = []
        async for chunk in stream:
            seen.append(chunk)
            yield chunk
        await self.report_outputs(lambda: _sent_texts(seen))

    async def report_outputs(self, texts: Callable[[], dict[int, str]]) -> None:
        """Check an answer that was already sent (``inform``): report only, never raise."""
        try:
            await self.screen_outputs(texts())
        except Exception as exc:  # noqa: BLE001 - the answer is already sent: report, never break the stream
            logs.log_event("guardrails_failed", logging.WARNING, direction="output", error=type(exc).__name__,
                           request_id=self.request_id)

    async def buffered_chunks(self, chunks: AsyncIterator[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
        """OpenAI chat chunks (dicts) held back until the whole answer is checked, then rewritten as the byte
        stream is. An upstream failure raises before anything is yielded; so does a check that could not run."""
        events = [chunk async for chunk in chunks]
        blocked, masked = await self.screen_outputs(conversation.stream_texts(events))
        for event in conversation.rewrite_chunks(events, blocked, masked):
            yield event


def _consume(task: "asyncio.Task[Verdict]") -> None:
    if not task.cancelled() and task.exception() is not None:
        logs.log_event("guardrails_failed", logging.WARNING, direction="input", error=type(task.exception()).__name__)


def _sent_texts(seen: list[bytes]) -> dict[int, str]:
    events = conversation.parse_events(b"".join(seen))
    return {} if _failed(events) else conversation.stream_texts(events)


def _failed(events: list[Any]) -> bool:
    """True when the relayed stream ended with an error event."""
    return any(isinstance(e, bytes) and e.startswith(b"event: error") for e in events)
