"""OpenAI chat chunks (from the chat core's stream translator) -> the Responses API's named stream events.

A pure state machine, chunks in and events out, in OpenAI's order: ``response.created`` and
``response.in_progress`` first; then one output item at a time (``output_item.added``, its parts and deltas,
their ``.done`` events, ``output_item.done``), a new kind of delta (reasoning, text, another tool call)
closing the open item first; ``response.completed`` or ``response.incomplete`` last, carrying the whole
response. Every event has a ``sequence_number`` counting from 0. Function-call arguments stream as they come;
a custom tool's input and a local shell call's action are JSON arguments to the model, so they are sent whole
when the call ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from core.responses.output import (CONTENT_FILTER, INCOMPLETE_REASONS, call_item, custom_input, finished,
                                   message_item, new_id, output_text, reasoning_item)
from core.responses.tools import CUSTOM, FUNCTION

REASONING = "reasoning"
MESSAGE = "message"
CALL = "call"


@dataclass
class _Open:
    """The output item being streamed."""

    kind: str
    item_id: str
    index: int
    text: str = ""
    call_id: str = ""
    name: str = ""
    chat_index: int = -1


@dataclass
class EventWriter:
    """Feed chat chunks with :meth:`feed`; :meth:`finish` or :meth:`fail` ends the stream."""

    shell: dict[str, Any]
    kinds: Mapping[str, str]
    sequence: int = 0
    items: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    finish_reason: str | None = None
    response: dict[str, Any] | None = None
    """The final response object, once :meth:`finish` built it."""
    _open: _Open | None = None

    # -- events ------------------------------------------------------------------------------

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return event

    def start(self) -> list[dict[str, Any]]:
        return [self._event("response.created", response=dict(self.shell)),
                self._event("response.in_progress", response=dict(self.shell))]

    def feed(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The events for one chat chunk (possibly none)."""
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        out: list[dict[str, Any]] = []
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue  # a Responses answer has one choice
            delta = choice.get("delta") or {}
            if delta.get("reasoning_content"):
                self._reasoning(delta["reasoning_content"], out)
            if delta.get("content"):
                self._text(delta["content"], out)
            for call in delta.get("tool_calls") or ():
                self._call(call, out)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        return out

    def finish(self) -> list[dict[str, Any]]:
        """Close the open item; ``response.completed`` (or ``.incomplete``) with the whole response. A filtered
        answer (``content_filter``) always has its message, with empty text when nothing of it was streamed."""
        out: list[dict[str, Any]] = []
        if self.finish_reason == CONTENT_FILTER and not self._has_message():
            self._open_message(out)
        self._close(out)
        self.response = finished(self.shell, self.items, self.usage, self.finish_reason)
        kind = "response.incomplete" if self.response["status"] == "incomplete" else "response.completed"
        out.append(self._event(kind, response=self.response))
        return out

    def fail(self, code: str, message: str) -> list[dict[str, Any]]:
        """``response.failed``: the stream broke off; the items finished so far are kept."""
        response = {**self.shell, "status": "failed", "output": list(self.items),
                    "error": {"code": code, "message": message}}
        return [self._event("response.failed", response=response)]

    # -- items -------------------------------------------------------------------------------

    def _switch(self, kind: str, out: list[dict[str, Any]], chat_index: int = -1) -> _Open | None:
        """The open item if it is of ``kind`` (and the same tool call), else None after closing it."""
        current = self._open
        if current is not None and current.kind == kind and current.chat_index == chat_index:
            return current
        self._close(out)
        return None

    def _reasoning(self, text: str, out: list[dict[str, Any]]) -> None:
        current = self._switch(REASONING, out)
        if current is None:
            current = self._begin(REASONING, new_id("rs"))
            out.append(self._event("response.output_item.added", output_index=current.index,
                                   item={"id": current.item_id, "type": "reasoning", "summary": [],
                                         "status": "in_progress"}))
            out.append(self._event("response.reasoning_summary_part.added", item_id=current.item_id,
                                   output_index=current.index, summary_index=0,
                                   part={"type": "summary_text", "text": ""}))
        current.text += text
        out.append(self._event("response.reasoning_summary_text.delta", item_id=current.item_id,
                               output_index=current.index, summary_index=0, delta=text))

    def _text(self, text: str, out: list[dict[str, Any]]) -> None:
        current = self._switch(MESSAGE, out) or self._open_message(out)
        current.text += text
        out.append(self._event("response.output_text.delta", item_id=current.item_id, output_index=current.index,
                               content_index=0, delta=text, logprobs=[]))

    def _open_message(self, out: list[dict[str, Any]]) -> _Open:
        self._close(out)
        current = self._begin(MESSAGE, new_id("msg"))
        out.append(self._event("response.output_item.added", output_index=current.index,
                               item=message_item(current.item_id, [], "in_progress")))
        out.append(self._event("response.content_part.added", item_id=current.item_id,
                               output_index=current.index, content_index=0, part=output_text("")))
        return current

    def _has_message(self) -> bool:
        return (self._open is not None and self._open.kind == MESSAGE) or any(
            item.get("type") == "message" for item in self.items)

    def _call(self, call: Mapping[str, Any], out: list[dict[str, Any]]) -> None:
        function = call.get("function") or {}
        position = call.get("index", 0)
        current = self._switch(CALL, out, position)
        if current is None:
            name = function.get("name") or ""
            current = self._begin(CALL, "", position)
            current.call_id, current.name = call.get("id") or new_id("call"), name
            item = call_item(current.call_id, name, "", self.kinds, status="in_progress")
            current.item_id = item["id"]
            if self._kind(name) in (FUNCTION, CUSTOM):  # a local shell call is announced whole, when it ends
                out.append(self._event("response.output_item.added", output_index=current.index, item=item))
        arguments = function.get("arguments") or ""
        current.text += arguments
        if arguments and self._kind(current.name) == FUNCTION:
            out.append(self._event("response.function_call_arguments.delta", item_id=current.item_id,
                                   output_index=current.index, delta=arguments))

    def _kind(self, name: str) -> str:
        return self.kinds.get(name, FUNCTION)

    def _begin(self, kind: str, item_id: str, chat_index: int = -1) -> _Open:
        self._open = _Open(kind, item_id, len(self.items), chat_index=chat_index)
        return self._open

    def _close(self, out: list[dict[str, Any]]) -> None:
        current, self._open = self._open, None
        if current is None:
            return
        closers = {REASONING: self._close_reasoning, MESSAGE: self._close_message, CALL: self._close_call}
        item = closers[current.kind](current, out)
        self.items.append(item)
        out.append(self._event("response.output_item.done", output_index=current.index, item=item))

    def _close_reasoning(self, current: _Open, out: list[dict[str, Any]]) -> dict[str, Any]:
        part = {"type": "summary_text", "text": current.text}
        out.append(self._event("response.reasoning_summary_text.done", item_id=current.item_id,
                               output_index=current.index, summary_index=0, text=current.text))
        out.append(self._event("response.reasoning_summary_part.done", item_id=current.item_id,
                               output_index=current.index, summary_index=0, part=part))
        return reasoning_item(current.item_id, current.text)

    def _close_message(self, current: _Open, out: list[dict[str, Any]]) -> dict[str, Any]:
        part = output_text(current.text)
        out.append(self._event("response.output_text.done", item_id=current.item_id, output_index=current.index,
                               content_index=0, text=current.text, logprobs=[]))
        out.append(self._event("response.content_part.done", item_id=current.item_id, output_index=current.index,
                               content_index=0, part=part))
        status = "incomplete" if self.finish_reason in INCOMPLETE_REASONS else "completed"
        return message_item(current.item_id, [part], status)

    def _close_call(self, current: _Open, out: list[dict[str, Any]]) -> dict[str, Any]:
        item = call_item(current.call_id, current.name, current.text, self.kinds)
        item["id"] = current.item_id
        kind = self._kind(current.name)
        if kind == FUNCTION:
            out.append(self._event("response.function_call_arguments.done", item_id=current.item_id,
                                   output_index=current.index, arguments=current.text))
        elif kind == CUSTOM:
            text = custom_input(current.text)
            out.append(self._event("response.custom_tool_call_input.delta", item_id=current.item_id,
                                   output_index=current.index, delta=text))
            out.append(self._event("response.custom_tool_call_input.done", item_id=current.item_id,
                                   output_index=current.index, input=text))
        else:
            out.append(self._event("response.output_item.added", output_index=current.index,
                                   item={**item, "status": "in_progress"}))
        return item
