"""OpenAI chat <-> OCI ``COHEREV2`` (Cohere v2 chat API: Command A vision, reasoning, forced tools).

Pure translation, data in and data out. V2 is close to OpenAI (a ``messages`` list,
tool calls with ids, nested ``{type: FUNCTION, function: {...}}`` tools) but differs in
the details OCI rejects: upper-case roles and part types, ``IMAGE_URL`` parts, tool
results as ``TOOL`` messages with ``content`` parts, ``toolsChoice`` as a bare string
(REQUIRED/NONE only: a named choice becomes "that one tool, required"), and reasoning
as ``thinking`` with a token budget rather than an effort level.

An assistant turn that called tools carries its text as ``toolPlan``, the slot Cohere
itself fills in that case (and the one its docs replay). Its ``content``, which the SDK
marks required on every V2 message, is then one space (the smallest text Cohere takes),
so the plan is not read twice.
"""

from __future__ import annotations

import json
from typing import Any

from core.catalog import ModelInfo
from core.chat.cohere import EMPTY_TEXT, completion, sampling_fields
from core.chat.common import finish_reason, tool_call_id
from core.chat.request import ChatRequest, Message, ToolSpec
from core.chat.schema import SchemaError, simplify_schema
from core.errors import invalid_request

# Share of the output budget the model may spend thinking, per OpenAI reasoning effort.
_THINKING_SHARE = {"MINIMAL": 0.125, "LOW": 0.25, "MEDIUM": 0.5, "HIGH": 0.75}
_DETAIL = {"auto": "AUTO", "low": "LOW", "high": "HIGH"}


def _text(text: str) -> list[dict[str, Any]]:
    return [{"type": "TEXT", "text": text or EMPTY_TEXT}]


def _content(message: Message) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for part in message.parts:
        if part.type == "text" and part.text:
            parts.append({"type": "TEXT", "text": part.text})
        elif part.type == "image":
            image: dict[str, Any] = {"url": part.url}
            if part.detail:
                image["detail"] = _DETAIL[part.detail]
            parts.append({"type": "IMAGE_URL", "imageUrl": image})
    return parts or _text("")


def _message(message: Message) -> dict[str, Any]:
    role = message.role
    if role in ("system", "developer"):  # v2 has no DEVELOPER role
        return {"role": "SYSTEM", "content": _text(message.text)}
    if role == "user":
        return {"role": "USER", "content": _content(message)}
    if role == "tool":
        return {"role": "TOOL", "toolCallId": message.tool_call_id, "content": _text(message.text)}
    out: dict[str, Any] = {"role": "ASSISTANT"}
    if message.tool_calls:
        out["content"] = _text("")
        if message.text:
            out["toolPlan"] = message.text
        out["toolCalls"] = [{"id": c.id, "type": "FUNCTION",
                             "function": {"name": c.name, "arguments": c.arguments.strip() or "{}"}}
                            for c in message.tool_calls]
    else:
        out["content"] = _text(message.text)
    return out


def _tool(tool: ToolSpec, index: int) -> dict[str, Any]:
    param = f"tools[{index}].function.parameters"
    try:
        parameters = simplify_schema(tool.parameters)
    except SchemaError as err:
        raise invalid_request(f"Invalid schema for function '{tool.name}': {err}.", param=param,
                              code="invalid_function_parameters") from None
    return {"type": "FUNCTION",
            "function": {"name": tool.name, "description": tool.description or tool.name, "parameters": parameters}}


def thinking(effort: str, max_tokens: int | None, info: ModelInfo) -> dict[str, Any]:
    """``thinking`` for an OCI effort level: a budget that grows with effort and leaves room to answer."""
    if effort == "NONE":
        return {"type": "DISABLED"}
    ceiling = max_tokens or info.max_output_tokens or info.default_max_tokens
    return {"type": "ENABLED", "tokenBudget": max(1, int(ceiling * _THINKING_SHARE[effort]))}


def _check_images(request: ChatRequest, info: ModelInfo) -> None:
    if info.vision or not info.known:
        return
    for i, message in enumerate(request.messages):
        if any(p.type == "image" for p in message.parts):
            raise invalid_request(f"{info.id} does not accept images; use a vision model such as "
                                  "cohere.command-a-vision.", param=f"messages[{i}].content",
                                  code="unsupported_content_type")


def to_cohere_v2_chat_request(request: ChatRequest, info: ModelInfo, *, max_tokens: int | None) -> dict[str, Any]:
    """The ``chatRequest`` object for a COHEREV2 model."""
    _check_images(request, info)
    body: dict[str, Any] = {"apiFormat": "COHEREV2", "messages": [_message(m) for m in request.messages]}
    tools = [(i, t) for i, t in enumerate(request.tools)
             if request.tool_choice != "function" or t.name == request.tool_choice_name]
    if tools:
        body["tools"] = [_tool(tool, i) for i, tool in tools]
        if request.tool_choice in ("required", "function"):
            body["toolsChoice"] = "REQUIRED"
        elif request.tool_choice == "none":
            body["toolsChoice"] = "NONE"
        if all(t.strict for _, t in tools):
            body["isStrictToolsEnabled"] = True
    if request.logprobs:
        body["isLogProbsEnabled"] = True
    if request.reasoning_effort is not None:
        body["thinking"] = thinking(request.reasoning_effort, max_tokens, info)
    body.update(sampling_fields(request, max_tokens))
    return body


# ---------------------------------------------------------------- response


def _logprobs(entries: Any) -> dict[str, Any] | None:
    """Cohere's per-chunk log probabilities as OpenAI ``logprobs.content`` (one entry per text chunk)."""
    if not isinstance(entries, list) or not entries:
        return None
    content = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        text = entry.get("text") or ""
        values = [v for v in entry.get("logProbabilities") or [] if isinstance(v, (int, float))]
        content.append({"token": text, "logprob": float(sum(values)), "bytes": list(text.encode()),
                        "top_logprobs": []})
    return {"content": content, "refusal": None}


def _arguments(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value if value is not None else {}, ensure_ascii=False)


def _content_texts(content: Any) -> tuple[list[str], list[str]]:
    """The answer's TEXT parts and THINKING parts, in order."""
    texts: list[str] = []
    thoughts: list[str] = []
    for part in content or []:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "TEXT" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif part.get("type") == "THINKING" and isinstance(part.get("thinking"), str):
            thoughts.append(part["thinking"])
    return texts, thoughts


def _tool_calls(calls: Any) -> list[dict[str, Any]]:
    """COHEREV2 tool calls as OpenAI's, with a stable id where Cohere gave none."""
    out = []
    for position, call in enumerate(calls or []):
        if not isinstance(call, dict):
            continue
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        name = str(function.get("name") or "")
        arguments = _arguments(function.get("arguments"))
        out.append({"id": call.get("id") or tool_call_id(name, arguments, position), "type": "function",
                    "function": {"name": name, "arguments": arguments}})
    return out


def _assistant_message(oci_message: dict[str, Any]) -> dict[str, Any]:
    texts, thoughts = _content_texts(oci_message.get("content"))
    tool_calls = _tool_calls(oci_message.get("toolCalls"))
    text = "".join(texts)
    if not text and tool_calls and isinstance(oci_message.get("toolPlan"), str):
        text = oci_message["toolPlan"]  # Cohere's words before calling tools
    message: dict[str, Any] = {"role": "assistant", "content": text or (None if tool_calls else ""),
                               "refusal": None}
    if thoughts:
        message["reasoning_content"] = "".join(thoughts)
    if tool_calls:
        message["tool_calls"] = tool_calls
    return message


def from_cohere_v2_chat_response(result: dict[str, Any], *, model: str, response_id: str) -> dict[str, Any]:
    """An OpenAI ``chat.completion`` from OCI's ``ChatResult`` with a COHEREV2 ``chatResponse``."""
    chat = result.get("chatResponse") or {}
    message = _assistant_message(chat.get("message") or {})
    return completion(response_id=chat.get("id") or response_id, model=model, message=message,
                      finish=finish_reason(chat.get("finishReason"), "tool_calls" in message),
                      oci_usage=chat.get("usage"), logprobs=_logprobs(chat.get("logProbabilities")))
