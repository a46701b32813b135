"""Responses tools on a bridged model: which become chat functions, which are skipped, and how calls come back.

Pure. Each tool type has one planner in ``_PLANNERS``:

* ``function`` tools become chat functions unchanged;
* ``custom`` (freeform) tools, which Codex uses for ``apply_patch``, become functions with one string parameter
  ``input`` (the grammar, if any, is told to the model in its description); calls come back as
  ``custom_tool_call`` items;
* ``local_shell`` becomes a function ``local_shell`` taking the exec action; calls come back as
  ``local_shell_call`` items;
* every hosted tool (``web_search``, ``code_interpreter``, ``mcp``, ``file_search``...) is skipped and named in
  ``x-gateway-skipped-tools``; forcing one with ``tool_choice`` is a 400 that names it.

``file_search`` is run by the gateway itself when it has vector stores (``plan_tools(..., file_search=True)``):
it is checked and kept in ``ToolPlan.file_search`` (no chat tool); the search runs before the model is called.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from core.errors import invalid_request
from core.responses import file_search as searching
from core.responses.schema import (ChoiceAllowed, ChoiceCustom, ChoiceFunction, ChoiceHosted, CustomTool,
                                   FileSearchTool, FunctionTool, GrammarFormat, HostedTool, LocalShellTool, McpTool)

FUNCTION = "function"
CUSTOM = "custom"
LOCAL_SHELL = "local_shell"
LOCAL_SHELL_FUNCTION = "local_shell"
"""The chat function a ``local_shell`` tool becomes (and the name its calls come back under)."""

LOCAL_SHELL_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "command": {"type": "array", "items": {"type": "string"},
                    "description": "The command and its arguments, e.g. [\"ls\", \"-la\"]."},
        "working_directory": {"type": "string", "description": "Directory to run the command in."},
        "timeout_ms": {"type": "integer", "description": "Time limit for the command, in milliseconds."},
        "env": {"type": "object", "description": "Extra environment variables (names to values)."},
        "user": {"type": "string", "description": "User to run the command as."},
    },
    "required": ["command"],
}
LOCAL_SHELL_DESCRIPTION = "Run a shell command on the user's machine and get its output."
CUSTOM_INPUT = "input"
"""The one parameter of the function a custom tool becomes."""


@dataclass(frozen=True)
class ToolPlan:
    """What the chat request carries for the caller's tools, and how to read its calls back."""

    chat_tools: tuple[dict[str, Any], ...] = ()
    kinds: Mapping[str, str] = field(default_factory=dict)
    """Chat function name -> ``function``, ``custom`` or ``local_shell``."""
    sources: tuple[int, ...] = ()
    """Index in the caller's ``tools`` of each chat tool."""
    skipped: tuple[str, ...] = ()
    """Hosted tool types left out, in the order the caller listed them."""
    choice: str | dict[str, Any] | None = None
    """The chat ``tool_choice``."""
    file_search: searching.FileSearchPlan | None = None
    """The ``file_search`` tool the gateway runs (None when there is none, or the gateway has no stores)."""


@dataclass
class _Builder:
    chat_tools: list[dict[str, Any]] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)
    sources: list[int] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    run_file_search: bool = False
    file_search: searching.FileSearchPlan | None = None

    def add(self, name: str, kind: str, function: dict[str, Any], index: int) -> None:
        if name in self.kinds:
            raise invalid_request(f"Duplicate tool name {name!r} in 'tools'.", param=f"tools[{index}].name",
                                  code="invalid_value")
        self.kinds[name] = kind
        self.chat_tools.append({"type": "function", "function": function})
        self.sources.append(index)

    def skip(self, kind: str) -> None:
        if kind not in self.skipped:
            self.skipped.append(kind)


def _function(tool: FunctionTool, index: int, builder: _Builder) -> None:
    function: dict[str, Any] = {"name": tool.name, "parameters": tool.parameters}
    if tool.description:
        function["description"] = tool.description
    if tool.strict is not None:
        function["strict"] = tool.strict
    builder.add(tool.name, FUNCTION, function, index)


def custom_input_description(tool: CustomTool) -> str:
    """What the model is told about a freeform tool's ``input``: raw text, and the grammar it must follow."""
    text = "The tool's raw input, as plain text (not JSON)."
    if isinstance(tool.format, GrammarFormat):
        kind = "Lark grammar" if tool.format.syntax == "lark" else "regular expression"
        text += f" It must match this {kind}:\n{tool.format.definition}"
    return text


def _custom(tool: CustomTool, index: int, builder: _Builder) -> None:
    function: dict[str, Any] = {
        "name": tool.name,
        "parameters": {"type": "object",
                       "properties": {CUSTOM_INPUT: {"type": "string", "description": custom_input_description(tool)}},
                       "required": [CUSTOM_INPUT]},
    }
    if tool.description:
        function["description"] = tool.description
    builder.add(tool.name, CUSTOM, function, index)


def _local_shell(tool: LocalShellTool, index: int, builder: _Builder) -> None:
    builder.add(LOCAL_SHELL_FUNCTION, LOCAL_SHELL, {"name": LOCAL_SHELL_FUNCTION, "description": LOCAL_SHELL_DESCRIPTION,
                                                    "parameters": LOCAL_SHELL_PARAMETERS}, index)


def _file_search(tool: FileSearchTool, index: int, builder: _Builder) -> None:
    if not builder.run_file_search:
        builder.skip(hosted_kind(tool))
        return
    if builder.file_search is not None:
        raise invalid_request("'tools' may hold one file_search tool (it can name several vector stores).",
                              param=f"tools[{index}]", code="invalid_value")
    builder.file_search = searching.plan(tool, index)


def _skipped(tool: Any, index: int, builder: _Builder) -> None:
    builder.skip(hosted_kind(tool))


def hosted_kind(tool: Any) -> str:
    """The type name of a hosted tool (``mcp`` tools by their server label too)."""
    if isinstance(tool, McpTool):
        return f"mcp:{tool.server_label}" if tool.server_label else "mcp"
    if isinstance(tool, FileSearchTool):
        return "file_search"
    return tool.kind if isinstance(tool, HostedTool) else type(tool).__name__


# Tool struct type -> planner(tool, index in 'tools', builder).
_PLANNERS: dict[type, Callable[[Any, int, _Builder], None]] = {
    FunctionTool: _function, CustomTool: _custom, LocalShellTool: _local_shell,
    FileSearchTool: _file_search, McpTool: _skipped,
}


def plan_tools(tools: list[Any] | None, tool_choice: Any, *, file_search: bool = False) -> ToolPlan:
    """The chat tools and ``tool_choice`` for the caller's tools; a choice that cannot be honoured is a 400.

    ``file_search``: whether the gateway runs ``file_search`` tools itself (it has vector stores).
    """
    builder = _Builder(run_file_search=file_search)
    for index, tool in enumerate(tools or ()):
        _PLANNERS.get(type(tool), _skipped)(tool, index, builder)
    chat_tools, sources = builder.chat_tools, builder.sources
    choice: str | dict[str, Any] | None
    if isinstance(tool_choice, ChoiceAllowed):
        keep = _allowed_names(tool_choice, builder)
        kept = [(tool, source) for tool, source in zip(chat_tools, sources) if tool["function"]["name"] in keep]
        chat_tools, sources = [t for t, _ in kept], [s for _, s in kept]
        choice = tool_choice.mode
    else:
        choice = _choice(tool_choice, builder)
    if builder.file_search is not None and not chat_tools and choice == "required":
        choice = None  # the search the gateway runs is the required tool call
    if choice == "required" and not chat_tools and builder.skipped:
        raise invalid_request(f"'tool_choice' requires a tool call, but the only tools are hosted tools this gateway "
                              f"skips ({', '.join(builder.skipped)}).", param="tool_choice",
                              code="unsupported_tool_choice")
    search = builder.file_search if choice != "none" else None  # "none": no tool runs, the gateway's neither
    return ToolPlan(tuple(chat_tools), dict(builder.kinds), tuple(sources), tuple(builder.skipped), choice, search)


def _choice(tool_choice: Any, builder: _Builder) -> str | dict[str, Any] | None:
    if tool_choice is None or isinstance(tool_choice, str):
        return tool_choice
    if isinstance(tool_choice, (ChoiceFunction, ChoiceCustom)):
        kind = FUNCTION if isinstance(tool_choice, ChoiceFunction) else CUSTOM
        if builder.kinds.get(tool_choice.name) != kind:
            raise invalid_request(f"'tool_choice' names the {kind} tool {tool_choice.name!r}, which is not in "
                                  "'tools'.", param="tool_choice.name", code="invalid_value")
        return {"type": "function", "function": {"name": tool_choice.name}}
    assert isinstance(tool_choice, ChoiceHosted)
    if tool_choice.kind == LOCAL_SHELL and builder.kinds.get(LOCAL_SHELL_FUNCTION) == LOCAL_SHELL:
        return {"type": "function", "function": {"name": LOCAL_SHELL_FUNCTION}}
    if tool_choice.kind == "file_search" and builder.file_search is not None:
        return None  # the gateway always runs it, before the model answers
    raise invalid_request(f"'tool_choice' forces the hosted tool '{tool_choice.kind}', which this gateway cannot run "
                          "for this model (it is skipped).", param="tool_choice", code="unsupported_tool_choice")


def _allowed_names(choice: ChoiceAllowed, builder: _Builder) -> set[str]:
    """The chat function names an ``allowed_tools`` choice keeps (hosted entries keep nothing)."""
    names: set[str] = set()
    for entry in choice.tools:
        kind, name = entry.get("type"), entry.get("name")
        if kind in (FUNCTION, CUSTOM) and isinstance(name, str):
            names.add(name)
        elif kind == LOCAL_SHELL:
            names.add(LOCAL_SHELL_FUNCTION)
    return names & set(builder.kinds)
