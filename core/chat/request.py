"""Parse and check an OpenAI chat completion request into a normalized value.

Pure: JSON object in, :class:`ChatRequest` out, or an :class:`APIError` 400 whose
``param`` names the offending field. The per-format translators (GENERIC, COHERE,
COHEREV2) start from this value, so each OpenAI quirk (string or part-array
content, ``max_completion_tokens`` vs ``max_tokens``, ``stop`` as a string) is
settled once here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.errors import invalid_request
from core.validation import integer, number, string, wrong_type

ROLES = ("system", "developer", "user", "assistant", "tool")
MAX_STOP_SEQUENCES = 16


@dataclass(frozen=True)
class Part:
    """One piece of message content: ``text`` or ``image`` (a data URI)."""

    type: str
    text: str = ""
    url: str = ""
    detail: str | None = None


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Message:
    role: str
    parts: tuple[Part, ...] = ()
    name: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts if p.type == "text")


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: tuple[Message, ...]
    max_tokens: int | None = None
    max_tokens_param: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    stream: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def _content_parts(content: Any, param: str, role: str) -> tuple[Part, ...]:
    if isinstance(content, str):
        return (Part("text", text=content),) if content else ()
    if not isinstance(content, list):
        raise wrong_type(param, "a string or an array of content parts", content)
    parts: list[Part] = []
    for i, item in enumerate(content):
        p = f"{param}[{i}]"
        if isinstance(item, str):  # tolerated by the OpenAI API for text
            parts.append(Part("text", text=item))
            continue
        if not isinstance(item, dict):
            raise wrong_type(p, "a content part object", item)
        kind = string(item, "type", f"{p}.type", required=True)
        if kind == "text":
            text = string(item, "text", f"{p}.text", required=True)
            parts.append(Part("text", text=text or ""))
        elif kind == "image_url":
            if role not in ("user",):
                raise invalid_request(f"Image content is only allowed in user messages ('{p}').", param=p)
            image = item.get("image_url")
            if isinstance(image, str):
                image = {"url": image}
            if not isinstance(image, dict):
                raise wrong_type(f"{p}.image_url", "an object with a url", image)
            url = string(image, "url", f"{p}.image_url.url", required=True, non_empty=True) or ""
            detail = string(image, "detail", f"{p}.image_url.detail")
            if detail is not None and detail not in ("auto", "low", "high"):
                raise invalid_request(f"Invalid '{p}.image_url.detail': expected auto, low or high.",
                                      param=f"{p}.image_url.detail", code="invalid_value")
            parts.append(Part("image", url=url, detail=detail))
        elif kind == "refusal" and role == "assistant":
            parts.append(Part("text", text=string(item, "refusal", f"{p}.refusal") or ""))
        else:
            raise invalid_request(f"Unsupported content part type '{kind}' in '{p}.type'.", param=f"{p}.type",
                                  code="unsupported_content_type")
    return tuple(parts)


def _tool_calls(value: Any, param: str) -> tuple[ToolCall, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise wrong_type(param, "an array", value)
    calls = []
    for i, item in enumerate(value):
        p = f"{param}[{i}]"
        if not isinstance(item, dict):
            raise wrong_type(p, "a tool call object", item)
        call_id = string(item, "id", f"{p}.id", required=True, non_empty=True) or ""
        kind = item.get("type", "function")
        if kind != "function":
            raise invalid_request(f"Unsupported tool call type '{kind}' in '{p}.type'.", param=f"{p}.type")
        function = item.get("function")
        if not isinstance(function, dict):
            raise wrong_type(f"{p}.function", "an object", function)
        name = string(function, "name", f"{p}.function.name", required=True, non_empty=True) or ""
        arguments = function.get("arguments", "")
        if isinstance(arguments, (dict, list)):  # lenient: some clients send objects
            import json

            arguments = json.dumps(arguments)
        if not isinstance(arguments, str):
            raise wrong_type(f"{p}.function.arguments", "a JSON string", arguments)
        calls.append(ToolCall(call_id, name, arguments))
    return tuple(calls)


def _message(item: Any, index: int) -> Message:
    p = f"messages[{index}]"
    if not isinstance(item, dict):
        raise wrong_type(p, "a message object", item)
    role = string(item, "role", f"{p}.role", required=True)
    if role not in ROLES:
        raise invalid_request(f"Invalid value for '{p}.role': {role!r}. Supported values are: "
                              f"{', '.join(repr(r) for r in ROLES)}.", param=f"{p}.role", code="invalid_value")
    name = string(item, "name", f"{p}.name")
    content = item.get("content")
    parts = () if content is None else _content_parts(content, f"{p}.content", role)
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id = None
    if role == "assistant":
        tool_calls = _tool_calls(item.get("tool_calls"), f"{p}.tool_calls")
        if content is None and not tool_calls and item.get("function_call") is None:
            raise invalid_request(f"'{p}.content' is required unless the assistant message has tool_calls.",
                                  param=f"{p}.content", code="missing_required_parameter")
    elif role == "tool":
        tool_call_id = string(item, "tool_call_id", f"{p}.tool_call_id", required=True, non_empty=True)
        if content is None:
            raise invalid_request(f"Missing required parameter: '{p}.content'.", param=f"{p}.content",
                                  code="missing_required_parameter")
    elif content is None:
        raise invalid_request(f"Missing required parameter: '{p}.content'.", param=f"{p}.content",
                              code="missing_required_parameter")
    return Message(role=role, parts=parts, name=name, tool_calls=tool_calls, tool_call_id=tool_call_id)


def parse_chat_request(data: dict[str, Any]) -> ChatRequest:
    """Check an OpenAI chat completion request and normalize it."""
    model = string(data, "model", required=True, non_empty=True) or ""
    messages = data.get("messages")
    if messages is None:
        raise invalid_request("Missing required parameter: 'messages'.", param="messages",
                              code="missing_required_parameter")
    if not isinstance(messages, list):
        raise wrong_type("messages", "an array", messages)
    if not messages:
        raise invalid_request("'messages' must contain at least one message.", param="messages", code="invalid_value")
    parsed = tuple(_message(m, i) for i, m in enumerate(messages))

    max_tokens = integer(data, "max_tokens", minimum=1)
    max_completion = integer(data, "max_completion_tokens", minimum=1)
    if max_tokens is not None and max_completion is not None and max_tokens != max_completion:
        raise invalid_request("Send either 'max_tokens' or 'max_completion_tokens', not both.",
                              param="max_completion_tokens", code="invalid_value")
    limit = max_completion if max_completion is not None else max_tokens
    limit_param = "max_completion_tokens" if max_completion is not None else ("max_tokens" if max_tokens else None)

    stop_value = data.get("stop")
    if stop_value is None:
        stop: tuple[str, ...] = ()
    elif isinstance(stop_value, str):
        stop = (stop_value,) if stop_value else ()
    elif isinstance(stop_value, list):
        for i, s in enumerate(stop_value):
            if not isinstance(s, str):
                raise wrong_type(f"stop[{i}]", "a string", s)
        if len(stop_value) > MAX_STOP_SEQUENCES:
            raise invalid_request(f"'stop' accepts at most {MAX_STOP_SEQUENCES} sequences.", param="stop",
                                  code="invalid_value")
        stop = tuple(s for s in stop_value if s)
    else:
        raise wrong_type("stop", "a string or an array of strings", stop_value)

    stream = data.get("stream", False)
    if stream is not None and not isinstance(stream, bool):
        raise wrong_type("stream", "a boolean", stream)

    return ChatRequest(
        model=model.strip(),
        messages=parsed,
        max_tokens=limit,
        max_tokens_param=limit_param,
        temperature=number(data, "temperature", minimum=0, maximum=2),
        top_p=number(data, "top_p", minimum=0, maximum=1),
        stop=stop,
        stream=bool(stream),
        raw=data,
    )
