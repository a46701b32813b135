"""Scripted tool calling: which tools the emulated model calls, and with which arguments.

A real model decides on its own; tests need to decide for it. The rules (pure functions):

* The model calls tools only when the request declares tools, the turn being answered is a
  USER turn (not a tool result) and the tool choice allows it.
* ``call:<name>`` directives in the user text pick the tools, in order, as parallel calls
  (``"call:get_weather call:get_time"``). A directive may carry its arguments as inline JSON:
  ``call:get_weather{"city": "Paris"}``. Unknown names are ignored. ``call:none`` makes the
  model answer text under ``AUTO`` (a ``REQUIRED`` choice still forces a call).
* Without directives the model calls the first declared tool.
* Arguments not given inline are synthesized from the tool's JSON schema: every *required*
  property gets a value (strings: first enum value, else the last word of the user text, else
  ``"x"``; integers/numbers 1; booleans true; arrays []; objects {} or, when they declare
  required properties themselves, a nested synthesized object).
* ``isParallelToolCalls: false`` keeps only the first call.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

_DIRECTIVE = re.compile(r"call:([A-Za-z0-9_.-]+)")
_WORD = re.compile(r"[A-Za-z0-9_]+")
_DECODER = json.JSONDecoder()
NO_TOOLS_DIRECTIVE = "none"

# Cohere v1 parameter types are Python type names; map them back to JSON-schema types.
_PYTHON_TO_JSON = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "list": "array",
    "dict": "object",
}


@dataclass(frozen=True)
class ToolSpec:
    """A declared tool in neutral form: its name and a JSON schema for its arguments."""

    name: str
    schema: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ToolChoice:
    """Neutral tool choice: ``mode`` is ``auto``, ``none``, ``required`` or ``function``."""

    mode: str = "auto"
    name: str | None = None


@dataclass(frozen=True)
class Directive:
    """One ``call:<name>`` in the user text, with inline JSON arguments if any."""

    name: str
    arguments: dict[str, Any] | None = None


@dataclass(frozen=True)
class PlannedCall:
    """A call the model will make (ids are assigned by the response builder)."""

    name: str
    arguments: dict[str, Any]


def parse_directives(text: str) -> list[Directive]:
    """Every ``call:<name>`` (optionally followed directly by a JSON object) in ``text``."""
    found: list[Directive] = []
    for match in _DIRECTIVE.finditer(text):
        arguments = None
        if text[match.end() : match.end() + 1] == "{":
            try:
                value, _ = _DECODER.raw_decode(text, match.end())
            except json.JSONDecodeError:
                value = None
            if isinstance(value, dict):
                arguments = value
        found.append(Directive(match.group(1), arguments))
    return found


def strip_directives(text: str) -> str:
    """The user text without its directives (and their inline JSON), for echoing and word picks."""
    out, position = [], 0
    for match in _DIRECTIVE.finditer(text):
        out.append(text[position : match.start()])
        position = match.end()
        if text[position : position + 1] == "{":
            try:
                _, position = _DECODER.raw_decode(text, position)
            except json.JSONDecodeError:
                pass
    out.append(text[position:])
    return " ".join("".join(out).split())


def pick_word(text: str) -> str:
    """The last word of the (directive-free) user text: "weather in Paris?" -> "Paris"."""
    words = _WORD.findall(strip_directives(text))
    return words[-1] if words else "x"


def synthesize(schema: Mapping[str, Any] | None, word: str = "x") -> Any:
    """A value that satisfies ``schema``'s type and required properties, deterministically."""
    schema = schema or {}
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if isinstance(kind, list):  # ["string", "null"]: the first non-null type
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "string":
        return word
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        properties = schema.get("properties") or {}
        return {name: synthesize(properties.get(name), word) for name in schema.get("required") or []}
    return None


def cohere_v1_schema(parameter_definitions: Mapping[str, Any] | None) -> dict[str, Any]:
    """A JSON schema equivalent of Cohere v1 ``parameterDefinitions`` (flat, typed by Python name)."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, definition in (parameter_definitions or {}).items():
        python_type = str(definition.get("type", "str")).split("[")[0].lower()
        properties[name] = {"type": _PYTHON_TO_JSON.get(python_type, "string")}
        if definition.get("isRequired"):
            required.append(name)
    return {"type": "object", "properties": properties, "required": required}


def plan_calls(
    tools: list[ToolSpec], choice: ToolChoice, user_text: str, *, parallel: bool = True
) -> list[PlannedCall]:
    """The calls the model makes for this USER turn; empty means "answer with text"."""
    if not tools or choice.mode == "none":
        return []
    by_name = {tool.name: tool for tool in tools}
    directives = parse_directives(user_text)
    word = pick_word(user_text)

    def call(tool: ToolSpec, arguments: dict[str, Any] | None) -> PlannedCall:
        return PlannedCall(tool.name, arguments if arguments is not None else synthesize(tool.schema, word))

    if choice.mode == "function":
        tool = by_name.get(choice.name or "")
        if tool is None:
            return []
        inline = next((d.arguments for d in directives if d.name == tool.name and d.arguments is not None), None)
        return [call(tool, inline)]
    wanted = [d for d in directives if d.name in by_name]
    opted_out = any(d.name == NO_TOOLS_DIRECTIVE for d in directives)
    if not wanted:
        if opted_out and choice.mode != "required":
            return []
        wanted = [Directive(tools[0].name)]
    calls = [call(by_name[d.name], d.arguments) for d in wanted]
    return calls if parallel else calls[:1]


# --- reading tools and choices out of each apiFormat -------------------------------------------


def generic_tools(chat: Mapping[str, Any]) -> list[ToolSpec]:
    return [ToolSpec(t.get("name") or "", t.get("parameters") or {}) for t in chat.get("tools") or []]


def generic_choice(chat: Mapping[str, Any]) -> ToolChoice:
    choice = chat.get("toolChoice") or {}
    kind = str(choice.get("type", "AUTO")).lower()
    return ToolChoice(kind, choice.get("name")) if kind in ("none", "required", "function") else ToolChoice()


def cohere_tools(chat: Mapping[str, Any]) -> list[ToolSpec]:
    return [ToolSpec(t["name"], cohere_v1_schema(t.get("parameterDefinitions"))) for t in chat.get("tools") or []]


def cohere_v2_tools(chat: Mapping[str, Any]) -> list[ToolSpec]:
    tools = []
    for tool in chat.get("tools") or []:
        function = tool.get("function") or {}
        tools.append(ToolSpec(function.get("name") or "", function.get("parameters") or {}))
    return tools


def cohere_v2_choice(chat: Mapping[str, Any]) -> ToolChoice:
    value = chat.get("toolsChoice")
    return ToolChoice(value.lower()) if value in ("NONE", "REQUIRED") else ToolChoice()
