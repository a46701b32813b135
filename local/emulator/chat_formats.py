"""The three chat ``apiFormat`` values: reading a request, shaping a response and its stream.

Each :class:`ChatFormat` knows three things about its format and nothing else:

* :meth:`prompt`: where the prompt, tools, tool choice and options live in the request;
* :meth:`response`: the non-stream ``chatResponse`` for a list of :class:`Reply`;
* :meth:`stream_events`: the same replies as OCI's stream events (dicts, plus the ``"[DONE]"``
  sentinel as a plain string); :mod:`local.emulator.streaming` frames and paces them.

Wire shapes follow the ``oci`` SDK's models (non-stream) and streams captured from the real service.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping, Protocol

from .models import ModelSpec
from .replies import Prompt, Reply, count_tokens, logprobs, pieces
from .tools import ToolChoice, cohere_tools, cohere_v2_choice, cohere_v2_tools, generic_choice, generic_tools

DONE = "[DONE]"
NON_TEXT_PART_TOKENS = 1  # an image/audio/... part counts as one prompt token
ARGUMENT_FRAGMENT = 8  # characters of tool-call arguments per stream event
GENERIC_IMAGE_TYPES = ("IMAGE",)
COHERE_V2_IMAGE_TYPES = ("IMAGE_URL",)


@dataclass(frozen=True)
class ChatContext:
    """Per-request facts a format needs to build a response."""

    time_created: str
    request_id: str
    prompt_tokens: int
    include_usage: bool = False


class ChatFormat(Protocol):
    """One chat ``apiFormat``."""

    def prompt(self, chat: Mapping[str, Any], model: ModelSpec) -> Prompt: ...
    def id_style(self, model: ModelSpec) -> str: ...
    def response(
        self, chat: Mapping[str, Any], replies: list[Reply], model: ModelSpec, ctx: ChatContext
    ) -> dict[str, Any]: ...
    def stream_events(
        self, chat: Mapping[str, Any], replies: list[Reply], model: ModelSpec, ctx: ChatContext
    ) -> list[Any]: ...


# --- shared helpers -------------------------------------------------------------------------------


def parts_text(content: list[Mapping[str, Any]] | None) -> str:
    return " ".join(p.get("text") or "" for p in content or [] if p.get("type") == "TEXT").strip()


def parts_tokens(content: list[Mapping[str, Any]] | None) -> int:
    total = 0
    for part in content or []:
        kind = part.get("type")
        if kind == "TEXT":
            total += count_tokens(part.get("text") or "")
        elif kind == "THINKING":
            total += count_tokens(part.get("thinking") or "")
        else:
            total += NON_TEXT_PART_TOKENS
    return total


def count_parts(content: list[Mapping[str, Any]] | None, kinds: tuple[str, ...]) -> int:
    return sum(1 for part in content or [] if part.get("type") in kinds)


def usage(prompt: int, replies: list[Reply], model: ModelSpec) -> dict[str, Any]:
    """OCI ``Usage``; detail objects where OCI sends them (OpenAI models, or any reasoning).

    xAI models count reasoning outside ``completionTokens`` (but inside ``totalTokens``), as captured.
    """
    completion = sum(r.completion_tokens for r in replies)
    reasoning = sum(r.reasoning_tokens for r in replies)
    total = prompt + completion
    if model.vendor == "xai":
        completion -= reasoning
    body: dict[str, Any] = {"completionTokens": completion, "promptTokens": prompt, "totalTokens": total}
    if model.vendor == "openai" or reasoning:
        body["completionTokensDetails"] = {"acceptedPredictionTokens": 0, "reasoningTokens": reasoning}
        body["promptTokensDetails"] = {"cachedTokens": 0}
    return body


def tool_plan(reply: Reply) -> str:
    """What Cohere says before calling tools (v1 ``text``, v2 ``toolPlan``)."""
    return f"I will call {', '.join(c.name for c in reply.tool_calls)}."


def fragments(text: str, size: int = ARGUMENT_FRAGMENT) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _trailing(messages: list[Mapping[str, Any]], role: str) -> list[Mapping[str, Any]]:
    """The run of ``role`` messages at the end of the conversation (parallel tool results)."""
    run: list[Mapping[str, Any]] = []
    for message in reversed(messages):
        if message.get("role") != role:
            break
        run.insert(0, message)
    return run


def _messages_prompt(
    messages: list[Mapping[str, Any]], image_types: tuple[str, ...]
) -> tuple[str, str, bool]:
    """(source, user_text, answers_tool_result) for the ``messages`` formats (GENERIC, COHEREV2)."""
    results = _trailing(messages, "TOOL")
    if results:
        return " ".join(parts_text(m.get("content")) for m in results), "", True
    user = next((m for m in reversed(messages) if m.get("role") == "USER"), None)
    if user is None:
        return "", "", False
    text = parts_text(user.get("content"))
    images = count_parts(user.get("content"), image_types)
    source = " ".join(filter(None, [text, *(["[image]"] * images)]))
    return source, text, False


# --- GENERIC --------------------------------------------------------------------------------------


class GenericFormat:
    """Meta, xAI, OpenAI, Google: ``messages`` with typed content parts, flat tool calls."""

    def prompt(self, chat: Mapping[str, Any], model: ModelSpec) -> Prompt:
        messages = chat.get("messages") or []
        source, user_text, answers_tool = _messages_prompt(messages, GENERIC_IMAGE_TYPES)
        response_format = chat.get("responseFormat") or {}
        kind = response_format.get("type")
        schema = (response_format.get("jsonSchema") or {}).get("schema") if kind == "JSON_SCHEMA" else None
        effort = chat.get("reasoningEffort")
        return Prompt(
            source=source,
            user_text=user_text,
            answers_tool_result=answers_tool,
            tools=tuple(generic_tools(chat)),
            choice=generic_choice(chat),
            parallel=chat.get("isParallelToolCalls") is not False,
            wants_json=kind in ("JSON_OBJECT", "JSON_SCHEMA"),
            json_schema=schema if isinstance(schema, dict) else None,
            reasoning=model.reasoning and effort not in (None, "NONE"),
            stop=chat.get("stop"),
            max_tokens=chat.get("maxCompletionTokens") or chat.get("maxTokens"),
            generations=chat.get("numGenerations") or 1,
            prompt_tokens=sum(parts_tokens(m.get("content")) for m in messages),
        )

    def id_style(self, model: ModelSpec) -> str:
        return "none" if model.vendor == "google" else "generic"  # Gemini returns no ids

    @staticmethod
    def _finish(reply: Reply) -> str:
        return {"tool_calls": "tool_calls", "length": "length"}.get(reply.reason, "stop")

    @staticmethod
    def _call(call: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"type": "FUNCTION", "name": call.name, "arguments": call.arguments_json}
        if call.id is not None:
            body = {"id": call.id, **body}
        return body

    def response(
        self, chat: Mapping[str, Any], replies: list[Reply], model: ModelSpec, ctx: ChatContext
    ) -> dict[str, Any]:
        choices = []
        for index, reply in enumerate(replies):
            message: dict[str, Any] = {"role": "ASSISTANT"}
            if reply.text or not reply.tool_calls:
                message["content"] = [{"type": "TEXT", "text": reply.text}]
            message["toolCalls"] = [self._call(c) for c in reply.tool_calls]
            if reply.reasoning:
                message["reasoningContent"] = reply.reasoning
            if model.vendor == "openai":
                message["annotations"] = []
            top = chat.get("logProbs")
            choices.append(
                {
                    "index": index,
                    "message": message,
                    "finishReason": self._finish(reply),
                    "logprobs": logprobs(reply.text, top) if top is not None else {},
                }
            )
        body: dict[str, Any] = {
            "apiFormat": "GENERIC",
            "timeCreated": ctx.time_created,
            "choices": choices,
            "usage": usage(ctx.prompt_tokens, replies, model),
        }
        if model.vendor == "openai":
            body["serviceTier"] = "DEFAULT"
        return body

    def stream_events(
        self, chat: Mapping[str, Any], replies: list[Reply], model: ModelSpec, ctx: ChatContext
    ) -> list[Any]:
        """Choices one after another: content events carry ``index``, finish events do not (as captured)."""
        events: list[Any] = []

        def delta(index: int, **message: Any) -> dict[str, Any]:
            return {"index": index, "message": {"role": "ASSISTANT", **message}}

        for index, reply in enumerate(replies):
            events.append(delta(index, content=[{"type": "TEXT", "text": ""}]))
            for piece in pieces(reply.reasoning):
                events.append(delta(index, reasoningContent=piece))
            for piece in pieces(reply.text):
                events.append(delta(index, content=[{"type": "TEXT", "text": piece}]))
            for call in reply.tool_calls:
                opening: dict[str, Any] = {"type": "FUNCTION", "name": call.name}
                if call.id is not None:
                    opening = {"type": "FUNCTION", "id": call.id, "name": call.name}
                events.append(delta(index, toolCalls=[opening]))
                for fragment in fragments(call.arguments_json):
                    events.append(delta(index, toolCalls=[{"type": "FUNCTION", "arguments": fragment}]))
            if reply.tool_calls:
                last = {"role": "ASSISTANT", "toolCalls": [{"type": "FUNCTION", "arguments": ""}]}
            else:
                last = {"role": "ASSISTANT", "content": [{"type": "TEXT", "text": ""}]}
            events.append({"message": last, "finishReason": self._finish(reply)})
        if ctx.include_usage:
            events.append({"usage": usage(ctx.prompt_tokens, replies, model)})
        events.append(DONE)
        return events


# --- COHERE v1 ------------------------------------------------------------------------------------


def cohere_output_text(result: Mapping[str, Any]) -> str:
    """A v1 tool result's outputs as text: ``{"output": "..."}`` gives its string, else compact JSON."""
    texts = []
    for output in result.get("outputs") or []:
        if isinstance(output, dict) and isinstance(output.get("output"), str):
            texts.append(output["output"])
        else:
            texts.append(json.dumps(output, separators=(",", ":"), ensure_ascii=False))
    return " ".join(texts)


class CohereFormat:
    """Cohere v1: ``message`` + ``chatHistory``; the reply restates the whole history."""

    def _tool_results(self, chat: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        if chat.get("toolResults"):
            return list(chat["toolResults"])
        history = chat.get("chatHistory") or []
        if history and history[-1].get("role") == "TOOL":
            return [r for m in _trailing(history, "TOOL") for r in m.get("toolResults") or []]
        return []

    def prompt(self, chat: Mapping[str, Any], model: ModelSpec) -> Prompt:
        results = self._tool_results(chat)
        message = chat.get("message") or ""
        response_format = chat.get("responseFormat") or {}
        texts = [message, chat.get("preambleOverride") or ""]
        texts += [m.get("message") or "" for m in chat.get("chatHistory") or []]
        return Prompt(
            source=" ".join(cohere_output_text(r) for r in results) if results else message,
            user_text=message,
            answers_tool_result=bool(results),
            tools=tuple(cohere_tools(chat)),
            choice=ToolChoice(),
            wants_json=response_format.get("type") == "JSON_OBJECT",
            json_schema=response_format.get("schema") if isinstance(response_format.get("schema"), dict) else None,
            stop=chat.get("stopSequences"),
            max_tokens=chat.get("maxTokens"),
            prompt_tokens=sum(count_tokens(t) for t in texts),
        )

    def id_style(self, model: ModelSpec) -> str:
        return "none"  # v1 tool calls have no ids

    @staticmethod
    def _text(reply: Reply) -> str:
        return tool_plan(reply) if reply.tool_calls else reply.text

    @staticmethod
    def _calls(reply: Reply) -> list[dict[str, Any]]:
        return [{"name": c.name, "parameters": c.arguments} for c in reply.tool_calls]

    @staticmethod
    def _finish(reply: Reply) -> str:
        return "MAX_TOKENS" if reply.reason == "length" else "COMPLETE"  # COMPLETE even with tool calls

    def _history(self, chat: Mapping[str, Any], reply: Reply) -> list[dict[str, Any]]:
        history = [dict(m) for m in chat.get("chatHistory") or []]
        history.append({"role": "USER", "message": chat.get("message") or ""})
        turn: dict[str, Any] = {"role": "CHATBOT", "message": self._text(reply)}
        if reply.tool_calls:
            turn["toolCalls"] = self._calls(reply)
        history.append(turn)
        return history

    def response(
        self, chat: Mapping[str, Any], replies: list[Reply], model: ModelSpec, ctx: ChatContext
    ) -> dict[str, Any]:
        reply = replies[0]
        body: dict[str, Any] = {
            "apiFormat": "COHERE",
            "text": self._text(reply),
            "chatHistory": self._history(chat, reply),
            "finishReason": self._finish(reply),
        }
        if reply.tool_calls:
            body["toolCalls"] = self._calls(reply)
        body["usage"] = usage(ctx.prompt_tokens, replies[:1], model)
        return body

    def stream_events(
        self, chat: Mapping[str, Any], replies: list[Reply], model: ModelSpec, ctx: ChatContext
    ) -> list[Any]:
        """Text deltas; a tool-call event restating the text; a final event restating everything."""
        reply = replies[0]
        text = self._text(reply)
        events: list[Any] = [{"apiFormat": "COHERE", "text": piece} for piece in pieces(text)]
        if reply.tool_calls:
            events.append({"apiFormat": "COHERE", "text": text, "toolCalls": self._calls(reply)})
        final: dict[str, Any] = {"apiFormat": "COHERE", "text": text, "chatHistory": self._history(chat, reply)}
        if reply.tool_calls:
            final["toolCalls"] = self._calls(reply)
        final["finishReason"] = self._finish(reply)
        if ctx.include_usage:
            final["usage"] = usage(ctx.prompt_tokens, replies[:1], model)
        events.append(final)
        return events  # no [DONE] in the captured v1 stream


# --- COHEREV2 -------------------------------------------------------------------------------------


class CohereV2Format:
    """Cohere v2: ``messages`` with content arrays; nested tool calls; THINKING parts."""

    def prompt(self, chat: Mapping[str, Any], model: ModelSpec) -> Prompt:
        messages = chat.get("messages") or []
        source, user_text, answers_tool = _messages_prompt(messages, COHERE_V2_IMAGE_TYPES)
        response_format = chat.get("responseFormat") or {}
        schema = response_format.get("schema")
        return Prompt(
            source=source,
            user_text=user_text,
            answers_tool_result=answers_tool,
            tools=tuple(cohere_v2_tools(chat)),
            choice=cohere_v2_choice(chat),
            wants_json=response_format.get("type") == "JSON_OBJECT",
            json_schema=schema if isinstance(schema, dict) else None,
            reasoning=(chat.get("thinking") or {}).get("type") == "ENABLED",
            stop=chat.get("stopSequences"),
            max_tokens=chat.get("maxTokens"),
            prompt_tokens=sum(parts_tokens(m.get("content")) for m in messages),
        )

    def id_style(self, model: ModelSpec) -> str:
        return "cohere"

    @staticmethod
    def _finish(reply: Reply) -> str:
        reasons = {"tool_calls": "TOOL_CALL", "length": "MAX_TOKENS", "stop_sequence": "STOP_SEQUENCE"}
        return reasons.get(reply.reason, "COMPLETE")

    @staticmethod
    def _call(call: Any, arguments: str | None = None) -> dict[str, Any]:
        function = {"name": call.name, "arguments": call.arguments_json if arguments is None else arguments}
        return {"id": call.id, "type": "FUNCTION", "function": function}

    def response(
        self, chat: Mapping[str, Any], replies: list[Reply], model: ModelSpec, ctx: ChatContext
    ) -> dict[str, Any]:
        reply = replies[0]
        content: list[dict[str, Any]] = []
        if reply.reasoning:
            content.append({"type": "THINKING", "thinking": reply.reasoning})
        if not reply.tool_calls:
            content.append({"type": "TEXT", "text": reply.text})
        message: dict[str, Any] = {"role": "ASSISTANT"}
        if content:
            message["content"] = content
        if reply.tool_calls:
            message["toolPlan"] = tool_plan(reply)
            message["toolCalls"] = [self._call(c) for c in reply.tool_calls]
        body: dict[str, Any] = {
            "apiFormat": "COHEREV2",
            "id": ctx.request_id,
            "message": message,
            "finishReason": self._finish(reply),
        }
        if chat.get("isLogProbsEnabled"):
            scored = logprobs(reply.text, 0)
            body["logProbabilities"] = [
                {"tokenIds": [i], "text": token, "logProbabilities": [value]}
                for i, (token, value) in enumerate(zip(scored["tokens"], scored["tokenLogprobs"]))
            ]
        body["usage"] = usage(ctx.prompt_tokens, replies[:1], model)
        return body

    def stream_events(
        self, chat: Mapping[str, Any], replies: list[Reply], model: ModelSpec, ctx: ChatContext
    ) -> list[Any]:
        """THINKING then TEXT deltas (or a tool plan and call fragments), a final event, ``[DONE]``."""
        reply = replies[0]

        def event(**message: Any) -> dict[str, Any]:
            return {"apiFormat": "COHEREV2", "message": {"role": "ASSISTANT", **message}}

        events: list[Any] = [event(content=[{"type": "THINKING", "thinking": p}]) for p in pieces(reply.reasoning)]
        events += [event(content=[{"type": "TEXT", "text": p}]) for p in pieces(reply.text)]
        if reply.tool_calls:
            events.append(event(toolPlan=tool_plan(reply)))
            for call in reply.tool_calls:
                events.append(event(toolCalls=[self._call(call, "")]))
                for fragment in fragments(call.arguments_json):
                    events.append(event(toolCalls=[{"type": "FUNCTION", "function": {"arguments": fragment}}]))
        final: dict[str, Any] = {"apiFormat": "COHEREV2", "finishReason": self._finish(reply)}
        if ctx.include_usage:
            final["usage"] = usage(ctx.prompt_tokens, replies[:1], model)
        events.append(final)
        events.append(DONE)
        return events


CHAT_FORMATS: dict[str, ChatFormat] = {
    "GENERIC": GenericFormat(),
    "COHERE": CohereFormat(),
    "COHEREV2": CohereV2Format(),
}
