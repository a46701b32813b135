"""OCI chat stream events -> OpenAI ``chat.completion.chunk`` objects.

A pure state machine (events in, chunks out) that gets right what streaming clients
trip on (as captured from the real service and reported by LiteLLM users):

* the first delta of each choice carries ``role``;
* tool calls get an ``index`` per call, ``id``/``name`` only on a call's first chunk,
  argument fragments after; OCI sends parallel calls one after another with no index,
  and a fragment carrying an id starts a new call; ids stay stable for the stream;
* COHERE v1's last event restates the whole text (and tool-call events restate the
  text so far), and a COHEREV2 final event may restate text and tool calls: only the
  part not yet sent is emitted (GENERIC finish events are not restatements);
* COHEREV2's ``toolPlan`` (its words before calling tools) is content when no text came,
  as in a non-streamed answer;
* GENERIC sends usage in a separate usage-only event, COHERE on the final event;
  with ``include_usage`` every chunk has ``usage: null`` and one last chunk with
  ``choices: []`` carries the usage, when OCI sent any;
* ``finish_reason`` is ``tool_calls`` whenever the choice called tools.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from core.chat.common import finish_reason, tool_call_id, usage


class UpstreamStreamError(Exception):
    """OCI reported an error inside the event stream."""

    def __init__(self, code: str | None, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class _Call:
    id: str
    name: str
    arguments: str = ""


def starts_new_call(current: _Call, call_id: str | None, name: str | None) -> bool:
    """Whether a streamed fragment opens a new tool call.

    OCI gives no per-call index: a fragment with a new id opens a call; without an id (Gemini,
    gpt-oss) a fragment naming a function opens a call unless it only re-sends the current call's
    name while that call's arguments are still incomplete JSON.
    """
    if call_id is not None:
        return call_id != current.id
    if name is None:
        return False
    if name != current.name:
        return True
    if not current.arguments:
        return False
    try:
        json.loads(current.arguments)
    except ValueError:
        return False
    return True


@dataclass
class _Choice:
    started: bool = False
    finished: bool = False
    text: str = ""
    calls: list[_Call] = field(default_factory=list)
    cohere_calls_seen: int = 0


class StreamTranslator:
    """Feed OCI events (parsed JSON) with :meth:`feed`; call :meth:`finish` when the upstream stream ends."""

    def __init__(self, *, response_id: str, model: str, created: int, include_usage: bool) -> None:
        self.response_id = response_id
        self.model = model
        self.created = created
        self.include_usage = include_usage
        self.usage: dict[str, Any] | None = None
        self._choices: dict[int, _Choice] = {}

    # -- chunk construction ------------------------------------------------------------------

    def _chunk(self, index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self.response_id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
            "system_fingerprint": None,
            "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if self.include_usage:
            chunk["usage"] = None
        return chunk

    def _choice(self, index: int, out: list[dict[str, Any]]) -> _Choice:
        state = self._choices.setdefault(index, _Choice())
        if not state.started:
            state.started = True
            out.append(self._chunk(index, {"role": "assistant", "content": ""}))
        return state

    # -- events ------------------------------------------------------------------------------

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """The OpenAI chunks for one OCI event (possibly none)."""
        if not isinstance(event, dict):
            return []
        if _is_error(event):
            raise UpstreamStreamError(str(event.get("code")) if event.get("code") is not None else None,
                                      str(event.get("message") or event.get("error") or "stream failed"))
        if isinstance(event.get("usage"), dict):
            self.usage = usage(event["usage"])
        fmt = event.get("apiFormat")
        if fmt == "COHERE":
            return self._feed_cohere(event)
        return self._feed_message_event(event, cohere_v2=fmt == "COHEREV2")

    def _target_index(self, event: dict[str, Any]) -> int:
        if isinstance(event.get("index"), int):
            return event["index"]
        if event.get("finishReason") is not None:  # GENERIC finish events carry no index
            for index in sorted(self._choices):
                if not self._choices[index].finished:
                    return index
        return 0

    def _emit_text(self, state: _Choice, index: int, text: str, restates: bool, out: list[dict[str, Any]]) -> None:
        if not text:
            return
        if restates and state.text and text.startswith(state.text):
            text = text[len(state.text):]
        elif restates and state.text and state.text.startswith(text):
            return  # a restatement of what was already sent
        if text:
            state.text += text
            out.append(self._chunk(index, {"content": text}))

    def _feed_message_event(self, event: dict[str, Any], *, cohere_v2: bool) -> list[dict[str, Any]]:
        message = event.get("message")
        reason = event.get("finishReason")
        out: list[dict[str, Any]] = []
        if not isinstance(message, dict) and reason is None:
            return out  # e.g. the usage-only event
        index = self._target_index(event)
        state = self._choice(index, out)
        if isinstance(message, dict):
            text, reasoning = _texts(message, cohere_v2)
            self._emit_text(state, index, text, restates=cohere_v2 and reason is not None, out=out)
            if cohere_v2 and isinstance(message.get("toolPlan"), str) and not text:
                self._emit_text(state, index, message["toolPlan"], restates=True, out=out)
            if reasoning:
                out.append(self._chunk(index, {"reasoning_content": reasoning}))
            for fragment in message.get("toolCalls") or []:
                if isinstance(fragment, dict):
                    self._tool_fragment(state, index, _fragment(fragment, cohere_v2), out)
        if reason is not None and not state.finished:
            state.finished = True
            out.append(self._chunk(index, {}, finish_reason(reason, bool(state.calls))))
        return out

    def _tool_fragment(self, state: _Choice, index: int, fragment: tuple[str | None, str | None, str],
                       out: list[dict[str, Any]]) -> None:
        call_id, name, arguments = fragment
        current = state.calls[-1] if state.calls else None
        known = next((position for position, call in enumerate(state.calls) if call_id and call.id == call_id), None)
        if known is not None and (state.calls[known] is not current or arguments.startswith(current.arguments)):
            self._restated_call(state, index, known, arguments, out)
        elif current is None or starts_new_call(current, call_id, name):
            position = len(state.calls)
            call = _Call(call_id or tool_call_id(name or "", "", position, self.response_id), name or "", arguments)
            state.calls.append(call)
            out.append(self._chunk(index, {"tool_calls": [{
                "index": position, "id": call.id, "type": "function",
                "function": {"name": call.name, "arguments": arguments},
            }]}))
        elif arguments:
            current.arguments += arguments
            out.append(self._chunk(index, {"tool_calls": [{"index": len(state.calls) - 1,
                                                           "function": {"arguments": arguments}}]}))

    def _restated_call(self, state: _Choice, index: int, position: int, arguments: str,
                       out: list[dict[str, Any]]) -> None:
        """A fragment repeating a call already seen: only arguments extending what was sent go out."""
        call = state.calls[position]
        if not arguments.startswith(call.arguments) or arguments == call.arguments:
            return
        rest = arguments[len(call.arguments):]
        call.arguments = arguments
        out.append(self._chunk(index, {"tool_calls": [{"index": position, "function": {"arguments": rest}}]}))

    def _feed_cohere(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        state = self._choice(0, out)
        reason = event.get("finishReason")
        restates = any(event.get(k) is not None for k in ("toolCalls", "chatHistory", "finishReason"))
        text = event.get("text")
        if isinstance(text, str):
            self._emit_text(state, 0, text, restates=restates, out=out)
        calls = event.get("toolCalls") or []
        for position in range(state.cohere_calls_seen, len(calls)):  # the list is cumulative
            call = calls[position]
            if not isinstance(call, dict):
                continue
            arguments = json.dumps(call.get("parameters") or {}, ensure_ascii=False)
            name = call.get("name") or ""
            new = _Call(tool_call_id(name, arguments, position, self.response_id), name)
            state.calls.append(new)
            out.append(self._chunk(0, {"tool_calls": [{"index": position, "id": new.id, "type": "function",
                                                       "function": {"name": name, "arguments": arguments}}]}))
        state.cohere_calls_seen = max(state.cohere_calls_seen, len(calls))
        if (reason is not None or "chatHistory" in event) and not state.finished:
            state.finished = True
            out.append(self._chunk(0, {}, finish_reason(reason, bool(state.calls))))
        return out

    def finish(self) -> list[dict[str, Any]]:
        """Close choices the upstream left open, then the usage chunk if asked for."""
        out: list[dict[str, Any]] = []
        if not self._choices:
            self._choice(0, out)
        for index in sorted(self._choices):
            state = self._choices[index]
            if not state.finished:
                state.finished = True
                out.append(self._chunk(index, {}, finish_reason(None, bool(state.calls))))
        if self.include_usage and self.usage is not None:
            out.append({
                "id": self.response_id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model, "system_fingerprint": None, "choices": [],
                "usage": self.usage,
            })
        return out


def _is_error(event: dict[str, Any]) -> bool:
    if "message" in event and isinstance(event["message"], dict):
        return False
    return ("code" in event and "message" in event) or "error" in event


def _texts(message: dict[str, Any], cohere_v2: bool) -> tuple[str, str]:
    text, reasoning = [], []
    content = message.get("content")
    if isinstance(content, list):
        for part in content:
            if not isinstance(part, dict):
                continue
            kind = str(part.get("type", "")).upper()
            if kind == "TEXT" and isinstance(part.get("text"), str):
                text.append(part["text"])
            elif kind == "THINKING" and isinstance(part.get("thinking"), str):
                reasoning.append(part["thinking"])
    elif isinstance(content, str):
        text.append(content)
    if isinstance(message.get("reasoningContent"), str):
        reasoning.append(message["reasoningContent"])
    return "".join(text), "".join(reasoning)


def _fragment(call: dict[str, Any], cohere_v2: bool) -> tuple[str | None, str | None, str]:
    """(id, name, arguments) of a streamed tool-call fragment, GENERIC (flat) or COHEREV2 (nested)."""
    function = call.get("function") if isinstance(call.get("function"), dict) else call
    arguments = function.get("arguments")
    if isinstance(arguments, (dict, list)):
        arguments = json.dumps(arguments)
    return (call.get("id") or None, function.get("name") or None,
            arguments if isinstance(arguments, str) else "")
