"""Parse and check an OpenAI chat completion request into a normalized value.

Pure: JSON object in, :class:`ChatRequest` out, or an :class:`APIError` 400 whose
``param`` names the offending field. The per-format translators (GENERIC, COHERE,
COHEREV2) start from this value, so each OpenAI quirk (string or part-array
content, ``max_completion_tokens`` vs ``max_tokens``, ``stop`` as a string) is
settled once here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from core.errors import APIError, invalid_request
from core.validation import boolean, integer, number, string, wrong_type

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
class ToolSpec:
    """A function the model may call; ``parameters`` is the caller's JSON schema, untouched."""

    name: str
    description: str | None
    parameters: dict[str, Any] | None
    strict: bool | None = None


@dataclass(frozen=True)
class ResponseFormat:
    type: str  # "text" | "json_object" | "json_schema"
    name: str | None = None
    description: str | None = None
    schema: dict[str, Any] | None = None
    strict: bool | None = None


@dataclass(frozen=True)
class ChatRequest:
    """A checked OpenAI chat request. ``None`` means "not sent" for every optional field."""

    model: str
    messages: tuple[Message, ...]
    max_tokens: int | None = None
    max_tokens_param: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: tuple[str, ...] = ()
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    seed: int | None = None
    n: int | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    logit_bias: dict[str, float] | None = None
    response_format: ResponseFormat | None = None
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: str | None = None
    """"auto" | "none" | "required" | "function" (then ``tool_choice_name``)."""
    tool_choice_name: str | None = None
    parallel_tool_calls: bool | None = None
    reasoning_effort: str | None = None
    """"NONE" | "MINIMAL" | "LOW" | "MEDIUM" | "HIGH" (OCI's spelling)."""
    metadata: dict[str, str] | None = None
    stream: bool = False
    include_usage: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def sent(self, param: str) -> bool:
        """Whether the caller sent ``param`` with a non-null value."""
        return self.raw.get(param) is not None


def image_url_parts(request: ChatRequest) -> Iterator[tuple[int, int, str]]:
    """``(message index, part index, url)`` of every http(s) image part."""
    for i, message in enumerate(request.messages):
        for j, part in enumerate(message.parts):
            if part.type == "image" and part.url[:8].lower().startswith(("http://", "https://")):
                yield i, j, part.url


def _content_parts(content: Any, param: str, role: str) -> tuple[Part, ...]:
    if isinstance(content, str):
        return (Part("text", text=content),) if content else ()
    if not isinstance(content, list):
        raise wrong_type(param, "a string or an array of content parts", content)
    return tuple(_content_part(item, f"{param}[{i}]", role) for i, item in enumerate(content))


def _content_part(item: Any, p: str, role: str) -> Part:
    if isinstance(item, str):  # tolerated by the OpenAI API for text
        return Part("text", text=item)
    if not isinstance(item, dict):
        raise wrong_type(p, "a content part object", item)
    kind = string(item, "type", f"{p}.type", required=True) or ""
    reader = _PART_READERS.get(kind)
    if reader is None:
        raise _unsupported_part(kind, p)
    return reader(item, p, role)


def _text_part(item: dict[str, Any], p: str, role: str) -> Part:
    return Part("text", text=string(item, "text", f"{p}.text", required=True) or "")


def _image_part(item: dict[str, Any], p: str, role: str) -> Part:
    if role != "user":
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
    return Part("image", url=url, detail=detail)


def _refusal_part(item: dict[str, Any], p: str, role: str) -> Part:
    if role != "assistant":  # refusal parts exist only in assistant messages
        raise _unsupported_part("refusal", p)
    return Part("text", text=string(item, "refusal", f"{p}.refusal") or "")


def _unsupported_part(kind: str, p: str) -> APIError:
    return invalid_request(f"Unsupported content part type '{kind}' in '{p}.type'.", param=f"{p}.type",
                           code="unsupported_content_type")


# Content part type -> reader(part, param, role) of that part.
_PART_READERS: dict[str, Callable[[dict[str, Any], str, str], Part]] = {
    "text": _text_part, "image_url": _image_part, "refusal": _refusal_part,
}


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
    messages = _messages(data.get("messages"))
    max_tokens, max_tokens_param = _max_tokens(data)
    stop = _stop(data.get("stop"))
    stream = boolean(data, "stream") or False
    include_usage = _include_usage(data.get("stream_options"))
    tools, tool_choice, tool_choice_name = _tools_and_choice(data)
    logprobs, top_logprobs = _logprobs(data)
    return ChatRequest(
        model=model.strip(),
        messages=messages,
        max_tokens=max_tokens,
        max_tokens_param=max_tokens_param,
        temperature=number(data, "temperature", minimum=0, maximum=2),
        top_p=number(data, "top_p", minimum=0, maximum=1),
        top_k=integer(data, "top_k", minimum=-1),
        stop=stop,
        frequency_penalty=number(data, "frequency_penalty", minimum=-2, maximum=2),
        presence_penalty=number(data, "presence_penalty", minimum=-2, maximum=2),
        seed=integer(data, "seed"),
        n=integer(data, "n", minimum=1, maximum=MAX_N),
        logprobs=logprobs,
        top_logprobs=top_logprobs,
        logit_bias=_logit_bias(data.get("logit_bias")),
        response_format=_response_format(data.get("response_format")),
        tools=tools,
        tool_choice=tool_choice,
        tool_choice_name=tool_choice_name,
        parallel_tool_calls=boolean(data, "parallel_tool_calls"),
        reasoning_effort=_reasoning_effort(data.get("reasoning_effort")),
        metadata=_metadata(data.get("metadata")),
        stream=stream,
        include_usage=include_usage,
        raw=data,
    )


def _messages(value: Any) -> tuple[Message, ...]:
    if value is None:
        raise invalid_request("Missing required parameter: 'messages'.", param="messages",
                              code="missing_required_parameter")
    if not isinstance(value, list):
        raise wrong_type("messages", "an array", value)
    if not value:
        raise invalid_request("'messages' must contain at least one message.", param="messages", code="invalid_value")
    messages = tuple(_message(m, i) for i, m in enumerate(value))
    _check_tool_results(messages)
    return messages


def _max_tokens(data: dict[str, Any]) -> tuple[int | None, str | None]:
    """The output token limit and the parameter that set it (``max_completion_tokens`` wins)."""
    max_tokens = integer(data, "max_tokens", minimum=1)
    max_completion = integer(data, "max_completion_tokens", minimum=1)
    if max_tokens is not None and max_completion is not None and max_tokens != max_completion:
        raise invalid_request("Send either 'max_tokens' or 'max_completion_tokens', not both.",
                              param="max_completion_tokens", code="invalid_value")
    if max_completion is not None:
        return max_completion, "max_completion_tokens"
    return max_tokens, ("max_tokens" if max_tokens else None)


def _stop(value: Any) -> tuple[str, ...]:
    """``stop`` as a tuple of non-empty sequences; a string is one sequence."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value else ()
    if not isinstance(value, list):
        raise wrong_type("stop", "a string or an array of strings", value)
    for i, s in enumerate(value):
        if not isinstance(s, str):
            raise wrong_type(f"stop[{i}]", "a string", s)
    if len(value) > MAX_STOP_SEQUENCES:
        raise invalid_request(f"'stop' accepts at most {MAX_STOP_SEQUENCES} sequences.", param="stop",
                              code="invalid_value")
    return tuple(s for s in value if s)


def _include_usage(stream_options: Any) -> bool:
    if stream_options is None:
        return False
    if not isinstance(stream_options, dict):
        raise wrong_type("stream_options", "an object", stream_options)
    return bool(boolean(stream_options, "include_usage", "stream_options.include_usage"))


def _tools_and_choice(data: dict[str, Any]) -> tuple[tuple[ToolSpec, ...], str | None, str | None]:
    """``tools`` and ``tool_choice`` (its kind and function name), checked against each other."""
    tool_choice, tool_choice_name = _tool_choice(data.get("tool_choice"))
    tools = _tools(data.get("tools"))
    if tool_choice_name is not None and tools and tool_choice_name not in {t.name for t in tools}:
        raise invalid_request(f"tool_choice names function '{tool_choice_name}', which is not in 'tools'.",
                              param="tool_choice", code="invalid_value")
    if tool_choice in ("required", "function") and not tools:
        raise invalid_request("tool_choice requires 'tools'.", param="tool_choice", code="invalid_value")
    return tools, tool_choice, tool_choice_name


def _logprobs(data: dict[str, Any]) -> tuple[bool | None, int | None]:
    logprobs = boolean(data, "logprobs")
    top_logprobs = integer(data, "top_logprobs", minimum=0, maximum=20)
    if top_logprobs is not None and not logprobs:
        raise invalid_request("'top_logprobs' requires 'logprobs': true.", param="top_logprobs",
                              code="invalid_value")
    return logprobs, top_logprobs


def _check_tool_results(messages: tuple[Message, ...]) -> None:
    """Every tool result must answer a call of the assistant message before it (OCI rejects it otherwise)."""
    open_calls: set[str] = set()
    for i, message in enumerate(messages):
        if message.role == "assistant":
            open_calls = {c.id for c in message.tool_calls}
        elif message.role == "tool":
            if message.tool_call_id not in open_calls:
                raise invalid_request(
                    f"messages[{i}] is a tool result for tool_call_id {message.tool_call_id!r}, but the preceding "
                    "assistant message has no tool call with that id"
                    + (f" (it has: {', '.join(sorted(open_calls))})." if open_calls else "."),
                    param=f"messages[{i}].tool_call_id", code="invalid_tool_call_id")
        else:
            open_calls = set()


MAX_N = 8
MAX_TOOLS = 128
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_EFFORTS = {"none": "NONE", "disable": "NONE", "minimal": "MINIMAL", "low": "LOW", "medium": "MEDIUM",
            "high": "HIGH"}


def _tools(value: Any) -> tuple[ToolSpec, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise wrong_type("tools", "an array", value)
    if len(value) > MAX_TOOLS:
        raise invalid_request(f"'tools' accepts at most {MAX_TOOLS} functions.", param="tools", code="invalid_value")
    specs = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        p = f"tools[{i}]"
        if not isinstance(item, dict):
            raise wrong_type(p, "a tool object", item)
        kind = item.get("type")
        if kind != "function":
            raise invalid_request(
                f"Unsupported tool type {kind!r} in '{p}.type': OCI Generative AI models can only call "
                "functions (type 'function').", param=f"{p}.type", code="unsupported_tool_type")
        function = item.get("function")
        if not isinstance(function, dict):
            raise wrong_type(f"{p}.function", "an object", function)
        name = string(function, "name", f"{p}.function.name", required=True) or ""
        if not _TOOL_NAME.match(name):
            raise invalid_request(f"Invalid '{p}.function.name': {name!r}; use letters, digits, '_' or '-', "
                                  "at most 64 characters.", param=f"{p}.function.name", code="invalid_value")
        if name in seen:
            raise invalid_request(f"Duplicate function name {name!r} in 'tools'.", param=f"{p}.function.name",
                                  code="invalid_value")
        seen.add(name)
        parameters = function.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            raise wrong_type(f"{p}.function.parameters", "a JSON schema object", parameters)
        specs.append(ToolSpec(name, string(function, "description", f"{p}.function.description"), parameters,
                              boolean(function, "strict", f"{p}.function.strict")))
    return tuple(specs)


def _tool_choice(value: Any) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    if isinstance(value, str):
        if value in ("auto", "none", "required"):
            return value, None
        raise invalid_request(f"Invalid 'tool_choice': {value!r}; expected 'auto', 'none', 'required' or a "
                              "function object.", param="tool_choice", code="invalid_value")
    if isinstance(value, dict):
        if value.get("type") != "function":
            raise invalid_request("Invalid 'tool_choice.type': only 'function' is supported.",
                                  param="tool_choice.type", code="invalid_value")
        function = value.get("function")
        if not isinstance(function, dict):
            raise wrong_type("tool_choice.function", "an object", function)
        return "function", string(function, "name", "tool_choice.function.name", required=True, non_empty=True)
    raise wrong_type("tool_choice", "a string or an object", value)


def _response_format(value: Any) -> ResponseFormat | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise wrong_type("response_format", "an object", value)
    kind = value.get("type")
    if kind in ("text", "json_object"):
        return ResponseFormat(kind)
    if kind == "json_schema":
        spec = value.get("json_schema")
        if not isinstance(spec, dict):
            raise wrong_type("response_format.json_schema", "an object", spec)
        name = string(spec, "name", "response_format.json_schema.name", required=True, non_empty=True)
        schema = spec.get("schema")
        if schema is not None and not isinstance(schema, dict):
            raise wrong_type("response_format.json_schema.schema", "a JSON schema object", schema)
        return ResponseFormat("json_schema", name=name,
                              description=string(spec, "description", "response_format.json_schema.description"),
                              schema=schema, strict=boolean(spec, "strict", "response_format.json_schema.strict"))
    raise invalid_request(f"Invalid 'response_format.type': {kind!r}; expected 'text', 'json_object' or "
                          "'json_schema'.", param="response_format.type", code="invalid_value")


def _reasoning_effort(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value.lower() not in _EFFORTS:
        raise invalid_request(f"Invalid 'reasoning_effort': {value!r}; expected one of "
                              "'minimal', 'low', 'medium', 'high', 'none' or 'disable'.", param="reasoning_effort",
                              code="invalid_value")
    return _EFFORTS[value.lower()]


def _logit_bias(value: Any) -> dict[str, float] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise wrong_type("logit_bias", "an object mapping token ids to biases", value)
    out: dict[str, float] = {}
    for key, bias in value.items():
        if not str(key).lstrip("-").isdigit():
            raise invalid_request(f"Invalid 'logit_bias' key {key!r}: expected a token id.", param="logit_bias",
                                  code="invalid_value")
        if isinstance(bias, bool) or not isinstance(bias, (int, float)) or not -100 <= bias <= 100:
            raise invalid_request(f"Invalid 'logit_bias' value for {key}: expected a number from -100 to 100.",
                                  param="logit_bias", code="invalid_value")
        out[str(key)] = bias
    return out


def _metadata(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise wrong_type("metadata", "an object", value)
    if len(value) > 16:
        raise invalid_request("'metadata' accepts at most 16 pairs.", param="metadata", code="invalid_value")
    for key, item in value.items():
        if not isinstance(item, str) or len(key) > 64 or len(item) > 512:
            raise invalid_request("'metadata' values must be strings (keys ≤ 64, values ≤ 512 characters).",
                                  param="metadata", code="invalid_value")
    return dict(value)
