"""OpenAI chat <-> OCI ``GENERIC`` chat format (Meta, xAI, Google, OpenAI and unknown vendors).

Pure translation, data in and data out. OCI's GENERIC format differs from OpenAI in
small, sharp ways: upper-case roles, ``content`` always an array of typed parts
(never a bare string, never empty), camelCase fields, tools and tool calls flat,
``toolChoice`` an object. Google models add three quirks: an
assistant turn that only calls tools needs placeholder text, parallel calls must
be replayed as call/result pairs, and schemas may not use exclusive bounds.
"""

from __future__ import annotations

import json
from typing import Any

from core.catalog import ModelInfo
from core.chat.common import created_timestamp, finish_reason, sampling_fields, tool_call_id, usage
from core.chat.param_rules import rule_for
from core.chat.request import ChatRequest, Message
from core.chat.schema import SchemaError, inclusive_bounds, simplify_schema
from core.errors import invalid_request

_ROLE = {"system": "SYSTEM", "developer": "DEVELOPER", "user": "USER", "assistant": "ASSISTANT", "tool": "TOOL"}
PLACEHOLDER_TEXT = "."  # what OCI's own LangChain integration sends for Gemini's empty assistant turns


def _content(message: Message) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for part in message.parts:
        if part.type == "text":
            if part.text:
                parts.append({"type": "TEXT", "text": part.text})
        elif part.type == "image":
            parts.append({"type": "IMAGE", "imageUrl": {"url": part.url, "detail": "AUTO"}})
    return parts


def generic_message(message: Message, *, placeholder_for_empty_assistant: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"role": _ROLE[message.role]}
    content = _content(message)
    if content:
        out["content"] = content
    elif message.role != "assistant" or placeholder_for_empty_assistant:
        # OCI rejects an empty content array and Gemini fails on a missing one; send minimal text.
        out["content"] = [{"type": "TEXT", "text": PLACEHOLDER_TEXT if message.role == "assistant" else " "}]
    if message.name and message.role in ("system", "developer", "user", "assistant"):
        out["name"] = message.name
    if message.tool_calls:
        out["toolCalls"] = [
            {"id": c.id, "type": "FUNCTION", "name": c.name, "arguments": c.arguments or "{}"}
            for c in message.tool_calls
        ]
    if message.role == "tool":
        out["toolCallId"] = message.tool_call_id
    return out


def _flatten_parallel_calls(messages: tuple[Message, ...]) -> list[Message]:
    """Gemini takes one call per turn: [assistant(c1,c2), tool(c1), tool(c2)] -> c1/result, c2/result pairs."""
    from dataclasses import replace

    out: list[Message] = []
    i = 0
    while i < len(messages):
        message = messages[i]
        if message.role == "assistant" and len(message.tool_calls) > 1:
            results: dict[str, Message] = {}
            j = i + 1
            while j < len(messages) and messages[j].role == "tool":
                results[messages[j].tool_call_id or ""] = messages[j]
                j += 1
            for position, call in enumerate(message.tool_calls):
                out.append(replace(message, tool_calls=(call,), parts=message.parts if position == 0 else ()))
                if call.id in results:
                    out.append(results.pop(call.id))
            out.extend(results.values())
            i = j
            continue
        out.append(message)
        i += 1
    return out


def _tool(spec: Any, index: int, google: bool) -> dict[str, Any]:
    try:
        parameters = simplify_schema(spec.parameters)
    except SchemaError as exc:
        raise invalid_request(f"The schema of tool '{spec.name}' cannot be sent to OCI: {exc}.",
                              param=f"tools[{index}].function.parameters", code="invalid_tool_schema") from None
    tool: dict[str, Any] = {"type": "FUNCTION", "name": spec.name,
                            "parameters": inclusive_bounds(parameters) if google else parameters}
    if spec.description:
        tool["description"] = spec.description
    return tool


def _response_format(request: ChatRequest, google: bool) -> dict[str, Any] | None:
    fmt = request.response_format
    if fmt is None:
        return None
    if fmt.type == "text":
        return {"type": "TEXT"}
    if fmt.type == "json_object":
        return {"type": "JSON_OBJECT"}
    try:
        schema = simplify_schema(fmt.schema)
    except SchemaError as exc:
        raise invalid_request(f"response_format.json_schema.schema cannot be sent to OCI: {exc}.",
                              param="response_format.json_schema.schema", code="invalid_schema") from None
    spec: dict[str, Any] = {"name": fmt.name, "schema": inclusive_bounds(schema) if google else schema}
    if fmt.description:
        spec["description"] = fmt.description
    if fmt.strict is not None:
        spec["isStrict"] = fmt.strict
    return {"type": "JSON_SCHEMA", "jsonSchema": spec}


def _tool_choice(request: ChatRequest) -> dict[str, Any] | None:
    if request.tool_choice is None or not request.tools:
        return None
    if request.tool_choice == "function":
        return {"type": "FUNCTION", "name": request.tool_choice_name}
    return {"type": request.tool_choice.upper()}


def _verbosity(value: Any) -> str:
    if value not in ("low", "medium", "high"):
        raise invalid_request("Invalid 'verbosity': expected 'low', 'medium' or 'high'.", param="verbosity",
                              code="invalid_value")
    return value.upper()


def _prediction(value: Any) -> dict[str, Any]:
    """OpenAI's predicted output (text or text parts) as OCI's CONTENT prediction."""
    content = value.get("content") if isinstance(value, dict) else None
    if isinstance(content, str):
        content = [{"type": "text", "text": content}]
    if not isinstance(content, list) or not all(isinstance(p, dict) and isinstance(p.get("text"), str)
                                                for p in content):
        raise invalid_request("Invalid 'prediction': expected {'type': 'content', 'content': text or text parts}.",
                              param="prediction", code="invalid_value")
    return {"type": "CONTENT", "content": [{"type": "TEXT", "text": p["text"]} for p in content]}


def _web_search_options(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid_request("Invalid 'web_search_options': expected an object.", param="web_search_options",
                              code="invalid_value")
    options: dict[str, Any] = {}
    size = value.get("search_context_size")
    if size is not None:
        if size not in ("low", "medium", "high"):
            raise invalid_request("Invalid 'web_search_options.search_context_size'.",
                                  param="web_search_options.search_context_size", code="invalid_value")
        options["searchContextSize"] = size.upper()
    location = value.get("user_location")
    if isinstance(location, dict):
        options["userLocation"] = _user_location(location)
    return options


def _user_location(location: dict[str, Any]) -> dict[str, str]:
    """The city/region/country/timezone the caller gave, from ``approximate`` when it is an object."""
    approx = location.get("approximate") if isinstance(location.get("approximate"), dict) else location
    return {k: str(approx[k]) for k in ("city", "region", "country", "timezone") if approx.get(k) is not None}


# GENERIC-only OpenAI field -> (OCI field, translation), in the order they are checked.
_EXTRAS = (("verbosity", "verbosity", _verbosity), ("prediction", "prediction", _prediction),
           ("web_search_options", "webSearchOptions", _web_search_options))


def _extras(raw: dict[str, Any]) -> dict[str, Any]:
    """GENERIC-only OpenAI fields: verbosity, prediction, web_search_options."""
    return {key: translate(raw[param]) for param, key, translate in _EXTRAS if raw.get(param) is not None}


def _token_limit(request: ChatRequest, info: ModelInfo | None, max_tokens: int | None,
                 default_max_tokens: int | None, field_name: str | None) -> dict[str, Any]:
    """The output limit (an explicit one, else the caller's, else the default) under the model's field name."""
    limit = max_tokens if max_tokens is not None else (
        request.max_tokens if request.max_tokens is not None else default_max_tokens)
    if limit is None:
        return {}
    if field_name is None:
        field_name = rule_for(info).max_tokens_field if info is not None else "maxTokens"
    return {field_name: limit}


def _generation_fields(request: ChatRequest) -> dict[str, Any]:
    """The GENERIC generation controls beyond the shared sampling fields, for the ones the caller sent."""
    fields: dict[str, Any] = {}
    if request.top_k is not None:
        fields["topK"] = request.top_k
    if request.stop:
        fields["stop"] = list(request.stop)
    if request.n is not None and request.n > 1:
        fields["numGenerations"] = request.n
    if request.logprobs:
        fields["logProbs"] = request.top_logprobs or 1
    if request.logit_bias:
        fields["logitBias"] = request.logit_bias
    if request.reasoning_effort is not None:
        fields["reasoningEffort"] = request.reasoning_effort
    if request.metadata:
        fields["metadata"] = request.metadata
    return fields


def _tool_fields(request: ChatRequest, google: bool) -> dict[str, Any]:
    """tools, toolChoice and isParallelToolCalls; nothing when the request has no tools."""
    if not request.tools:
        return {}
    fields: dict[str, Any] = {"tools": [_tool(spec, i, google) for i, spec in enumerate(request.tools)]}
    choice = _tool_choice(request)
    if choice is not None:
        fields["toolChoice"] = choice
    if request.parallel_tool_calls is not None:
        fields["isParallelToolCalls"] = request.parallel_tool_calls
    return fields


def to_generic_chat_request(request: ChatRequest, info: ModelInfo | None = None, *,
                            max_tokens: int | None = None, default_max_tokens: int | None = None,
                            max_tokens_field: str | None = None) -> dict[str, Any]:
    """The ``chatRequest`` object for a GENERIC-format model (limit field: the given one, else the table's)."""
    google = info is not None and info.vendor == "google"
    messages = _flatten_parallel_calls(request.messages) if google else list(request.messages)
    body: dict[str, Any] = {
        "apiFormat": "GENERIC",
        "messages": [generic_message(m, placeholder_for_empty_assistant=google) for m in messages],
    }
    body.update(_token_limit(request, info, max_tokens, default_max_tokens, max_tokens_field))
    body.update(sampling_fields(request))
    body.update(_generation_fields(request))
    body.update(_tool_fields(request, google))
    response_format = _response_format(request, google)
    if response_format is not None:
        body["responseFormat"] = response_format
    body.update(_extras(request.raw))
    return body


# ---------------------------------------------------------------------------------------------- responses


def _message_text(message: dict[str, Any]) -> str | None:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    texts = [p.get("text") or "" for p in content if isinstance(p, dict) and p.get("type") == "TEXT"]
    return "".join(texts) if texts else None


def openai_tool_calls(calls: Any, *, salt: str = "") -> list[dict[str, Any]]:
    """OCI's flat tool calls as OpenAI's, with a stable id where OCI gave none (Gemini)."""
    out = []
    for position, call in enumerate(calls or []):
        if not isinstance(call, dict):
            continue
        name = call.get("name") or ""
        arguments = call.get("arguments")
        if isinstance(arguments, (dict, list)):
            arguments = json.dumps(arguments)
        arguments = arguments if isinstance(arguments, str) and arguments else "{}"
        out.append({"id": call.get("id") or tool_call_id(name, arguments, position, salt), "type": "function",
                    "function": {"name": name, "arguments": arguments}})
    return out


def openai_logprobs(logprobs: Any) -> dict[str, Any] | None:
    """OCI's column-wise Logprobs as OpenAI's per-token ``logprobs.content``."""
    if not isinstance(logprobs, dict) or not logprobs.get("tokens"):
        return None
    tokens = logprobs.get("tokens") or []
    values = logprobs.get("tokenLogprobs") or []
    tops = logprobs.get("topLogprobs") or []
    content = []
    for i, token in enumerate(tokens):
        top = tops[i] if i < len(tops) and isinstance(tops[i], dict) else {}
        content.append({
            "token": token,
            "logprob": float(values[i]) if i < len(values) and values[i] is not None else 0.0,
            "bytes": list(str(token).encode()),
            "top_logprobs": [{"token": t, "logprob": float(v), "bytes": list(str(t).encode())}
                             for t, v in top.items()],
        })
    return {"content": content, "refusal": None}


def from_generic_chat_response(result: dict[str, Any], *, model: str, response_id: str) -> dict[str, Any]:
    """An OpenAI ``chat.completion`` from OCI's ``ChatResult`` with a GENERIC ``chatResponse``."""
    chat = result.get("chatResponse") or {}
    choices = []
    for position, choice in enumerate(chat.get("choices") or []):
        message = choice.get("message") or {}
        calls = openai_tool_calls(message.get("toolCalls"), salt=response_id)
        out_message: dict[str, Any] = {"role": "assistant", "content": _message_text(message),
                                       "refusal": message.get("refusal")}
        if calls:
            out_message["tool_calls"] = calls
        if message.get("reasoningContent"):
            out_message["reasoning_content"] = message["reasoningContent"]
        choices.append({
            "index": choice.get("index", position),
            "message": out_message,
            "logprobs": openai_logprobs(choice.get("logprobs")),
            "finish_reason": finish_reason(choice.get("finishReason"), bool(calls)),
        })
    choices.sort(key=lambda c: c["index"])
    completion = {
        "id": response_id,
        "object": "chat.completion",
        "created": created_timestamp(chat.get("timeCreated")),
        "model": model,
        "choices": choices,
        "usage": usage(chat.get("usage")),
        "system_fingerprint": None,
    }
    if chat.get("serviceTier"):
        completion["service_tier"] = str(chat["serviceTier"]).lower()
    return completion
