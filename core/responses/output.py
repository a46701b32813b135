"""The Responses API's answer built from the chat core's ``chat.completion``: the response object and its items.

Pure. ``response_shell`` is what every response repeats from its request (what ``response.created`` carries);
``output_items`` turns the assistant message into output items in OpenAI's order (reasoning, message, tool
calls, each call under its tool's kind); ``finished`` adds the output, status and usage.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any, Mapping

from core.responses.schema import CreateRequest
from core.responses.tools import CUSTOM, CUSTOM_INPUT, LOCAL_SHELL

CONTENT_FILTER = "content_filter"
INCOMPLETE_REASONS = {"length": "max_output_tokens", CONTENT_FILTER: CONTENT_FILTER}


def new_id(prefix: str) -> str:
    """An id in OpenAI's style: ``resp_``, ``msg_``, ``fc_``... then 48 hex characters."""
    return f"{prefix}_{secrets.token_hex(24)}"


def response_shell(request: CreateRequest, raw: Mapping[str, Any], *, response_id: str, model: str,
                   created_at: int | None = None, store: bool) -> dict[str, Any]:
    """The response object in progress: the request's settings echoed, no output yet."""
    text = raw.get("text") if isinstance(raw.get("text"), dict) else {}
    reasoning = request.reasoning
    return {
        "id": response_id, "object": "response", "created_at": created_at or int(time.time()),
        "status": "in_progress", "background": False, "error": None, "incomplete_details": None,
        "instructions": request.instructions, "max_output_tokens": request.max_output_tokens,
        "max_tool_calls": request.max_tool_calls, "model": model, "output": [],
        "parallel_tool_calls": True if request.parallel_tool_calls is None else request.parallel_tool_calls,
        "previous_response_id": request.previous_response_id, "prompt_cache_key": request.prompt_cache_key,
        "reasoning": {"effort": reasoning.effort if reasoning else None,
                      "summary": (reasoning.summary or reasoning.generate_summary) if reasoning else None},
        "safety_identifier": request.safety_identifier, "service_tier": request.service_tier or "default",
        "store": store, "temperature": request.temperature,
        "text": {"format": text.get("format") or {"type": "text"}, "verbosity": text.get("verbosity") or "medium"},
        "tool_choice": raw.get("tool_choice") if raw.get("tool_choice") is not None else "auto",
        "tools": list(raw.get("tools") or ()), "top_logprobs": request.top_logprobs or 0,
        "top_p": request.top_p, "truncation": request.truncation or "disabled", "usage": None,
        "user": request.user, "metadata": dict(request.metadata or {}),
    }


def output_items(completion: Mapping[str, Any], kinds: Mapping[str, str], *, incomplete: bool = False) -> list[dict]:
    """Output items for the first choice of a chat completion: reasoning, message, then tool calls. A filtered
    answer (``content_filter``) always has its message, with empty text when nothing of it is left."""
    choice = (completion.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    items: list[dict[str, Any]] = []
    if message.get("reasoning_content"):
        items.append(reasoning_item(new_id("rs"), message["reasoning_content"]))
    parts = _content_parts(message, choice.get("logprobs"))
    if not parts and choice.get("finish_reason") == CONTENT_FILTER:
        parts = [output_text("")]
    if parts:
        items.append(message_item(new_id("msg"), parts, "incomplete" if incomplete else "completed"))
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        items.append(call_item(call.get("id") or new_id("call"), function.get("name") or "",
                               function.get("arguments") or "", kinds))
    return items


def _content_parts(message: Mapping[str, Any], logprobs: Any) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if message.get("content"):
        parts.append(output_text(message["content"], _logprobs(logprobs)))
    if message.get("refusal"):
        parts.append({"type": "refusal", "refusal": message["refusal"]})
    return parts


def output_text(text: str, logprobs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": logprobs or []}


def _logprobs(logprobs: Any) -> list[dict[str, Any]]:
    """Chat's per-token ``logprobs.content`` in the Responses shape (the same fields, without ``null`` lists)."""
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    return [{"token": entry["token"], "logprob": entry["logprob"], "bytes": entry.get("bytes") or [],
             "top_logprobs": [{"token": top["token"], "logprob": top["logprob"], "bytes": top.get("bytes") or []}
                              for top in entry.get("top_logprobs") or ()]}
            for entry in content or () if isinstance(entry, dict)]


def message_item(item_id: str, parts: list[dict[str, Any]], status: str = "completed") -> dict[str, Any]:
    return {"id": item_id, "type": "message", "status": status, "role": "assistant", "content": parts}


def reasoning_item(item_id: str, text: str) -> dict[str, Any]:
    """The model's reasoning as a summary (the bridge never produces ``encrypted_content``)."""
    return {"id": item_id, "type": "reasoning", "summary": [{"type": "summary_text", "text": text}],
            "encrypted_content": None, "status": "completed"}


def call_item(call_id: str, name: str, arguments: str, kinds: Mapping[str, str], *,
              status: str = "completed") -> dict[str, Any]:
    """A chat tool call as the item of its tool's kind: function, custom or local shell."""
    kind = kinds.get(name)
    if kind == CUSTOM:
        return {"id": new_id("ctc"), "type": "custom_tool_call", "status": status, "call_id": call_id, "name": name,
                "input": custom_input(arguments)}
    if kind == LOCAL_SHELL:
        return {"id": new_id("lsc"), "type": "local_shell_call", "status": status, "call_id": call_id,
                "action": shell_action(arguments)}
    return {"id": new_id("fc"), "type": "function_call", "status": status, "call_id": call_id, "name": name,
            "arguments": arguments}


def custom_input(arguments: str) -> str:
    """A freeform tool's input from the function arguments the model wrote (``{"input": ...}``)."""
    try:
        value = json.loads(arguments)
    except ValueError:
        return arguments  # the model wrote the raw input itself
    if isinstance(value, dict) and isinstance(value.get(CUSTOM_INPUT), str):
        return value[CUSTOM_INPUT]
    if isinstance(value, dict) and len(value) == 1 and isinstance(next(iter(value.values())), str):
        return str(next(iter(value.values())))
    return arguments


def shell_action(arguments: str) -> dict[str, Any]:
    """The ``exec`` action of a local shell call from the arguments the model wrote."""
    try:
        value = json.loads(arguments)
    except ValueError:
        value = {}
    value = value if isinstance(value, dict) else {}
    command = value.get("command")
    if isinstance(command, str):
        command = ["bash", "-lc", command]
    env = value.get("env") if isinstance(value.get("env"), dict) else {}
    action: dict[str, Any] = {
        "type": "exec",
        "command": [str(part) for part in command] if isinstance(command, list) else [],
        "env": {str(k): str(v) for k, v in env.items()},
        "timeout_ms": value.get("timeout_ms") if isinstance(value.get("timeout_ms"), int) else None,
        "user": value.get("user") if isinstance(value.get("user"), str) else None,
        "working_directory": value.get("working_directory") if isinstance(value.get("working_directory"), str)
        else None,
    }
    return action


def usage(chat_usage: Mapping[str, Any] | None) -> dict[str, Any]:
    """Chat usage in the Responses shape (input/output/total plus cached and reasoning tokens)."""
    chat_usage = chat_usage or {}
    prompt = int(chat_usage.get("prompt_tokens") or 0)
    completion = int(chat_usage.get("completion_tokens") or 0)
    cached = (chat_usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    reasoning = (chat_usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
    return {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": int(cached), "cache_write_tokens": 0},
            "output_tokens": completion, "output_tokens_details": {"reasoning_tokens": int(reasoning)},
            "total_tokens": int(chat_usage.get("total_tokens") or prompt + completion)}


def finished(shell: Mapping[str, Any], items: list[dict[str, Any]], chat_usage: Mapping[str, Any] | None,
             finish_reason: str | None) -> dict[str, Any]:
    """The final response object: status ``completed``, or ``incomplete`` with the reason."""
    reason = INCOMPLETE_REASONS.get(finish_reason or "")
    response = dict(shell)
    response.update(status="incomplete" if reason else "completed", output=items, usage=usage(chat_usage),
                    incomplete_details={"reason": reason} if reason else None)
    if not reason:
        response["completed_at"] = int(time.time())
    return response


def response_from_completion(shell: Mapping[str, Any], completion: Mapping[str, Any],
                             kinds: Mapping[str, str]) -> dict[str, Any]:
    """The response object for a non-streamed chat completion."""
    finish = ((completion.get("choices") or [{}])[0]).get("finish_reason")
    items = output_items(completion, kinds, incomplete=finish in INCOMPLETE_REASONS)
    return finished(shell, items, completion.get("usage"), finish)
