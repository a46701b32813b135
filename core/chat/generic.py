"""OpenAI chat <-> OCI ``GENERIC`` chat format (Meta, xAI, Google, OpenAI and unknown vendors).

Pure translation, data in and data out. OCI's GENERIC format differs from OpenAI in
small, sharp ways: upper-case roles, ``content`` always an array of typed parts
(never a bare string, never empty), camelCase fields, tools and tool calls flat.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from core.chat.request import ChatRequest, Message

_ROLE = {"system": "SYSTEM", "developer": "DEVELOPER", "user": "USER", "assistant": "ASSISTANT", "tool": "TOOL"}


def _content(message: Message) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for part in message.parts:
        if part.type == "text":
            if part.text:
                parts.append({"type": "TEXT", "text": part.text})
        elif part.type == "image":
            parts.append({"type": "IMAGE", "imageUrl": {"url": part.url, "detail": "AUTO"}})
    return parts


def generic_message(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": _ROLE[message.role]}
    content = _content(message)
    if content:
        out["content"] = content
    elif message.role != "assistant":
        # OCI rejects an empty content array; a single space is the smallest valid text.
        out["content"] = [{"type": "TEXT", "text": " "}]
    if message.name and message.role in ("system", "developer", "user", "assistant"):
        out["name"] = message.name
    if message.tool_calls:
        out["toolCalls"] = [
            {"id": c.id, "type": "FUNCTION", "name": c.name, "arguments": c.arguments} for c in message.tool_calls
        ]
    if message.role == "tool":
        out["toolCallId"] = message.tool_call_id
    return out


def to_generic_chat_request(request: ChatRequest, *, default_max_tokens: int | None = None) -> dict[str, Any]:
    """The ``chatRequest`` object for a GENERIC-format model."""
    body: dict[str, Any] = {"apiFormat": "GENERIC", "messages": [generic_message(m) for m in request.messages]}
    max_tokens = request.max_tokens if request.max_tokens is not None else default_max_tokens
    if max_tokens is not None:
        body["maxTokens"] = max_tokens
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["topP"] = request.top_p
    if request.stop:
        body["stop"] = list(request.stop)
    return body


_FINISH = {
    "stop": "stop", "complete": "stop", "end_turn": "stop", "stop_sequence": "stop", "eos": "stop",
    "length": "length", "max_tokens": "length", "error_limit": "length",
    "tool_calls": "tool_calls", "tool_call": "tool_calls", "function_call": "tool_calls",
    "content_filter": "content_filter", "error_toxic": "content_filter",
}


def finish_reason(value: Any, has_tool_calls: bool = False) -> str:
    """Normalize OCI's finish reasons (any case, either spelling) to OpenAI's."""
    if has_tool_calls:
        return "tool_calls"
    if not isinstance(value, str) or not value:
        return "stop"
    return _FINISH.get(value.strip().lower(), "stop")


def created_timestamp(time_created: Any) -> int:
    """OCI's ISO ``timeCreated`` as Unix seconds (now if absent or unparsable)."""
    if isinstance(time_created, str):
        try:
            return int(datetime.fromisoformat(time_created.replace("Z", "+00:00")).timestamp())
        except ValueError:
            pass
    return int(time.time())


def usage(oci_usage: Any) -> dict[str, Any]:
    if not isinstance(oci_usage, dict):
        return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    prompt = int(oci_usage.get("promptTokens") or 0)
    completion = int(oci_usage.get("completionTokens") or 0)
    total = int(oci_usage.get("totalTokens") or prompt + completion)
    result: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}
    cached = (oci_usage.get("promptTokensDetails") or {}).get("cachedTokens")
    if cached is not None:
        result["prompt_tokens_details"] = {"cached_tokens": int(cached)}
    reasoning = (oci_usage.get("completionTokensDetails") or {}).get("reasoningTokens")
    if reasoning is not None:
        result["completion_tokens_details"] = {"reasoning_tokens": int(reasoning)}
    return result


def _message_text(message: dict[str, Any]) -> str | None:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    texts = [p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "TEXT"]
    return "".join(texts) if texts else None


def from_generic_chat_response(result: dict[str, Any], *, model: str, response_id: str) -> dict[str, Any]:
    """An OpenAI ``chat.completion`` from OCI's ``ChatResult`` with a GENERIC ``chatResponse``."""
    chat = result.get("chatResponse") or {}
    choices = []
    for position, choice in enumerate(chat.get("choices") or []):
        message = choice.get("message") or {}
        text = _message_text(message)
        out_message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": message.get("refusal")}
        choices.append({
            "index": choice.get("index", position),
            "message": out_message,
            "logprobs": None,
            "finish_reason": finish_reason(choice.get("finishReason")),
        })
    return {
        "id": response_id,
        "object": "chat.completion",
        "created": created_timestamp(chat.get("timeCreated")),
        "model": model,
        "choices": choices,
        "usage": usage(chat.get("usage")),
        "system_fingerprint": None,
    }
