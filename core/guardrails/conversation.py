"""Where guardrails look in a chat exchange, and how their verdicts change it (pure).

* Input: the newest user turn and every tool result since the last assistant turn (where indirect
  prompt injection arrives), one text per text part; masks are written back into those parts.
* Output: each choice's ``content``. A blocked choice keeps no content, reasoning or tool calls and ends
  with ``finish_reason: content_filter``; a masked choice carries the masked text. For a stream the
  same is done to the buffered OpenAI chunks before they are sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from core.chat.request import ChatRequest, Message
from core.chat.sse import DONE, encode_event

CONTENT_FILTER = "content_filter"


@dataclass(frozen=True)
class Target:
    """One checked text: message ``message``'s part ``part``."""

    message: int
    part: int
    text: str


def input_targets(chat: ChatRequest) -> list[Target]:
    """The texts an input check reads: the newest user turn, then tool results after the last assistant turn."""
    messages = chat.messages
    last_assistant = max((i for i, m in enumerate(messages) if m.role == "assistant"), default=-1)
    newest_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
    chosen = sorted({i for i, m in enumerate(messages) if m.role == "tool" and i > last_assistant}
                    | ({newest_user} if newest_user >= 0 else set()))
    return [Target(i, p, part.text) for i in chosen for p, part in enumerate(messages[i].parts)
            if part.type == "text" and part.text.strip()]


def with_texts(chat: ChatRequest, targets: list[Target], texts: tuple[str, ...] | list[str]) -> ChatRequest:
    """``chat`` with each target part's text replaced."""
    messages = list(chat.messages)
    for target, text in zip(targets, texts):
        message: Message = messages[target.message]
        parts = list(message.parts)
        parts[target.part] = replace(parts[target.part], text=text)
        messages[target.message] = replace(message, parts=tuple(parts))
    return replace(chat, messages=tuple(messages))


def choice_texts(completion: dict[str, Any]) -> dict[int, str]:
    """Each choice's text content (choices without text are not checked)."""
    out: dict[int, str] = {}
    for position, choice in enumerate(completion.get("choices") or []):
        content = (choice.get("message") or {}).get("content")
        if isinstance(content, str) and content.strip():
            out[position] = content
    return out


def apply_to_completion(completion: dict[str, Any], blocked: set[int], masked: dict[int, str]) -> dict[str, Any]:
    """The completion with blocked choices emptied and masked choices' text replaced (a copy)."""
    choices = []
    for position, choice in enumerate(completion.get("choices") or []):
        choice = dict(choice)
        message = dict(choice.get("message") or {})
        if position in blocked:
            message["content"] = ""
            message.pop("tool_calls", None)
            message.pop("reasoning_content", None)
            choice["finish_reason"] = CONTENT_FILTER
        elif position in masked:
            message["content"] = masked[position]
        choice["message"] = message
        choices.append(choice)
    return {**completion, "choices": choices}


def parse_events(raw: bytes) -> list[Any]:
    """The buffered OpenAI stream as a list: chunk dicts, or the raw bytes of anything else (errors, [DONE])."""
    events: list[Any] = []
    for block in raw.decode("utf-8").split("\n\n"):
        if not block.strip():
            continue
        data = block[len("data: "):] if block.startswith("data: ") else None
        if data is None or data == DONE:
            events.append((block + "\n\n").encode())
            continue
        events.append(json.loads(data))
    return events


def stream_texts(events: list[Any]) -> dict[int, str]:
    """Each choice's streamed text content, joined."""
    texts: dict[int, list[str]] = {}
    for event in events:
        for choice in event.get("choices") or [] if isinstance(event, dict) else []:
            content = (choice.get("delta") or {}).get("content")
            if isinstance(content, str):
                texts.setdefault(choice.get("index", 0), []).append(content)
    return {index: "".join(parts) for index, parts in texts.items() if "".join(parts).strip()}


def apply_to_stream(events: list[Any], blocked: set[int], masked: dict[int, str]) -> list[bytes]:
    """The stream rewritten (:func:`rewrite_chunks`) and re-encoded."""
    return [encode_event(e) if isinstance(e, dict) else e for e in rewrite_chunks(events, blocked, masked)]


def rewrite_chunks(events: list[Any], blocked: set[int], masked: dict[int, str]) -> list[Any]:
    """The chunks rewritten: blocked choices lose content, reasoning and tool calls and finish with
    ``content_filter``; a masked choice's whole text arrives in its first non-empty content delta, its later
    deltas carry none. Anything but a chunk dict passes as it is."""
    pending = dict(masked)
    out: list[Any] = []
    for event in events:
        if not isinstance(event, dict):
            out.append(event)
            continue
        choices = [_choice(c, blocked, set(masked), pending) for c in event.get("choices") or []]
        out.append({**event, "choices": choices})
    return out


def _choice(choice: dict[str, Any], blocked: set[int], masked: set[int], pending: dict[int, str]) -> dict[str, Any]:
    index = choice.get("index", 0)
    if index not in blocked and index not in masked:
        return choice
    delta = dict(choice.get("delta") or {})
    choice = dict(choice)
    if index in blocked:
        delta.pop("tool_calls", None)
        delta.pop("reasoning_content", None)
        if "content" in delta:
            delta["content"] = ""
        if choice.get("finish_reason") is not None:
            choice["finish_reason"] = CONTENT_FILTER
    elif delta.get("content"):
        delta["content"] = pending.pop(index, "")
    choice["delta"] = delta
    return choice
