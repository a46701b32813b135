"""Reject request bodies OCI Generative AI would reject, with OCI's 400 shape.

Two layers, both data-driven so later issues extend them by adding table rows or rules:

1. **Shapes**: field tables transcribed from the ``oci`` SDK's model classes: JSON
   type, required, enum, nested shape, and discriminated unions (``apiFormat``, ``role``,
   ``type``, ``servingType``). Object shapes are *closed* where the SDK model is exhaustive, so a
   translator that sends ``max_tokens`` or ``image_url`` fails here exactly as it would upstream.
   ``any``-typed fields (JSON schemas, metadata, documents) stay open.
2. **Rules**: semantic checks the tables cannot express (tool-call pairing, empty content,
   unsupported JSON-schema keywords, per-model embed options), registered per operation in
   ``BODY_RULES`` (body only) and ``MODEL_RULES`` (body plus the resolved model).

Everything here is pure: it raises :class:`RequestInvalid` and never touches I/O.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .models import CHAT, EMBED, RERANK, ModelSpec
from .wire import OciError

MAX_EMBED_INPUTS = 96
MAX_TOOLS = 128
MAX_EMBED_TOKENS_PER_INPUT = 512
UNSUPPORTED_SCHEMA_KEYWORDS = frozenset({"$ref", "$defs", "anyOf"})
INVALID_FUNCTION_SCHEMA = json.dumps(
    {"code": "Client specified an invalid argument", "error": "Invalid request content: Invalid function schema."},
    separators=(",", ":"),
)
_GENERIC_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class RequestInvalid(OciError):
    """A body OCI answers with 400 ``{"code": "400", "message": ...}``."""

    def __init__(self, message: str) -> None:
        super().__init__(400, "400", message)


# ---------------------------------------------------------------------------------------------
# Shape language


@dataclass(frozen=True)
class F:
    """One field: JSON ``type`` (string/integer/number/boolean/array/object/any), and constraints.

    ``items`` types array elements; ``shape`` types an object; ``values`` types a map's values.
    """

    type: str
    required: bool = False
    enum: tuple[str, ...] | None = None
    items: "F | None" = None
    shape: "Shape | Union_ | None" = None
    values: "F | None" = None


@dataclass(frozen=True)
class Shape:
    """An object with known fields; ``closed`` rejects keys not in ``fields``."""

    name: str
    fields: Mapping[str, F]
    closed: bool = True


@dataclass(frozen=True)
class Union_:
    """A polymorphic object: ``discriminator`` selects one of ``variants``."""

    name: str
    discriminator: str
    variants: Mapping[str, Shape]


def _shape(shape_name: str, closed: bool = True, /, **fields: F) -> Shape:
    return Shape(shape_name, fields, closed)


def _variant(shape_name: str, discriminator: str, allowed: tuple[str, ...], fields: Mapping[str, F]) -> Shape:
    return Shape(shape_name, {discriminator: F("string", True, allowed), **fields})


def _union(name: str, discriminator: str, variants: Mapping[str, Mapping[str, F]]) -> Union_:
    allowed = tuple(variants)
    return Union_(
        name, discriminator, {k: _variant(f"{name}.{k}", discriminator, allowed, v) for k, v in variants.items()}
    )


def _obj(shape: Shape | Union_, required: bool = False) -> F:
    return F("object", required, shape=shape)


def _arr(items: F, required: bool = False) -> F:
    return F("array", required, items=items)


S = F("string")
I = F("integer")
N = F("number")
B = F("boolean")
ANY = F("any")
OPEN_OBJECT = F("object")

# --- shared -----------------------------------------------------------------------------------
SERVING_MODE = _union(
    "ServingMode",
    "servingType",
    {"ON_DEMAND": {"modelId": F("string", True)}, "DEDICATED": {"endpointId": F("string", True)}},
)
STREAM_OPTIONS = _shape("StreamOptions", isIncludeUsage=B)
_DETAIL = F("string", enum=("AUTO", "HIGH", "LOW"))


def _url(name: str) -> Shape:
    return _shape(name, url=F("string", True), detail=_DETAIL)


# --- GENERIC ------------------------------------------------------------------------------------
CHAT_CONTENT = _union(
    "ChatContent",
    "type",
    {
        "TEXT": {"text": S},
        "IMAGE": {"imageUrl": _obj(_url("ImageUrl"), True)},
        "AUDIO": {"audioUrl": _obj(_url("AudioUrl"), True)},
        "VIDEO": {"videoUrl": _obj(_url("VideoUrl"), True)},
        "DOCUMENT": {"documentUrl": _obj(_url("DocumentUrl"), True)},
    },
)
TOOL_CALL = _union(
    "ToolCall", "type", {"FUNCTION": {"id": F("string", True), "name": S, "arguments": S}}
)
_CONTENT = _arr(_obj(CHAT_CONTENT))
GENERIC_MESSAGE = _union(
    "Message",
    "role",
    {
        "SYSTEM": {"content": _CONTENT, "name": S},
        "DEVELOPER": {"content": _CONTENT, "name": S},
        "USER": {"content": _CONTENT, "name": S},
        "ASSISTANT": {
            "content": _CONTENT,
            "name": S,
            "refusal": S,
            "toolCalls": _arr(_obj(TOOL_CALL)),
            "annotations": _arr(OPEN_OBJECT),
            "reasoningContent": S,
        },
        "TOOL": {"content": _CONTENT, "toolCallId": S},
    },
)
TOOL_DEFINITION = _union(
    "ToolDefinition", "type", {"FUNCTION": {"name": S, "description": S, "parameters": OPEN_OBJECT}}
)
TOOL_CHOICE = _union(
    "ToolChoice", "type", {"NONE": {}, "AUTO": {}, "REQUIRED": {}, "FUNCTION": {"name": S}}
)
RESPONSE_FORMAT = _union(
    "ResponseFormat",
    "type",
    {
        "TEXT": {},
        "JSON_OBJECT": {},
        "JSON_SCHEMA": {
            "jsonSchema": _obj(
                _shape("ResponseJsonSchema", name=F("string", True), description=S, schema=ANY, isStrict=B)
            )
        },
    },
)
PREDICTION = _union("Prediction", "type", {"CONTENT": {"content": _arr(_obj(CHAT_CONTENT))}})
WEB_SEARCH_OPTIONS = _shape(
    "WebSearchOptions",
    searchContextSize=F("string", enum=("HIGH", "MEDIUM", "LOW")),
    userLocation=_obj(_shape("ApproximateLocation", city=S, region=S, country=S, timezone=S)),
)
_API_FORMATS = ("COHERE", "COHEREV2", "GENERIC")
GENERIC_CHAT_REQUEST: dict[str, F] = {
    "messages": _arr(_obj(GENERIC_MESSAGE)),
    "reasoningEffort": F("string", enum=("NONE", "MINIMAL", "LOW", "MEDIUM", "HIGH")),
    "verbosity": F("string", enum=("LOW", "MEDIUM", "HIGH")),
    "metadata": OPEN_OBJECT,
    "isStream": B,
    "streamOptions": _obj(STREAM_OPTIONS),
    "numGenerations": I,
    "seed": I,
    "isEcho": B,
    "topK": I,
    "topP": N,
    "temperature": N,
    "frequencyPenalty": N,
    "presencePenalty": N,
    "stop": _arr(S),
    "logProbs": I,
    "maxTokens": I,
    "maxCompletionTokens": I,
    "logitBias": OPEN_OBJECT,
    "prediction": _obj(PREDICTION),
    "responseFormat": _obj(RESPONSE_FORMAT),
    "toolChoice": _obj(TOOL_CHOICE),
    "isParallelToolCalls": B,
    "tools": _arr(_obj(TOOL_DEFINITION)),
    "webSearchOptions": _obj(WEB_SEARCH_OPTIONS),
    "serviceTier": F("string", enum=("AUTO", "DEFAULT", "PRIORITY")),
}

# --- COHERE (v1) --------------------------------------------------------------------------------
COHERE_TOOL_CALL = _shape("CohereToolCall", name=F("string", True), parameters=F("any", True))
COHERE_TOOL_RESULT = _shape(
    "CohereToolResult", call=_obj(COHERE_TOOL_CALL, True), outputs=_arr(OPEN_OBJECT, True)
)
COHERE_MESSAGE = _union(
    "CohereMessage",
    "role",
    {
        "USER": {"message": F("string", True)},
        "SYSTEM": {"message": F("string", True)},
        "CHATBOT": {"message": S, "toolCalls": _arr(_obj(COHERE_TOOL_CALL))},
        "TOOL": {"toolResults": _arr(_obj(COHERE_TOOL_RESULT), True)},
    },
)
COHERE_RESPONSE_FORMAT = _union("CohereResponseFormat", "type", {"TEXT": {}, "JSON_OBJECT": {"schema": ANY}})
COHERE_PARAMETER = _shape("CohereParameterDefinition", description=S, type=F("string", True), isRequired=B)
COHERE_TOOL = _shape(
    "CohereTool",
    name=F("string", True),
    description=F("string", True),
    parameterDefinitions=F("object", values=_obj(COHERE_PARAMETER)),
)
_SAFETY = F("string", enum=("CONTEXTUAL", "STRICT", "OFF"))
_COHERE_COMMON: dict[str, F] = {
    "documents": _arr(ANY),
    "responseFormat": _obj(COHERE_RESPONSE_FORMAT),
    "isSearchQueriesOnly": B,
    "isStream": B,
    "streamOptions": _obj(STREAM_OPTIONS),
    "maxTokens": I,
    "temperature": N,
    "topK": I,
    "topP": N,
    "frequencyPenalty": N,
    "presencePenalty": N,
    "seed": I,
    "stopSequences": _arr(S),
    "isRawPrompting": B,
    "safetyMode": _SAFETY,
}
COHERE_CHAT_REQUEST: dict[str, F] = {
    **_COHERE_COMMON,
    "message": F("string", True),
    "chatHistory": _arr(_obj(COHERE_MESSAGE)),
    "preambleOverride": S,
    "maxInputTokens": I,
    "promptTruncation": F("string", enum=("OFF", "AUTO_PRESERVE_ORDER")),
    "isEcho": B,
    "tools": _arr(_obj(COHERE_TOOL)),
    "toolResults": _arr(_obj(COHERE_TOOL_RESULT)),
    "isForceSingleStep": B,
    "citationQuality": F("string", enum=("ACCURATE", "FAST")),
}

# --- COHEREV2 -----------------------------------------------------------------------------------
COHERE_CONTENT_V2 = _union(
    "CohereContentV2",
    "type",
    {
        "TEXT": {"text": S},
        "IMAGE_URL": {"imageUrl": _obj(_url("CohereImageUrlV2"), True)},
        "DOCUMENT": {"document": ANY},
        "THINKING": {"thinking": S},
    },
)
COHERE_TOOL_CALL_V2 = _shape("CohereToolCallV2", id=S, type=F("string", enum=("FUNCTION",)), function=OPEN_OBJECT)
_V2_CONTENT = _arr(_obj(COHERE_CONTENT_V2))
COHERE_MESSAGE_V2 = _union(
    "CohereMessageV2",
    "role",
    {
        "USER": {"content": _arr(_obj(COHERE_CONTENT_V2), True)},
        "SYSTEM": {"content": _arr(_obj(COHERE_CONTENT_V2), True)},
        "ASSISTANT": {
            "content": _V2_CONTENT,
            "toolPlan": S,
            "toolCalls": _arr(_obj(COHERE_TOOL_CALL_V2)),
            "citations": _arr(OPEN_OBJECT),
        },
        "TOOL": {"content": _arr(_obj(COHERE_CONTENT_V2), True), "toolCallId": F("string", True)},
    },
)
COHERE_TOOL_V2 = _shape(
    "CohereToolV2",
    type=F("string", True, ("FUNCTION",)),
    function=_obj(_shape("Function", name=F("string", True), description=S, parameters=F("any", True)), True),
)
COHERE_CHAT_REQUEST_V2: dict[str, F] = {
    **_COHERE_COMMON,
    "messages": _arr(_obj(COHERE_MESSAGE_V2), True),
    "citationOptions": _obj(_shape("CitationOptionsV2", mode=F("string", enum=("FAST", "ACCURATE", "OFF")))),
    "toolsChoice": F("string", enum=("REQUIRED", "NONE")),
    "tools": _arr(_obj(COHERE_TOOL_V2)),
    "isStrictToolsEnabled": B,
    "isLogProbsEnabled": B,
    "thinking": _obj(_shape("CohereThinkingV2", type=F("string", True, ("ENABLED", "DISABLED")), tokenBudget=I)),
    "priority": I,
}

CHAT_REQUEST = _union(
    "BaseChatRequest",
    "apiFormat",
    {"GENERIC": GENERIC_CHAT_REQUEST, "COHERE": COHERE_CHAT_REQUEST, "COHEREV2": COHERE_CHAT_REQUEST_V2},
)
CHAT_DETAILS = _shape(
    "ChatDetails",
    compartmentId=F("string", True),
    servingMode=_obj(SERVING_MODE, True),
    chatRequest=_obj(CHAT_REQUEST, True),
)

# --- embedText ----------------------------------------------------------------------------------
EMBED_CONTENT = _union(
    "EmbedContent", "type", {"TEXT": {"text": S}, "IMAGE": {"imageUrl": _obj(_url("ImageUrl"), True)}}
)
EMBED_TEXT_DETAILS = _shape(
    "EmbedTextDetails",
    inputs=_arr(S),
    embedContents=_arr(_obj(EMBED_CONTENT)),
    servingMode=_obj(SERVING_MODE, True),
    compartmentId=F("string", True),
    isEcho=B,
    embeddingTypes=_arr(F("string", enum=("float", "int8", "uint8", "binary", "ubinary", "base64"))),
    outputDimensions=I,
    truncate=F("string", enum=("NONE", "START", "END")),
    inputType=F("string", enum=("SEARCH_DOCUMENT", "SEARCH_QUERY", "CLASSIFICATION", "CLUSTERING", "IMAGE")),
)

# --- rerankText ---------------------------------------------------------------------------------
RERANK_TEXT_DETAILS = _shape(
    "RerankTextDetails",
    input=F("string", True),
    compartmentId=F("string", True),
    servingMode=_obj(SERVING_MODE, True),
    documents=_arr(S, True),
    topN=I,
    isEcho=B,
    maxChunksPerDocument=I,
    maxTokensPerDocument=I,
)

# --- applyGuardrails -----------------------------------------------------------------------------
GUARDRAILS_INPUT = _union("GuardrailsInput", "type", {
    "TEXT": {"content": S, "languageCode": S},
    "IMAGE": {"imageUrl": _obj(_shape("GuardrailsImageUrl", url=F("string", True)))},
})
APPLY_GUARDRAILS_DETAILS = _shape(
    "ApplyGuardrailsDetails",
    input=_obj(GUARDRAILS_INPUT),
    multimodalInput=_arr(_obj(GUARDRAILS_INPUT)),
    guardrailConfigs=_obj(_shape(
        "GuardrailConfigs",
        contentModerationConfig=_obj(_shape("ContentModerationConfiguration", categories=_arr(S, True))),
        personallyIdentifiableInformationConfig=_obj(
            _shape("PersonallyIdentifiableInformationConfiguration", types=_arr(S, True))),
        promptInjectionConfig=_obj(_shape("PromptInjectionConfiguration")),
    ), True),
    guardrailVersionConfig=_obj(_shape("GuardrailVersionConfig", guardrailVersion=F("string", True))),
    compartmentId=F("string", True),
)
MODERATION_CATEGORIES = ("OVERALL", "BLOCKLIST")

# ---------------------------------------------------------------------------------------------
# Shape checking

_JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "any": lambda v: True,
}


def _check_value(value: Any, spec: F, path: str) -> None:
    if not _JSON_TYPES[spec.type](value):
        raise RequestInvalid(f"Invalid parameter: '{path}' must be of type {spec.type}.")
    if spec.enum is not None and value not in spec.enum:
        raise RequestInvalid(f"Invalid parameter: '{path}' value '{value}' is not one of [{', '.join(spec.enum)}].")
    if spec.items is not None:
        for index, item in enumerate(value):
            _check_value(item, spec.items, f"{path}[{index}]")
    if spec.values is not None:
        for key, item in value.items():
            _check_value(item, spec.values, f"{path}.{key}")
    if spec.shape is not None:
        check_object(value, spec.shape, path)


def check_object(value: Mapping[str, Any], shape: Shape | Union_, path: str = "") -> None:
    """Validate ``value`` against ``shape``; raise :class:`RequestInvalid` at the first problem.

    An explicit JSON ``null`` counts as absent, as in the SDK (it only sends null on purpose).
    """
    if isinstance(shape, Union_):
        key = shape.discriminator
        where = f"{path}.{key}" if path else key
        chosen = value.get(key)
        if chosen is None:
            raise RequestInvalid(f"Missing required parameter: '{where}'.")
        if not isinstance(chosen, str) or chosen not in shape.variants:
            raise RequestInvalid(
                f"Invalid parameter: '{where}' value '{chosen}' is not one of [{', '.join(shape.variants)}]."
            )
        shape = shape.variants[chosen]
    prefix = f"{path}." if path else ""
    if shape.closed:
        for key in value:
            if key not in shape.fields:
                raise RequestInvalid(f"Invalid parameter: unrecognized field '{prefix}{key}' for {shape.name}.")
    for key, spec in shape.fields.items():
        item = value.get(key)
        if item is None:
            if spec.required:
                raise RequestInvalid(f"Missing required parameter: '{prefix}{key}'.")
            continue
        _check_value(item, spec, f"{prefix}{key}")


# ---------------------------------------------------------------------------------------------
# Semantic rules

BodyRule = Callable[[Mapping[str, Any]], None]
ModelRule = Callable[[Mapping[str, Any], ModelSpec], None]


def _text_parts_empty(content: list[Mapping[str, Any]]) -> bool:
    """True when every part is a TEXT part with empty text (nothing for the model to read)."""
    return all(part.get("type") == "TEXT" and not part.get("text") for part in content)


def rule_generic_messages(chat: Mapping[str, Any]) -> None:
    """GENERIC needs messages, and content that is a non-empty array with something in it.

    OCI/Gemini fails on empty content (HTTP 500); only an ASSISTANT turn may omit
    content (the SDK's advice for tool-call turns is null content).
    """
    messages = chat.get("messages")
    if not messages:
        raise RequestInvalid("Invalid parameter: 'chatRequest.messages' must not be empty.")
    for index, message in enumerate(messages):
        content = message.get("content")
        where = f"chatRequest.messages[{index}].content"
        if content is None:
            if message.get("role") != "ASSISTANT":
                raise RequestInvalid(f"Missing required parameter: '{where}'.")
            if not message.get("toolCalls"):
                raise RequestInvalid(f"Invalid parameter: '{where}' is required when there are no toolCalls.")
            continue
        if not content:
            raise RequestInvalid(f"Invalid parameter: '{where}' must not be empty.")
        if _text_parts_empty(content):
            raise RequestInvalid(f"Invalid parameter: '{where}' must not be empty text.")


def _tool_call_ids(message: Mapping[str, Any]) -> set[str]:
    return {call.get("id") for call in message.get("toolCalls") or [] if isinstance(call, dict)}


def rule_tool_call_pairing(chat: Mapping[str, Any]) -> None:
    """Each TOOL message answers a call of the nearest preceding ASSISTANT message (OCI answers 400 otherwise).

    Parallel results arrive as consecutive TOOL messages, so earlier TOOL messages are skipped
    while looking for that ASSISTANT message.
    """
    messages = chat.get("messages") or []
    for index, message in enumerate(messages):
        if message.get("role") != "TOOL":
            continue
        call_id = message.get("toolCallId")
        previous = next(
            (m for m in reversed(messages[:index]) if m.get("role") != "TOOL"),
            None,
        )
        known = _tool_call_ids(previous) if previous and previous.get("role") == "ASSISTANT" else set()
        if call_id not in known:
            raise RequestInvalid(
                f"Invalid parameter: 'toolCallId' of '{call_id}' not found in 'toolCalls' of previous message."
            )


def _schema_has_unsupported(node: Any) -> bool:
    if isinstance(node, dict):
        return any(k in UNSUPPORTED_SCHEMA_KEYWORDS for k in node) or any(
            _schema_has_unsupported(v) for v in node.values()
        )
    if isinstance(node, list):
        return any(_schema_has_unsupported(v) for v in node)
    return False


def rule_generic_tools(chat: Mapping[str, Any]) -> None:
    """At most 128 tools, valid names, and parameter schemas without $ref/$defs/anyOf."""
    tools = chat.get("tools") or []
    if len(tools) > MAX_TOOLS:
        raise RequestInvalid(f"Invalid parameter: 'chatRequest.tools' has more than {MAX_TOOLS} functions.")
    for index, tool in enumerate(tools):
        name = tool.get("name")
        if name is not None and not _GENERIC_TOOL_NAME.match(name):
            raise RequestInvalid(
                f"Invalid parameter: 'chatRequest.tools[{index}].name' must match [A-Za-z0-9_-] "
                "and be at most 64 characters."
            )
        if _schema_has_unsupported(tool.get("parameters")):
            raise RequestInvalid(INVALID_FUNCTION_SCHEMA)


def rule_positive_counts(chat: Mapping[str, Any]) -> None:
    """Counts that must be at least 1 when given."""
    for key in ("maxTokens", "maxCompletionTokens", "numGenerations"):
        value = chat.get(key)
        if value is not None and value < 1:
            raise RequestInvalid(f"Invalid parameter: 'chatRequest.{key}' must be at least 1.")


def rule_coherev2_messages(chat: Mapping[str, Any]) -> None:
    """COHEREV2 needs messages; TOOL results pair with the preceding ASSISTANT's toolCalls."""
    messages = chat.get("messages") or []
    if not messages:
        raise RequestInvalid("Invalid parameter: 'chatRequest.messages' must not be empty.")
    for index, message in enumerate(messages):
        content = message.get("content")
        if content is not None and not content and message.get("role") != "ASSISTANT":
            raise RequestInvalid(f"Invalid parameter: 'chatRequest.messages[{index}].content' must not be empty.")
    rule_tool_call_pairing(chat)


def rule_embed_inputs(body: Mapping[str, Any]) -> None:
    """Exactly one of inputs/embedContents, non-empty, at most 96 entries, at most one image."""
    inputs, contents = body.get("inputs"), body.get("embedContents")
    if inputs is None and contents is None:
        raise RequestInvalid("Missing required parameter: one of 'inputs' or 'embedContents'.")
    if inputs is not None and contents is not None:
        raise RequestInvalid("Invalid parameter: provide only one of 'inputs' or 'embedContents'.")
    items = inputs if inputs is not None else contents
    if not items:
        raise RequestInvalid("Invalid parameter: 'inputs' must not be empty.")
    if len(items) > MAX_EMBED_INPUTS:
        raise RequestInvalid(
            f"Invalid parameter: 'inputs' has {len(items)} entries; a maximum of {MAX_EMBED_INPUTS} is allowed."
        )
    if contents is not None and sum(1 for c in contents if c.get("type") == "IMAGE") > 1:
        raise RequestInvalid("Invalid parameter: 'embedContents' may contain at most one image.")


def rule_embed_truncate(body: Mapping[str, Any]) -> None:
    """With ``truncate: NONE``, an input longer than 512 tokens is an error."""
    if body.get("truncate") != "NONE":
        return
    for index, text in enumerate(body.get("inputs") or []):
        if len(text.split()) > MAX_EMBED_TOKENS_PER_INPUT:
            raise RequestInvalid(
                f"Invalid parameter: 'inputs[{index}]' exceeds {MAX_EMBED_TOKENS_PER_INPUT} tokens "
                "and truncate is NONE."
            )


def rule_rerank_inputs(body: Mapping[str, Any]) -> None:
    """A query and at least one document; counts at least 1."""
    if not body["input"].strip():
        raise RequestInvalid("Invalid parameter: 'input' must not be empty.")
    if not body["documents"]:
        raise RequestInvalid("Invalid parameter: 'documents' must not be empty.")
    for key in ("topN", "maxChunksPerDocument", "maxTokensPerDocument"):
        value = body.get(key)
        if value is not None and value < 1:
            raise RequestInvalid(f"Invalid parameter: '{key}' must be at least 1.")


def rule_rerank_model(body: Mapping[str, Any], model: ModelSpec) -> None:
    if model.kind != RERANK:
        raise RequestInvalid(f"Invalid parameter: model '{model.model_id}' does not support rerankText.")


def rule_guardrails_request(body: Mapping[str, Any]) -> None:
    """Something to check, at least one check, and only the content moderation categories OCI has."""
    if body.get("input") is None and not body.get("multimodalInput"):
        raise RequestInvalid("Missing required parameter: one of 'input' or 'multimodalInput'.")
    text = body.get("input") or {}
    if text.get("type") == "TEXT" and not (text.get("content") or "").strip():
        raise RequestInvalid("Invalid parameter: 'input.content' must not be empty.")
    configs = body["guardrailConfigs"]
    if not configs:
        raise RequestInvalid("Invalid parameter: 'guardrailConfigs' must configure at least one guardrail.")
    categories = (configs.get("contentModerationConfig") or {}).get("categories")
    if categories is not None and (not categories or any(c not in MODERATION_CATEGORIES for c in categories)):
        raise RequestInvalid("Invalid parameter: 'guardrailConfigs.contentModerationConfig.categories' must be "
                             f"a non-empty subset of [{', '.join(MODERATION_CATEGORIES)}].")
    types = (configs.get("personallyIdentifiableInformationConfig") or {}).get("types")
    if types is not None and not types:
        raise RequestInvalid("Invalid parameter: 'guardrailConfigs.personallyIdentifiableInformationConfig.types' "
                             "must not be empty.")


def rule_chat_model_format(body: Mapping[str, Any], model: ModelSpec) -> None:
    """The model must be a chat model that speaks the request's apiFormat."""
    fmt = body["chatRequest"]["apiFormat"]
    if model.kind != CHAT:
        raise RequestInvalid(f"Invalid parameter: model '{model.model_id}' does not support chat.")
    if fmt not in model.api_formats:
        raise RequestInvalid(
            f"Invalid parameter: apiFormat '{fmt}' is not supported by model '{model.model_id}'."
        )


_IMAGE_PARTS = {"GENERIC": "IMAGE", "COHEREV2": "IMAGE_URL"}


def rule_chat_images(body: Mapping[str, Any], model: ModelSpec) -> None:
    """Image parts only for vision (multimodal) models, as OCI rejects them elsewhere."""
    chat = body["chatRequest"]
    kind = _IMAGE_PARTS.get(chat["apiFormat"])
    if kind is None or model.multimodal:
        return
    for index, message in enumerate(chat.get("messages") or []):
        if any(part.get("type") == kind for part in message.get("content") or []):
            raise RequestInvalid(
                f"Invalid parameter: 'chatRequest.messages[{index}].content' contains an image, "
                f"but model '{model.model_id}' does not support image inputs."
            )


def rule_embed_model(body: Mapping[str, Any], model: ModelSpec) -> None:
    """An embed model; ``outputDimensions`` and ``embedContents`` only where the model has them."""
    if model.kind != EMBED:
        raise RequestInvalid(f"Invalid parameter: model '{model.model_id}' does not support embedText.")
    dims = body.get("outputDimensions")
    if dims is not None:
        if not model.output_dimensions:
            raise RequestInvalid(
                f"Invalid parameter: 'outputDimensions' is not supported by model '{model.model_id}'."
            )
        if dims not in model.output_dimensions:
            allowed = ", ".join(str(d) for d in model.output_dimensions)
            raise RequestInvalid(f"Invalid parameter: 'outputDimensions' must be one of [{allowed}].")
    if body.get("embedContents") is not None and not model.output_dimensions:
        raise RequestInvalid(f"Invalid parameter: 'embedContents' is not supported by model '{model.model_id}'.")


# Operation -> shape, body rules and model rules. Keys: "chat" plus "chat:<apiFormat>", "embed".
SHAPES: dict[str, Shape] = {"chat": CHAT_DETAILS, "embed": EMBED_TEXT_DETAILS, "rerank": RERANK_TEXT_DETAILS,
                            "guardrails": APPLY_GUARDRAILS_DETAILS}
BODY_RULES: dict[str, list[BodyRule]] = {
    "chat:GENERIC": [rule_generic_messages, rule_tool_call_pairing, rule_generic_tools, rule_positive_counts],
    "chat:COHERE": [rule_positive_counts],
    "chat:COHEREV2": [rule_coherev2_messages, rule_positive_counts],
    "embed": [rule_embed_inputs, rule_embed_truncate],
    "rerank": [rule_rerank_inputs],
    "guardrails": [rule_guardrails_request],
}
MODEL_RULES: dict[str, list[ModelRule]] = {
    "chat": [rule_chat_model_format, rule_chat_images],
    "embed": [rule_embed_model],
    "rerank": [rule_rerank_model],
}


def parse_json(body: bytes) -> dict[str, Any]:
    """Decode a request body; OCI answers 400 for anything that is not a JSON object."""
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestInvalid(f"Invalid JSON in request body: {exc.msg if hasattr(exc, 'msg') else 'not UTF-8'}.")
    if not isinstance(value, dict):
        raise RequestInvalid("Invalid request body: expected a JSON object.")
    return value


def validate_chat(body: Mapping[str, Any]) -> None:
    """Shape of ChatDetails plus the rules for its apiFormat."""
    check_object(body, SHAPES["chat"])
    for rule in BODY_RULES.get(f"chat:{body['chatRequest']['apiFormat']}", []):
        rule(body["chatRequest"])


def validate_embed(body: Mapping[str, Any]) -> None:
    """Shape of EmbedTextDetails plus the embed rules."""
    check_object(body, SHAPES["embed"])
    for rule in BODY_RULES["embed"]:
        rule(body)


def validate(operation: str, body: Mapping[str, Any]) -> None:
    """Shape of an operation's details plus its body rules."""
    check_object(body, SHAPES[operation])
    for rule in BODY_RULES.get(operation, []):
        rule(body)


def validate_for_model(operation: str, body: Mapping[str, Any], model: ModelSpec) -> None:
    """Rules that need the resolved model (run after the 404 check)."""
    for rule in MODEL_RULES.get(operation, []):
        rule(body, model)
