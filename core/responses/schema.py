"""The shape of a Responses API request, declared once as msgspec structs.

Only this route imports msgspec (about 10 ms on top of what the gateway already loads; pydantic would cost
ten times that, see docs/decisions.md). Every union is tagged by ``type``, so a wrong or unknown item, part,
tool or format type is reported at its exact path (``input[3].type``). Nested objects ignore fields they do
not name (clients replay items with extra fields such as ``id`` and ``status``); the top level refuses unknown
parameters, as OpenAI does.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

import msgspec
from msgspec import Meta, Struct

# --------------------------------------------------------------------------------------------- content parts


class InputText(Struct, tag="input_text", tag_field="type", kw_only=True):
    text: str


class InputImage(Struct, tag="input_image", tag_field="type", kw_only=True):
    image_url: str | None = None
    file_id: str | None = None
    detail: Literal["auto", "low", "high", "original"] | None = None


class InputFile(Struct, tag="input_file", tag_field="type", kw_only=True):
    file_id: str | None = None
    filename: str | None = None


class OutputText(Struct, tag="output_text", tag_field="type", kw_only=True):
    text: str


class Refusal(Struct, tag="refusal", tag_field="type", kw_only=True):
    refusal: str


MessagePart = Union[InputText, InputImage, InputFile, OutputText, Refusal]
ToolOutputPart = Union[InputText, InputImage, InputFile]
ToolOutput = Union[str, list[ToolOutputPart]]

# --------------------------------------------------------------------------------------------- input items


class Message(Struct, tag="message", tag_field="type", kw_only=True):
    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[MessagePart]


class FunctionCall(Struct, tag="function_call", tag_field="type", kw_only=True):
    call_id: str
    name: str
    arguments: str | dict[str, Any] = ""


class FunctionCallOutput(Struct, tag="function_call_output", tag_field="type", kw_only=True):
    call_id: str
    output: ToolOutput


class CustomToolCall(Struct, tag="custom_tool_call", tag_field="type", kw_only=True):
    call_id: str
    name: str
    input: str


class CustomToolCallOutput(Struct, tag="custom_tool_call_output", tag_field="type", kw_only=True):
    call_id: str
    output: ToolOutput


class ExecAction(Struct, tag="exec", tag_field="type", kw_only=True):
    command: list[str]
    env: dict[str, str] | None = None
    timeout_ms: int | None = None
    user: str | None = None
    working_directory: str | None = None


class LocalShellCall(Struct, tag="local_shell_call", tag_field="type", kw_only=True):
    action: ExecAction
    call_id: str | None = None
    id: str | None = None


class LocalShellCallOutput(Struct, tag="local_shell_call_output", tag_field="type", kw_only=True):
    output: str
    call_id: str | None = None
    id: str | None = None


class Reasoning(Struct, tag="reasoning", tag_field="type", kw_only=True):
    """Replayed reasoning: accepted and dropped on bridged models (OCI chat has no input for it)."""


class ItemReference(Struct, tag="item_reference", tag_field="type", kw_only=True):
    id: str


class FileSearchCall(Struct, tag="file_search_call", tag_field="type", kw_only=True):
    """A hosted tool's record replayed by the client: accepted and dropped (the model never sees it)."""


class WebSearchCall(Struct, tag="web_search_call", tag_field="type", kw_only=True):
    """A hosted tool's record replayed by the client (Codex replays them): accepted and dropped."""


Item = Union[Message, FunctionCall, FunctionCallOutput, CustomToolCall, CustomToolCallOutput, LocalShellCall,
             LocalShellCallOutput, Reasoning, ItemReference, FileSearchCall, WebSearchCall]
CALL_ITEMS = (FunctionCall, CustomToolCall, LocalShellCall)
OUTPUT_ITEMS = (FunctionCallOutput, CustomToolCallOutput, LocalShellCallOutput)
DROPPED_ITEMS = (Reasoning, FileSearchCall, WebSearchCall)

# --------------------------------------------------------------------------------------------- tools


class FunctionTool(Struct, tag="function", tag_field="type", kw_only=True):
    name: str
    parameters: dict[str, Any] | None = None
    strict: bool | None = None
    description: str | None = None


class GrammarFormat(Struct, tag="grammar", tag_field="type", kw_only=True):
    definition: str
    syntax: Literal["lark", "regex"]


class TextInputFormat(Struct, tag="text", tag_field="type", kw_only=True):
    pass


class CustomTool(Struct, tag="custom", tag_field="type", kw_only=True):
    name: str
    description: str | None = None
    format: TextInputFormat | GrammarFormat | None = None


class LocalShellTool(Struct, tag="local_shell", tag_field="type", kw_only=True):
    pass


class FileSearchTool(Struct, tag="file_search", tag_field="type", kw_only=True):
    vector_store_ids: list[str]
    max_num_results: Annotated[int, Meta(ge=1, le=50)] | None = None
    filters: dict[str, Any] | None = None
    ranking_options: dict[str, Any] | None = None


class McpTool(Struct, tag="mcp", tag_field="type", kw_only=True):
    server_label: str | None = None


HOSTED_TOOL_TYPES = ("web_search", "web_search_preview", "web_search_2025_08_26", "web_search_preview_2025_03_11",
                     "code_interpreter", "computer_use_preview", "computer", "image_generation", "shell",
                     "apply_patch", "tool_search", "namespace", "programmatic_tool_calling")
"""Tools that run on OpenAI's side (or a client protocol OCI chat has no equivalent for): always skipped here."""


class Tagged(Struct, kw_only=True):
    """A struct known by its ``type`` tag alone."""

    @property
    def kind(self) -> str:
        return str(type(self).__struct_config__.tag)


class HostedTool(Tagged, kw_only=True):
    """A tool this gateway cannot run for a bridged model."""


_HOSTED: tuple[type, ...] = tuple(
    msgspec.defstruct(f"Hosted_{name}", [], bases=(HostedTool,), tag=name, tag_field="type", kw_only=True)
    for name in HOSTED_TOOL_TYPES
)
Tool = Union[(FunctionTool, CustomTool, LocalShellTool, FileSearchTool, McpTool) + _HOSTED]  # type: ignore[valid-type]

# --------------------------------------------------------------------------------------------- tool choice


class ChoiceFunction(Struct, tag="function", tag_field="type", kw_only=True):
    name: str


class ChoiceCustom(Struct, tag="custom", tag_field="type", kw_only=True):
    name: str


class ChoiceAllowed(Struct, tag="allowed_tools", tag_field="type", kw_only=True):
    mode: Literal["auto", "required"]
    tools: list[dict[str, Any]]


class ChoiceHosted(Tagged, kw_only=True):
    """``{"type": "<hosted tool>"}``: forces a tool this gateway may not run."""


_CHOICE_HOSTED: tuple[type, ...] = tuple(
    msgspec.defstruct(f"Choice_{name}", [], bases=(ChoiceHosted,), tag=name, tag_field="type", kw_only=True)
    for name in ("file_search", "local_shell", "mcp") + HOSTED_TOOL_TYPES
)
ToolChoice = Union[(Literal["none", "auto", "required"], ChoiceFunction, ChoiceCustom,  # type: ignore[valid-type]
                    ChoiceAllowed) + _CHOICE_HOSTED]

# --------------------------------------------------------------------------------------------- text and reasoning


class FormatText(Struct, tag="text", tag_field="type", kw_only=True):
    pass


class FormatJsonObject(Struct, tag="json_object", tag_field="type", kw_only=True):
    pass


class FormatJsonSchema(Struct, tag="json_schema", tag_field="type", kw_only=True):
    name: str
    schema: dict[str, Any]
    description: str | None = None
    strict: bool | None = None


class TextConfig(Struct, kw_only=True):
    format: FormatText | FormatJsonObject | FormatJsonSchema | None = None
    verbosity: Literal["low", "medium", "high"] | None = None


class ReasoningConfig(Struct, kw_only=True):
    effort: str | None = None
    summary: Literal["auto", "concise", "detailed"] | None = None
    generate_summary: Literal["auto", "concise", "detailed"] | None = None


class StreamOptions(Struct, kw_only=True):
    include_obfuscation: bool | None = None


Includable = Literal["file_search_call.results", "web_search_call.results", "web_search_call.action.sources",
                     "message.input_image.image_url", "computer_call_output.output.image_url",
                     "code_interpreter_call.outputs", "reasoning.encrypted_content", "message.output_text.logprobs"]
MetadataKey = Annotated[str, Meta(max_length=64)]
MetadataValue = Annotated[str, Meta(max_length=512)]

# --------------------------------------------------------------------------------------------- the request


class CreateRequest(Struct, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/responses``. ``None`` means "not sent" for every optional field."""

    model: str
    input: str | list[Item] | None = None
    instructions: str | None = None
    tools: list[Tool] | None = None  # type: ignore[valid-type]
    tool_choice: ToolChoice | None = None  # type: ignore[valid-type]
    parallel_tool_calls: bool | None = None
    text: TextConfig | None = None
    reasoning: ReasoningConfig | None = None
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_logprobs: Annotated[int, Meta(ge=0, le=20)] | None = None
    metadata: Annotated[dict[MetadataKey, MetadataValue], Meta(max_length=16)] | None = None
    user: str | None = None
    store: bool | None = None
    previous_response_id: str | None = None
    include: list[Includable] | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    background: bool | None = None
    # Sent by real clients (Codex, the Agents SDK); nothing here for OCI to act on.
    prompt_cache_key: str | None = None
    prompt_cache_retention: str | None = None
    prompt_cache_options: dict[str, Any] | None = None
    safety_identifier: str | None = None
    service_tier: str | None = None
    truncation: Literal["auto", "disabled"] | None = None
    max_tool_calls: Annotated[int, Meta(ge=1)] | None = None
    client_metadata: dict[str, str] | None = None
    access_programs: Any = None
    # OpenAI features this gateway does not offer: a 400 names them when they carry a value.
    conversation: Any = None
    prompt: Any = None
    context_management: Any = None
    moderation: Any = None
    image: Any = None
    background_options: Any = None


IGNORED_FIELDS = ("stream_options", "prompt_cache_key", "prompt_cache_retention", "prompt_cache_options",
                  "safety_identifier", "service_tier", "truncation", "max_tool_calls", "user", "client_metadata",
                  "access_programs")
"""Accepted top-level parameters OCI has no use for: named in ``x-gateway-ignored-params`` when sent."""
UNSUPPORTED_FIELDS = ("conversation", "prompt", "context_management", "moderation", "image", "background_options")
