"""A Responses request as an OpenAI chat completion request, for the chat core to run on any OCI model.

Pure. The chat body this builds goes through the same parsing, limits, per-model parameter rules and format
translation as ``/v1/chat/completions``, so a model behaves the same on both routes. Items map as follows:

* ``instructions`` -> a leading system message (never carried over from a stored response, as in OpenAI);
  the passages a ``file_search`` tool retrieved follow it as a second system message;
* ``message`` items -> messages of their role (``input_text``/``output_text`` -> text parts, ``input_image``
  -> image parts, fetched through the same SSRF-fenced fetcher as chat when they are URLs);
* ``function_call``/``custom_tool_call``/``local_shell_call`` -> tool calls of an assistant message (consecutive
  calls, and the assistant text before them, share one message); their ``*_output`` items -> tool messages;
* ``reasoning`` and hosted-tool records -> dropped (OCI chat has no input for them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from core.catalog import GENERIC, ModelInfo
from core.errors import invalid_request
from core.responses.params import CALL_FIELDS, MESSAGE_FIELDS, OUTPUT_FIELDS, TOOL_FIELDS, ParamMap, Source
from core.responses.schema import (DROPPED_ITEMS, IGNORED_FIELDS, CreateRequest, CustomToolCall, CustomToolCallOutput,
                                   FormatJsonObject, FormatJsonSchema, FormatText, FunctionCall, FunctionCallOutput,
                                   InputFile, InputImage, InputText, ItemReference, LocalShellCall,
                                   LocalShellCallOutput, Message, OutputText, Refusal)
from core.responses.tools import CUSTOM_INPUT, LOCAL_SHELL_FUNCTION, ToolPlan

LOGPROBS_INCLUDE = "message.output_text.logprobs"


@dataclass
class ChatPlan:
    """The chat body for the chat core, where its fields came from, and what the bridge left unused."""

    body: dict[str, Any]
    params: ParamMap
    ignored: tuple[str, ...]


@dataclass
class _Conversation:
    messages: list[dict[str, Any]] = field(default_factory=list)
    params: ParamMap = field(default_factory=ParamMap)

    def add(self, message: dict[str, Any], source: Source) -> None:
        self.params.add(f"messages[{len(self.messages)}]", source)
        self.messages.append(message)

    def call(self, call: dict[str, Any], source: Source) -> None:
        """A tool call joins the assistant message right before it (text or calls), else opens one."""
        last = self.messages[-1] if self.messages else None
        if last is None or last["role"] != "assistant":
            self.add({"role": "assistant", "content": None}, source)
            last = self.messages[-1]
        calls = last.setdefault("tool_calls", [])
        self.params.add(f"messages[{len(self.messages) - 1}].tool_calls[{len(calls)}]", source)
        calls.append(call)


def chat_plan(request: CreateRequest, history: list[Any], tools: ToolPlan, info: ModelInfo,
              context: str | None = None) -> ChatPlan:
    """The chat body for ``request``, after ``history`` (the stored conversation ``previous_response_id`` names);
    ``context`` (what ``file_search`` retrieved) is a system message after the instructions."""
    conversation = _Conversation()
    if request.instructions:
        conversation.add({"role": "system", "content": request.instructions}, Source("instructions", whole=True))
    if context is not None and tools.file_search is not None:
        conversation.add({"role": "system", "content": context}, Source(tools.file_search.param("type"), whole=True))
    for item in history:
        _add_item(item, Source("previous_response_id", whole=True), conversation)
    if isinstance(request.input, str):
        conversation.add({"role": "user", "content": request.input}, Source("input", whole=True))
    else:
        for index, item in enumerate(request.input or ()):
            _add_item(item, Source(f"input[{index}]"), conversation)
    body: dict[str, Any] = {"model": request.model, "messages": conversation.messages}
    body.update(_tool_fields(request, tools, conversation.params))
    body.update(_generation_fields(request, info))
    return ChatPlan(body, conversation.params, ignored_params(request, info))


# --------------------------------------------------------------------------------------------- items


def _add_item(item: Any, source: Source, conversation: _Conversation) -> None:
    if isinstance(item, DROPPED_ITEMS):
        return
    reader = _ITEM_READERS.get(type(item))
    if reader is None:
        raise invalid_request(f"'{source.param}' is an item_reference: send the item itself, or continue a stored "
                              "response with 'previous_response_id'.", param=source.param,
                              code="unsupported_input_item")
    reader(item, source, conversation)


def _message(item: Message, source: Source, conversation: _Conversation) -> None:
    content: Any = item.content
    if isinstance(content, list):
        content = [_part(part, f"{source.param}.content[{j}]") for j, part in enumerate(content)]
    conversation.add({"role": item.role, "content": content}, Source(source.param, MESSAGE_FIELDS, source.whole))


def _part(part: Any, param: str) -> dict[str, Any]:
    if isinstance(part, (InputText, OutputText)):
        return {"type": "text", "text": part.text}
    if isinstance(part, Refusal):
        return {"type": "refusal", "refusal": part.refusal}
    if isinstance(part, InputImage):
        return _image(part, param)
    assert isinstance(part, InputFile)
    raise invalid_request(f"'{param}' is an input_file: files are not supported by this gateway's bridge to OCI "
                          "chat; send the text as input_text.", param=param, code="unsupported_content_type")


def _image(part: InputImage, param: str) -> dict[str, Any]:
    if part.image_url is None:
        reason = "images by file_id are not supported" if part.file_id else "it has no image_url"
        raise invalid_request(f"Invalid '{param}': {reason}; send image_url (an http(s) URL or a data URI).",
                              param=f"{param}.image_url", code="invalid_image")
    image: dict[str, Any] = {"url": part.image_url}
    if part.detail in ("auto", "low", "high"):
        image["detail"] = part.detail
    return {"type": "image_url", "image_url": image}


def _arguments(value: str | dict[str, Any]) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _function_call(item: FunctionCall, source: Source, conversation: _Conversation) -> None:
    conversation.call({"id": item.call_id, "type": "function",
                       "function": {"name": item.name, "arguments": _arguments(item.arguments)}},
                      Source(source.param, CALL_FIELDS, source.whole))


def _custom_call(item: CustomToolCall, source: Source, conversation: _Conversation) -> None:
    arguments = json.dumps({CUSTOM_INPUT: item.input}, ensure_ascii=False)
    conversation.call({"id": item.call_id, "type": "function",
                       "function": {"name": item.name, "arguments": arguments}},
                      Source(source.param, CALL_FIELDS, source.whole))


def _shell_call_id(item: LocalShellCall | LocalShellCallOutput, source: Source) -> str:
    """A local shell call or result names its call by ``call_id`` (or, in OpenAI's older shape, ``id``)."""
    call_id = item.call_id or item.id
    if not call_id:
        raise invalid_request(f"Missing required parameter: '{source.param}.call_id'.",
                              param=f"{source.param}.call_id", code="missing_required_parameter")
    return call_id


def _shell_call(item: LocalShellCall, source: Source, conversation: _Conversation) -> None:
    call_id = _shell_call_id(item, source)
    action = {name: getattr(item.action, name) for name in ("command", "working_directory", "timeout_ms", "env",
                                                            "user") if getattr(item.action, name) is not None}
    conversation.call({"id": call_id, "type": "function",
                       "function": {"name": LOCAL_SHELL_FUNCTION, "arguments": json.dumps(action)}},
                      Source(source.param, CALL_FIELDS, source.whole))


def _output(item: FunctionCallOutput | CustomToolCallOutput, source: Source, conversation: _Conversation) -> None:
    conversation.add({"role": "tool", "tool_call_id": item.call_id, "content": _tool_output(item.output, source)},
                     Source(source.param, OUTPUT_FIELDS, source.whole))


def _shell_output(item: LocalShellCallOutput, source: Source, conversation: _Conversation) -> None:
    conversation.add({"role": "tool", "tool_call_id": _shell_call_id(item, source), "content": item.output},
                     Source(source.param, OUTPUT_FIELDS, source.whole))


def _tool_output(output: str | list[Any], source: Source) -> str | list[dict[str, Any]]:
    """A tool result as chat tool content: text, or text parts (images and files have no place there)."""
    if isinstance(output, str):
        return output
    parts = []
    for j, part in enumerate(output):
        if not isinstance(part, InputText):
            param = source.param if source.whole else f"{source.param}.output[{j}]"
            raise invalid_request(f"'{param}' is not text: tool results on OCI chat models can only be text.",
                                  param=param, code="unsupported_content_type")
        parts.append({"type": "text", "text": part.text})
    return parts


# Item struct type -> reader(item, source, conversation).
_ITEM_READERS: dict[type, Callable[[Any, Source, _Conversation], None]] = {
    Message: _message, FunctionCall: _function_call, CustomToolCall: _custom_call, LocalShellCall: _shell_call,
    FunctionCallOutput: _output, CustomToolCallOutput: _output, LocalShellCallOutput: _shell_output,
}
assert ItemReference not in _ITEM_READERS  # answered by _add_item's error

# --------------------------------------------------------------------------------------------- fields


def _tool_fields(request: CreateRequest, tools: ToolPlan, params: ParamMap) -> dict[str, Any]:
    """tools, tool_choice and parallel_tool_calls; the last two only when a chat tool remains."""
    for position, source in enumerate(tools.sources):
        params.add(f"tools[{position}]", Source(f"tools[{source}]", TOOL_FIELDS))
    if not tools.chat_tools:
        return {"tool_choice": tools.choice} if tools.choice == "required" else {}
    fields: dict[str, Any] = {"tools": list(tools.chat_tools)}
    if tools.choice is not None:
        fields["tool_choice"] = tools.choice
    if request.parallel_tool_calls is not None:
        fields["parallel_tool_calls"] = request.parallel_tool_calls
    return fields


def _generation_fields(request: CreateRequest, info: ModelInfo) -> dict[str, Any]:
    fields: dict[str, Any] = {"stream": bool(request.stream)}
    for chat_name, value in (("max_completion_tokens", request.max_output_tokens),
                             ("temperature", request.temperature), ("top_p", request.top_p)):
        if value is not None:
            fields[chat_name] = value
    if request.reasoning is not None and request.reasoning.effort is not None:
        fields["reasoning_effort"] = request.reasoning.effort
    text = request.text
    if text is not None and text.format is not None:
        fields["response_format"] = _response_format(text.format)
    if text is not None and text.verbosity is not None and info.api_format == GENERIC:
        fields["verbosity"] = text.verbosity
    if LOGPROBS_INCLUDE in (request.include or ()) or request.top_logprobs:
        fields["logprobs"] = True
        if request.top_logprobs:
            fields["top_logprobs"] = request.top_logprobs
    return fields


def _response_format(value: Any) -> dict[str, Any]:
    if isinstance(value, FormatText):
        return {"type": "text"}
    if isinstance(value, FormatJsonObject):
        return {"type": "json_object"}
    assert isinstance(value, FormatJsonSchema)
    spec: dict[str, Any] = {"name": value.name, "schema": value.schema}
    if value.description is not None:
        spec["description"] = value.description
    if value.strict is not None:
        spec["strict"] = value.strict
    return {"type": "json_schema", "json_schema": spec}


def ignored_params(request: CreateRequest, info: ModelInfo) -> tuple[str, ...]:
    """The parameters the caller sent that change nothing on OCI (``x-gateway-ignored-params``)."""
    names = [name for name in IGNORED_FIELDS if getattr(request, name) is not None]
    reasoning = request.reasoning
    if reasoning is not None and (reasoning.summary is not None or reasoning.generate_summary is not None):
        names.append("reasoning.summary")
    if request.text is not None and request.text.verbosity is not None and info.api_format != GENERIC:
        names.append("text.verbosity")
    return tuple(names)
