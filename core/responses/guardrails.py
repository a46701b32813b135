"""Guardrails on ``/v1/responses``: the chat route's guard (:class:`~core.guardrails.chat.ChatGuard`) applied to
Responses requests and answers. Imported only when a policy is active.

* Input, bridged and native alike: the request body is checked before anything is sent (what is checked:
  :mod:`core.responses.screening`). ``block`` is a 400 ``content_filter`` naming ``input``; ``mask`` rewrites
  the body, so the model, the stored copy and OCI's own Responses API only see the masked text; ``inform``
  runs alongside the model call and is awaited before the answer returns.
* Output, bridged: the chat completion is screened as chat's is before it becomes the response; a stream is
  buffered and rewritten under ``block``/``mask`` (:meth:`ChatGuard.buffered_chunks`), relayed and checked
  after its last event under ``inform`` (:func:`stream_hooks`).
* Output, native: a non-streamed answer is checked before it is returned (:func:`screen_native`), and so is a
  stored native response read back (:func:`screen_answer`: OCI keeps what its model answered). OCI's event
  stream is passed through as it comes and is not checked; the output report says so.
"""

from __future__ import annotations

import logging
from typing import Any

from core import logs
from core.chat.service import ChatResult
from core.guardrails.chat import ChatGuard
from core.guardrails.detect import Report
from core.guardrails.service import OUTPUT_HEADER
from core.responses import screening
from core.responses.stream import OnComplete, Screen

NATIVE_STREAM = "native_stream"
"""Why a native stream's output report says ``action=unchecked``."""


async def screen_request(guard: ChatGuard, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` itself, or a masked copy of it; a raised 400 ``content_filter`` when an input check blocks."""
    targets = screening.input_targets(data)
    masked = await guard.screen_texts([t.text for t in targets], param="input")
    return screening.with_texts(data, targets, masked) if masked is not None else data


def stream_hooks(guard: ChatGuard) -> tuple[Screen | None, OnComplete | None]:
    """How a bridged stream is screened: chunks held back and rewritten (``block``/``mask``), or the finished
    response checked after the last event (``inform``), or neither."""
    if not guard.policy.checks(output=True):
        return None, None
    if guard.policy.must_wait(output=True):
        return guard.buffered_chunks, None

    async def after(response: dict[str, Any]) -> None:
        await guard.report_outputs(lambda: screening.answer_texts(response))

    return None, after


async def screen_answer(guard: ChatGuard, response: dict[str, Any]) -> dict[str, Any]:
    """A response object of OCI's own after the output checks: as it was, masked, or blocked."""
    targets = screening.answer_targets(response)
    blocked, masked = await guard.screen_outputs({i: t.text for i, t in enumerate(targets)})
    return screening.with_answer(response, targets, blocked, masked) if blocked or masked else response


async def screen_native(guard: ChatGuard, result: ChatResult) -> ChatResult:
    """OCI's own answer after the output checks (non-streamed), with the reports in its headers."""
    await guard.finish_input()
    if result.body is not None:
        result.body = await screen_answer(guard, result.body)
    elif guard.policy.checks(output=True):
        report = Report("output", guard.policy, action="unchecked", error=NATIVE_STREAM)
        guard.headers[OUTPUT_HEADER] = report.header()
        logs.log_event("guardrails", logging.INFO, direction="output", action=report.action, error=report.error,
                       request_id=guard.request_id)
    result.headers = {**guard.headers, **result.headers}
    return result
