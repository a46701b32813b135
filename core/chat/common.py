"""Pieces every chat format shares: finish reasons, usage, timestamps, tool-call ids."""

from __future__ import annotations

import hashlib
import time
from datetime import datetime
from typing import Any


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
    """OpenAI's usage from OCI's, with reasoning inside ``completion_tokens`` as OpenAI counts it.

    xAI models report reasoning outside ``completionTokens`` (prompt + completion + reasoning = total);
    then the reasoning is added, so ``completion_tokens`` is never below ``reasoning_tokens``.
    """
    if not isinstance(oci_usage, dict):
        return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    prompt = int(oci_usage.get("promptTokens") or 0)
    completion = int(oci_usage.get("completionTokens") or 0)
    total = int(oci_usage.get("totalTokens") or prompt + completion)
    reasoning = (oci_usage.get("completionTokensDetails") or {}).get("reasoningTokens")
    if reasoning and prompt + completion + int(reasoning) == total:
        completion += int(reasoning)
    result: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}
    cached = (oci_usage.get("promptTokensDetails") or {}).get("cachedTokens")
    if cached is not None:
        result["prompt_tokens_details"] = {"cached_tokens": int(cached)}
    if reasoning is not None:
        result["completion_tokens_details"] = {"reasoning_tokens": int(reasoning)}
    return result




def tool_call_id(name: str, arguments: str, position: int, salt: str = "") -> str:
    """A stable id for a tool call OCI returned without one (Cohere v1, some Gemini answers).

    Deterministic in the call's content and position, so the same answer always yields
    the same id and a follow-up request can refer to it.
    """
    digest = hashlib.sha256(f"{salt}|{position}|{name}|{arguments}".encode()).hexdigest()[:24]
    return f"call_{digest}"


# OpenAI sampling parameters spelled the same way by every OCI chat format.
_SAMPLING_FIELDS = (("temperature", "temperature"), ("top_p", "topP"), ("frequency_penalty", "frequencyPenalty"),
                    ("presence_penalty", "presencePenalty"), ("seed", "seed"))


def sampling_fields(request: Any) -> dict[str, Any]:
    """temperature/topP/frequencyPenalty/presencePenalty/seed for the ones the caller sent."""
    return {key: getattr(request, attr) for attr, key in _SAMPLING_FIELDS if getattr(request, attr) is not None}
