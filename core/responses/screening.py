"""Where guardrails look in a Responses API exchange, and how their verdicts change it (pure).

* Input: in the request's own ``input``, the newest user message and every tool result
  (``function_call_output``, ``custom_tool_call_output``, ``local_shell_call_output``) after the last assistant
  turn (an assistant message, or an item the model produced: a call, reasoning, a hosted tool's record), one
  text per text part, as chat checks its messages. ``instructions`` and system or developer messages are not
  checked (chat's system prompts are not either); a stored conversation that ``previous_response_id`` continues
  was checked, and stored masked, when it was the input.
* Masks are written into the request body itself, so what the bridge sends, what a stored response keeps and
  what is forwarded to OCI's own Responses API all carry the masked text.
* Output: each ``output_text`` part of the response's message items. A blocked response keeps one message
  item with empty text and nothing else, and is ``incomplete`` with ``incomplete_details.reason:
  "content_filter"``; a masked part carries the masked text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from core.responses.output import CONTENT_FILTER, message_item, new_id, output_text

MODEL_ITEMS = frozenset({"function_call", "custom_tool_call", "local_shell_call", "reasoning", "file_search_call",
                         "web_search_call"})
"""Input items the model produced: with assistant messages, they make up assistant turns."""
TOOL_RESULTS = frozenset({"function_call_output", "custom_tool_call_output", "local_shell_call_output"})
TEXT_PARTS = frozenset({"input_text", "output_text"})


@dataclass(frozen=True)
class Target:
    """One checked text: ``items[item][field]``, or its part ``part`` (``item`` None: the whole input string)."""

    item: int | None
    field: str
    part: int | None
    text: str


def _kind(item: Mapping[str, Any]) -> str:
    """An item's type (a ``{"role", "content"}`` item is a message)."""
    return str(item.get("type") or ("message" if "role" in item else ""))


def _assistant_turn(item: Mapping[str, Any]) -> bool:
    kind = _kind(item)
    return kind in MODEL_ITEMS or (kind == "message" and item.get("role") == "assistant")


def input_targets(data: Mapping[str, Any]) -> list[Target]:
    """The texts an input check reads in a (checked) request body."""
    raw = data.get("input")
    if isinstance(raw, str):
        return [Target(None, "input", None, raw)] if raw.strip() else []
    items = [item if isinstance(item, dict) else {} for item in raw or ()]
    last_assistant = _last(items, _assistant_turn)
    newest_user = _last(items, _user_message)
    chosen = sorted({i for i, item in enumerate(items) if _kind(item) in TOOL_RESULTS and i > last_assistant}
                    | ({newest_user} if newest_user >= 0 else set()))
    return [target for i in chosen for target in _texts(items[i], i, "content" if i == newest_user else "output")]


def _last(items: list[dict[str, Any]], test: Callable[[Mapping[str, Any]], bool]) -> int:
    """The index of the last item that passes ``test``, or -1."""
    return max((i for i, item in enumerate(items) if test(item)), default=-1)


def _user_message(item: Mapping[str, Any]) -> bool:
    return _kind(item) == "message" and item.get("role") == "user"


def _texts(item: Mapping[str, Any], index: int, field: str) -> list[Target]:
    value = item.get(field)
    if isinstance(value, str):
        return [Target(index, field, None, value)] if value.strip() else []
    return [Target(index, field, p, part["text"]) for p, part in enumerate(value or ())
            if isinstance(part, dict) and part.get("type") in TEXT_PARTS and isinstance(part.get("text"), str)
            and part["text"].strip()]


def with_texts(data: Mapping[str, Any], targets: Sequence[Target], texts: Sequence[str]) -> dict[str, Any]:
    """The request body with each target's text replaced (a copy; the caller's body is left as it was)."""
    if any(target.item is None for target in targets):
        return {**data, "input": texts[0]}
    return {**data, "input": _written(list(data.get("input") or ()), targets, texts)}


def _written(items: list[Any], targets: Sequence[Target], texts: Sequence[str]) -> list[Any]:
    """``items`` with each target's text replaced; only the items touched are copied."""
    for target, text in zip(targets, texts):
        assert target.item is not None
        item = dict(items[target.item])
        if target.part is None:
            item[target.field] = text
        else:
            parts = list(item[target.field])
            parts[target.part] = {**parts[target.part], "text": text}
            item[target.field] = parts
        items[target.item] = item
    return items


def answer_targets(response: Mapping[str, Any]) -> list[Target]:
    """The texts an output check reads in a response object: its messages' ``output_text`` parts."""
    return [Target(i, "content", p, part["text"]) for i, item in enumerate(response.get("output") or ())
            if isinstance(item, dict) and item.get("type") == "message"
            for p, part in enumerate(item.get("content") or ())
            if isinstance(part, dict) and part.get("type") == "output_text" and isinstance(part.get("text"), str)
            and part["text"].strip()]


def answer_texts(response: Mapping[str, Any]) -> dict[int, str]:
    """The texts an output check reads, keyed by their position among :func:`answer_targets`."""
    return {position: target.text for position, target in enumerate(answer_targets(response))}


def with_answer(response: Mapping[str, Any], targets: Sequence[Target], blocked: set[int],
                masked: Mapping[int, str]) -> dict[str, Any]:
    """The response after its output checks: blocked when any text was, else with masked texts written in."""
    if blocked:
        return blocked_response(response)
    chosen = [(targets[position], text) for position, text in sorted(masked.items())]
    output = _written(list(response.get("output") or ()), [t for t, _ in chosen], [text for _, text in chosen])
    return {**response, "output": output}


def blocked_response(response: Mapping[str, Any]) -> dict[str, Any]:
    """A response whose answer the guardrails blocked: one empty message, ``incomplete`` for ``content_filter``."""
    blocked = {**response, "status": "incomplete", "incomplete_details": {"reason": CONTENT_FILTER},
               "output": [message_item(new_id("msg"), [output_text("")], "incomplete")]}
    if "completed_at" in blocked:
        blocked["completed_at"] = None
    return blocked
