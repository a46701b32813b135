"""OpenAI chat <-> OCI ``COHERE`` (Cohere v1 chat API: Command R, R+, A).

Pure translation, data in and data out. Cohere v1 does not take a list of messages:
the system prompt is ``preambleOverride``, the turn being answered is ``message`` and
everything before it is ``chatHistory`` (USER / CHATBOT / TOOL entries). Tool calls have
no ids on the wire (they are ``{name, parameters}`` with parameters as an object), so the
ids an OpenAI client sees are synthesized deterministically and a follow-up request is
mapped back by position and name, never by id.

In an agentic continuation (the conversation ends with tool results after the last user
turn) Cohere v1 wants ``message: ""`` with the final results as top-level ``toolResults``
and the user's question left where it was in the history; moving the question after the
results (as LiteLLM does) makes the model answer a question it has already answered.

What v1 cannot express (images, thinking, forced tool choice, nested tool schemas...)
is reported by :func:`needs_v2`, so Command A models can move to COHEREV2 and Command
R models answer a 400 naming the cause.
"""

from __future__ import annotations

import json
import re
from typing import Any

from core.catalog import ModelInfo
from core.chat.common import created_timestamp, finish_reason, tool_call_id, usage
from core.chat.common import sampling_fields as common_sampling_fields
from core.chat.request import ChatRequest, Message, ResponseFormat, ToolCall, ToolSpec
from core.chat.schema import SchemaError, simplify_schema
from core.errors import invalid_request

# JSON schema type -> the Python type name Cohere v1 ``parameterDefinitions`` expect.
_PY_TYPES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "object": "Dict",
             "array": "List"}
# Cohere v1 tool names: letters, digits and '_', not starting with a digit.
_V1_TOOL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Schema keywords folded into a parameter's description (v1 has no place for them).
_FOLDED = (("enum", "Allowed values"), ("const", "Must be"), ("format", "Format"), ("pattern", "Pattern"),
           ("minLength", "Minimum length"), ("maxLength", "Maximum length"), ("minItems", "Minimum items"),
           ("maxItems", "Maximum items"), ("default", "Default"))
_RANGE = (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<"))
TOP_K_MAX = 500
EMPTY_TEXT = " "
"""Cohere rejects empty messages; one space is the smallest text it accepts."""


# ---------------------------------------------------------------- what v1 cannot express


class _NotV1(Exception):
    """A request feature COHERE v1 has no field for; ``param`` is where the caller sent it."""

    def __init__(self, reason: str, param: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.param = param


def _v1_blocker(request: ChatRequest) -> _NotV1 | None:
    for i, message in enumerate(request.messages):
        if any(p.type == "image" for p in message.parts):
            return _NotV1("image content needs the COHEREV2 format", f"messages[{i}].content")
    if request.reasoning_effort not in (None, "NONE"):
        return _NotV1("reasoning_effort (thinking) needs the COHEREV2 format", "reasoning_effort")
    if request.tool_choice in ("required", "function"):
        return _NotV1("forcing a tool call (tool_choice) needs the COHEREV2 format", "tool_choice")
    if request.logprobs:
        return _NotV1("logprobs needs the COHEREV2 format", "logprobs")
    shape = _conversation_shape(request.messages)
    if isinstance(shape, _NotV1):
        return shape
    if request.tool_choice != "none":
        for i, tool in enumerate(request.tools):
            p = f"tools[{i}].function"
            if not _V1_TOOL_NAME.match(tool.name):
                return _NotV1(f"tool name {tool.name!r} has characters Cohere v1 does not accept (letters, digits "
                              "and '_' only, not starting with a digit)", f"{p}.name")
            try:
                _parameter_definitions(tool.parameters, f"{p}.parameters")
            except SchemaError:
                continue  # no format can take it: the translator answers the 400
            except _NotV1 as problem:
                return problem
    return None


def needs_v2(request: ChatRequest) -> str | None:
    """Why this request cannot be expressed in COHERE v1 (so it must go COHEREV2), or None."""
    problem = _v1_blocker(request)
    return problem.reason if problem else None


# ---------------------------------------------------------------- tools


def _type_name(schema: dict[str, Any], param: str) -> str:
    """The Cohere/Python type name of a (simplified) JSON schema; raises _NotV1 for nested structure."""
    kind = schema.get("type")
    if kind is None:  # untyped: infer what we can
        if "properties" in schema:
            kind = "object"
        elif "items" in schema:
            kind = "array"
        elif isinstance(schema.get("enum"), list) and schema["enum"]:
            kind = _json_type(schema["enum"][0])
        else:
            kind = "string"
    if kind == "object":
        if schema.get("properties"):
            raise _NotV1(f"'{param}' is an object with its own properties, which Cohere v1's flat "
                         "parameterDefinitions cannot describe (nested tool schemas need the COHEREV2 format)",
                         param)
        return "Dict"
    if kind == "array":
        items = schema.get("items")
        if isinstance(items, dict) and items:
            return f"List[{_type_name(items, param + '.items')}]"
        return "List"
    if kind not in _PY_TYPES:
        raise _NotV1(f"'{param}' has type {kind!r}, which Cohere v1 cannot describe", param)
    return _PY_TYPES[kind]


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


def _describe(schema: dict[str, Any]) -> str:
    """The property's description with the constraints v1 cannot carry folded in as text."""
    notes: list[str] = []
    description = schema.get("description")
    if isinstance(description, str) and description.strip():
        notes.append(description.strip().rstrip("."))
    for key, label in _FOLDED:
        if key in schema:
            value = schema[key]
            shown = ", ".join(json.dumps(v) for v in value) if key == "enum" and isinstance(value, list) \
                else json.dumps(value) if not isinstance(value, str) else value
            notes.append(f"{label}: {shown}")
    bounds = [f"{op} {schema[key]}" for key, op in _RANGE if key in schema]
    if bounds:
        notes.append("Range: " + ", ".join(bounds))
    items = schema.get("items")
    if isinstance(items, dict) and isinstance(items.get("enum"), list):
        notes.append("Allowed item values: " + ", ".join(json.dumps(v) for v in items["enum"]))
    return ". ".join(notes)


def _parameter_definitions(parameters: dict[str, Any] | None, param: str) -> dict[str, dict[str, Any]]:
    """Flat v1 ``parameterDefinitions`` for a JSON schema; SchemaError / _NotV1 when impossible."""
    schema = simplify_schema(parameters)
    if schema.get("type", "object") != "object":
        raise _NotV1(f"'{param}' must be an object schema for Cohere v1", param)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict) and extra and not schema.get("properties"):
        raise _NotV1(f"'{param}' describes free-form arguments (additionalProperties), which Cohere v1 cannot",
                     param)
    required = set(schema.get("required") or ())
    definitions: dict[str, dict[str, Any]] = {}
    for name, sub in (schema.get("properties") or {}).items():
        sub = sub if isinstance(sub, dict) else {}
        definition: dict[str, Any] = {"type": _type_name(sub, f"{param}.properties.{name}")}
        description = _describe(sub)
        if description:
            definition["description"] = description
        definition["isRequired"] = name in required
        definitions[name] = definition
    return definitions


def _cohere_tool(tool: ToolSpec, index: int) -> dict[str, Any]:
    param = f"tools[{index}].function.parameters"
    try:
        definitions = _parameter_definitions(tool.parameters, param)
    except SchemaError as err:
        raise invalid_request(f"Invalid schema for function '{tool.name}': {err}.", param=param,
                              code="invalid_function_parameters") from None
    out: dict[str, Any] = {"name": tool.name, "description": tool.description or tool.name}
    if definitions:
        out["parameterDefinitions"] = definitions
    return out


# ---------------------------------------------------------------- messages


def _conversation_shape(messages: tuple[Message, ...]) -> tuple[list[int], int, list[int]] | _NotV1:
    """Split the non-system messages: (history indices, index of ``message`` or -1, trailing tool results)."""
    turns = [i for i, m in enumerate(messages) if m.role not in ("system", "developer")]
    users = [i for i in turns if messages[i].role == "user"]
    if not users:
        return _NotV1("Cohere v1 needs at least one user message", "messages")
    last_user = users[-1]
    after = [i for i in turns if i > last_user]
    if not after:
        return [i for i in turns if i < last_user], last_user, []
    if messages[after[-1]].role != "tool":
        return _NotV1("the conversation ends with an assistant message after the last user message, which Cohere v1 "
                      "cannot continue", f"messages[{after[-1]}]")
    results = _trailing_tool_results(messages, after)
    return [i for i in turns if i < results[0]], -1, results


def _trailing_tool_results(messages: tuple[Message, ...], indices: list[int]) -> list[int]:
    """The indices at the end of ``indices`` whose messages are tool results, in order."""
    results: list[int] = []
    for i in reversed(indices):
        if messages[i].role != "tool":
            break
        results.insert(0, i)
    return results


def _arguments(call: ToolCall, param: str) -> dict[str, Any]:
    """A tool call's JSON-string arguments as the object Cohere v1 wants."""
    if not call.arguments.strip():
        return {}
    try:
        value = json.loads(call.arguments)
    except ValueError:
        raise invalid_request(f"'{param}' is not valid JSON.", param=param, code="invalid_value") from None
    if not isinstance(value, dict):
        raise invalid_request(f"'{param}' must be a JSON object for Cohere models.", param=param,
                              code="invalid_value")
    return value


def _tool_output(text: str) -> dict[str, Any]:
    """A tool result as one Cohere output object: a JSON object stays one, anything else is wrapped."""
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    return value if isinstance(value, dict) else {"output": text}


def _history(request: ChatRequest, indices: list[int]) -> list[dict[str, Any]]:
    messages = request.messages
    history: list[dict[str, Any]] = []
    calls: dict[str, dict[str, Any]] = {}
    previous_role = ""
    for i in indices:
        message = messages[i]
        if message.role == "user":
            history.append({"role": "USER", "message": message.text or EMPTY_TEXT})
        elif message.role == "assistant":
            calls = _calls_of(message, i)
            entry: dict[str, Any] = {"role": "CHATBOT"}
            if message.text:
                entry["message"] = message.text
            elif not message.tool_calls:
                entry["message"] = EMPTY_TEXT
            if message.tool_calls:
                entry["toolCalls"] = [calls[c.id] for c in message.tool_calls]
            history.append(entry)
        elif message.role == "tool":
            result = _tool_result(message, calls)
            if previous_role == "tool":
                history[-1]["toolResults"].append(result)  # parallel results: one TOOL entry
            else:
                history.append({"role": "TOOL", "toolResults": [result]})
        previous_role = message.role
    return history


def _calls_of(message: Message, index: int) -> dict[str, dict[str, Any]]:
    """The assistant's calls in v1 shape, by OpenAI id (ids exist only on our side of the wire)."""
    return {c.id: {"name": c.name, "parameters": _arguments(c, f"messages[{index}].tool_calls[{j}].function.arguments")}
            for j, c in enumerate(message.tool_calls)}


def _tool_result(message: Message, calls: dict[str, dict[str, Any]]) -> dict[str, Any]:
    # parse_chat_request guarantees the id names a call of the preceding assistant message.
    return {"call": calls[message.tool_call_id or ""], "outputs": [_tool_output(message.text)]}


def _preamble(messages: tuple[Message, ...]) -> str:
    return "\n".join(m.text for m in messages if m.role in ("system", "developer") and m.text)


def cohere_response_format(response_format: ResponseFormat | None) -> dict[str, Any] | None:
    """OpenAI ``response_format`` as Cohere's (v1 and v2 share it; JSON schemas ride in JSON_OBJECT)."""
    if response_format is None or response_format.type == "text":
        return None
    out: dict[str, Any] = {"type": "JSON_OBJECT"}
    if response_format.type == "json_schema" and response_format.schema:
        try:
            out["schema"] = simplify_schema(response_format.schema)
        except SchemaError as err:
            raise invalid_request(f"Invalid 'response_format.json_schema.schema': {err}.",
                                  param="response_format.json_schema.schema", code="invalid_value") from None
    return out


def sampling_fields(request: ChatRequest, max_tokens: int | None) -> dict[str, Any]:
    """The sampling parameters v1 and v2 spell the same way."""
    body: dict[str, Any] = {}
    if max_tokens is not None:
        body["maxTokens"] = max_tokens
    body.update(common_sampling_fields(request))
    if request.top_k is not None:
        if request.top_k > TOP_K_MAX:
            raise invalid_request(f"'top_k' must be at most {TOP_K_MAX} for Cohere models.", param="top_k",
                                  code="invalid_value")
        body["topK"] = max(request.top_k, 0)  # -1 ("off" elsewhere) is Cohere's 0
    if request.stop:
        body["stopSequences"] = list(request.stop)
    response_format = cohere_response_format(request.response_format)
    if response_format is not None:
        body["responseFormat"] = response_format
    return body


def to_cohere_chat_request(request: ChatRequest, info: ModelInfo, *, max_tokens: int | None) -> dict[str, Any]:
    """The ``chatRequest`` object for a COHERE (v1) model; a 400 for what v1 cannot express."""
    problem = _v1_blocker(request)
    if problem is not None:
        raise invalid_request(f"{problem.reason}; {info.id or request.model} is served in OCI's COHERE (v1) chat "
                              "format here, which cannot express it.", param=problem.param,
                              code="unsupported_for_model")
    shape = _conversation_shape(request.messages)
    assert not isinstance(shape, _NotV1)  # _v1_blocker checked it
    history_indices, message_index, result_indices = shape
    body: dict[str, Any] = {"apiFormat": "COHERE"}
    if message_index >= 0:
        body["message"] = request.messages[message_index].text or EMPTY_TEXT
    else:
        body["message"] = ""  # agentic continuation: the results below are this turn's input
    history = _history(request, history_indices)
    if history:
        body["chatHistory"] = history
    if result_indices:
        last_assistant = max(i for i in history_indices if request.messages[i].role == "assistant")
        calls = _calls_of(request.messages[last_assistant], last_assistant)
        body["toolResults"] = [_tool_result(request.messages[i], calls) for i in result_indices]
    preamble = _preamble(request.messages)
    if preamble:
        body["preambleOverride"] = preamble
    if request.tools and request.tool_choice != "none":
        body["tools"] = [_cohere_tool(tool, i) for i, tool in enumerate(request.tools)]
    body.update(sampling_fields(request, max_tokens))
    return body


# ---------------------------------------------------------------- response


def completion(*, response_id: str, model: str, message: dict[str, Any], finish: str, oci_usage: Any,
               logprobs: Any = None) -> dict[str, Any]:
    """An OpenAI ``chat.completion`` with one choice (Cohere answers one generation per request)."""
    return {
        "id": response_id,
        "object": "chat.completion",
        "created": created_timestamp(None),  # Cohere responses carry no timestamp
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": logprobs, "finish_reason": finish}],
        "usage": usage(oci_usage),
        "system_fingerprint": None,
    }


def from_cohere_chat_response(result: dict[str, Any], *, model: str, response_id: str) -> dict[str, Any]:
    """An OpenAI ``chat.completion`` from OCI's ``ChatResult`` with a COHERE ``chatResponse``."""
    chat = result.get("chatResponse") or {}
    tool_calls = []
    for position, call in enumerate(chat.get("toolCalls") or []):
        if not isinstance(call, dict):
            continue
        name = str(call.get("name") or "")
        parameters = call.get("parameters")
        arguments = json.dumps(parameters if parameters is not None else {}, ensure_ascii=False)
        tool_calls.append({"id": tool_call_id(name, arguments, position), "type": "function",
                           "function": {"name": name, "arguments": arguments}})
    text = chat.get("text")
    text = text if isinstance(text, str) else ""
    message: dict[str, Any] = {"role": "assistant", "content": text or (None if tool_calls else ""),
                               "refusal": None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return completion(response_id=response_id, model=model, message=message,
                      finish=finish_reason(chat.get("finishReason"), bool(tool_calls)), oci_usage=chat.get("usage"))

