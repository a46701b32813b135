"""The deterministic "model": what it answers, independent of any apiFormat's wire shape.

Each format reads its request into a neutral :class:`Prompt`; :func:`plan_replies` turns that
into one :class:`Reply` per generation; the format renders replies as a JSON response or as
stream events. Everything here is a pure function of the request, so tests can predict exact
values:

* text is ``"Echo: <source>"`` where the source is the last USER turn's text (plus
  ``[image]`` per image part), or, when the turn answers tool results, the tool outputs joined
  by spaces; ``stop`` cuts the echoed source, ``maxTokens`` keeps the first N words;
* tool calls follow :mod:`local.emulator.tools`;
* a JSON response format answers a JSON document (synthesized from the schema if any, else
  ``{"echo": <source>}``);
* reasoning, when asked for, is ``"Thinking about: <source>"``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from .tools import PlannedCall, ToolChoice, ToolSpec, pick_word, plan_calls, strip_directives, synthesize

_WORD = re.compile(r"\S+")
_PIECE = re.compile(r"\s*\S+")


def count_tokens(text: str) -> int:
    """Whitespace tokens: deterministic and easy to predict in tests."""
    return len(text.split())


def pieces(text: str) -> list[str]:
    """``text`` as stream-sized tokens whose concatenation is exactly ``text`` ("a b" -> "a", " b")."""
    found = _PIECE.findall(text)
    consumed = "".join(found)
    if consumed != text:  # trailing whitespace rides on the last piece
        found.append(text[len(consumed) :])
    return [p for p in found if p]


@dataclass(frozen=True)
class Completion:
    """One generated text. ``reason`` is neutral: ``stop``, ``stop_sequence`` or ``length``."""

    text: str
    reason: str

    @property
    def tokens(self) -> int:
        return count_tokens(self.text)


def complete(source: str, *, stop: list[str] | None, max_tokens: int | None) -> Completion:
    """The text model: echo ``source``, then apply stop strings and the token cap."""
    reason = "stop"
    # Stop strings are searched in the echoed part only, so a test can predict the cut from the
    # text it sent (a stop of "o" must not hit the "Echo" prefix).
    cuts = [source.find(s) for s in stop or [] if s and s in source]
    if cuts:
        source = source[: min(cuts)]
        reason = "stop_sequence"
    text = f"Echo: {source}"
    if max_tokens is not None:
        words = list(_WORD.finditer(text))
        if len(words) > max_tokens:
            text = text[: words[max_tokens - 1].end()] if max_tokens > 0 else ""
            reason = "length"
    return Completion(text, reason)


@dataclass(frozen=True)
class ToolCall:
    """A call in a reply. ``id`` is None where the vendor sends none (Gemini)."""

    name: str
    arguments: dict[str, Any]
    id: str | None

    @property
    def arguments_json(self) -> str:
        return json.dumps(self.arguments, ensure_ascii=False)

    @property
    def tokens(self) -> int:
        return count_tokens(self.name) + count_tokens(self.arguments_json)


@dataclass(frozen=True)
class Reply:
    """One generation. ``reason``: ``stop``, ``stop_sequence``, ``length`` or ``tool_calls``."""

    text: str
    reason: str
    tool_calls: tuple[ToolCall, ...] = ()
    reasoning: str = ""

    @property
    def reasoning_tokens(self) -> int:
        return count_tokens(self.reasoning)

    @property
    def completion_tokens(self) -> int:
        """Everything generated: text, reasoning and tool calls (reasoning counts, as in OpenAI)."""
        return count_tokens(self.text) + self.reasoning_tokens + sum(c.tokens for c in self.tool_calls)


@dataclass(frozen=True)
class Prompt:
    """What a format's request asks for, in neutral terms."""

    source: str
    user_text: str = ""
    answers_tool_result: bool = False
    tools: tuple[ToolSpec, ...] = ()
    choice: ToolChoice = field(default_factory=ToolChoice)
    parallel: bool = True
    wants_json: bool = False
    json_schema: Mapping[str, Any] | None = None
    reasoning: bool = False
    stop: list[str] | None = None
    max_tokens: int | None = None
    generations: int = 1
    prompt_tokens: int = 0


def tool_call_id(seed: str, generation: int, position: int, style: str) -> str | None:
    """Deterministic per request: ``chatcmpl-tool-<hex>`` (GENERIC), ``<name>``-free hex for
    Cohere v2 (``tc-<hex>``), or None (``style="none"``, Gemini)."""
    if style == "none":
        return None
    digest = hashlib.sha256(f"{seed}:{generation}:{position}".encode()).hexdigest()[:12]
    return f"chatcmpl-tool-{digest}" if style == "generic" else f"tc-{digest}"


def json_answer(prompt: Prompt) -> str:
    """The JSON document a JSON response format gets."""
    if prompt.json_schema:
        document = synthesize(prompt.json_schema, pick_word(prompt.source))
    else:
        document = {"echo": prompt.source}
    return json.dumps(document, ensure_ascii=False)


def plan_replies(prompt: Prompt, *, id_seed: str, id_style: str = "generic") -> list[Reply]:
    """One reply per generation (``numGenerations``); tool-call ids are unique per generation."""
    calls: list[PlannedCall] = []
    if not prompt.answers_tool_result:
        calls = plan_calls(list(prompt.tools), prompt.choice, prompt.user_text, parallel=prompt.parallel)
    reasoning = f"Thinking about: {strip_directives(prompt.source)}" if prompt.reasoning else ""
    replies = []
    for generation in range(max(1, prompt.generations)):
        if calls:
            tool_calls = tuple(
                ToolCall(c.name, c.arguments, tool_call_id(id_seed, generation, i, id_style))
                for i, c in enumerate(calls)
            )
            replies.append(Reply("", "tool_calls", tool_calls, reasoning))
        elif prompt.wants_json:
            replies.append(Reply(json_answer(prompt), "stop", (), reasoning))
        else:
            completion = complete(prompt.source, stop=prompt.stop, max_tokens=prompt.max_tokens)
            replies.append(Reply(completion.text, completion.reason, (), reasoning))
    return replies


def logprobs(text: str, top: int) -> dict[str, Any]:
    """OCI's column-shaped ``Logprobs`` for ``text``: one entry per stream piece.

    Log-probabilities are made up but deterministic; ``topLogprobs`` lists the chosen token
    first, then ``top`` alternatives, each less likely (OCI: "up to logProbs + 1" entries). Its
    values are strings because the SDK model types it ``dict(str, str)``.
    """
    tokens = pieces(text)
    offsets, position = [], 0
    for token in tokens:
        offsets.append(position)
        position += len(token)
    values = [-round(0.05 * (i % 5 + 1), 4) for i in range(len(tokens))]
    tops = []
    for token, value in zip(tokens, values):
        entry = {token: str(value)}
        for k in range(1, max(0, top) + 1):
            entry[f"{token.strip()}~{k}"] = str(round(value - k, 4))
        tops.append(entry)
    return {"tokens": tokens, "tokenLogprobs": values, "topLogprobs": tops, "textOffset": offsets}
