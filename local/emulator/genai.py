"""OCI Generative AI inference: ``/actions/chat`` and ``/actions/embedText``, deterministically.

Answers are pure functions of the request so tests can assert exact values (the rules are in
:mod:`local.emulator.replies` and :mod:`local.emulator.tools`):

* chat text is ``"Echo: <text of the last USER message>"`` (or of the trailing TOOL results);
  tokens are whitespace-separated words; ``stop`` cuts the echoed text, ``maxTokens`` keeps the
  first N words (finish reason "length"); ``numGenerations`` repeats the choice;
* with ``tools`` on a USER turn the model calls tools (``call:<name>`` directives pick them);
* embeddings are unit vectors expanded from a SHAKE-256 hash of (model id, input), so the same
  text always maps to the same vector and different texts to (nearly) orthogonal ones; their numbers
  are written as OCI writes them (:mod:`local.emulator.vectors`).

Each chat ``apiFormat`` is one :class:`~local.emulator.chat_formats.ChatFormat` in
``CHAT_FORMATS``; ``isStream`` requests go through ``STREAM_BUILDERS`` (one per format, all
sharing :func:`stream_chat`).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Awaitable, Callable, Mapping, Protocol

from .chat_formats import CHAT_FORMATS, NON_TEXT_PART_TOKENS, ChatContext, ChatFormat
from .models import ModelSpec, ModelTable
from .replies import Completion, Reply, complete, count_tokens, plan_replies
from .streaming import SSE_CONTENT_TYPE, StreamSettings, frames, paced, writes
from .validation import parse_json, validate_chat, validate_embed, validate_for_model
from .vectors import precomputed_vector_json, vector_base64, vector_json
from .wire import EmuRequest, EmuResponse, NotFound, OciError

__all__ = [
    "CHAT_FORMATS",
    "STREAM_BUILDERS",
    "ChatContext",
    "ChatFormat",
    "Completion",
    "chat",
    "complete",
    "count_tokens",
    "embed_text",
    "embedding_vector",
]


class GenAIHost(Protocol):
    """What the handlers need from the emulator: models, the clock and stream settings."""

    models: ModelTable
    stream: StreamSettings
    precomputed_embeddings: bool
    """Answer every text with a vector from a fixed pool (benchmarks), not the text's own vector."""

    def now(self) -> float: ...


def iso_millis(timestamp: float) -> str:
    """``2026-09-18T19:46:59.025Z``: OCI's ``timeCreated`` format."""
    moment = dt.datetime.fromtimestamp(timestamp, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def resolve_model(models: ModelTable, serving_mode: Mapping[str, Any]) -> tuple[ModelSpec, dict[str, str]]:
    """The model a servingMode names and the headers that go with it; 404 when OCI would not find it.

    A dedicated endpoint serves its model even once on-demand serving has ended. A routing
    profile serves its model from its region and says which in ``x-genai-selected-region``.
    """
    if serving_mode["servingType"] == "DEDICATED":
        endpoint = serving_mode["endpointId"]
        model = models.resolve_endpoint(endpoint)
        if model is None:
            raise NotFound(f"endpoint {endpoint}")
        return model, _retirement_headers(model)
    model_id = serving_mode["modelId"]
    routed = models.resolve_profile(model_id)
    if routed is not None:
        return routed[0], {**_retirement_headers(routed[0]), "x-genai-selected-region": routed[1]}
    model = models.get(model_id)
    if model is None or model.retired or not model.on_demand:
        raise OciError(404, "NotAuthorizedOrNotFound", f"Entity with key {model_id} not found")
    return model, _retirement_headers(model)


def _retirement_headers(model: ModelSpec) -> dict[str, str]:
    return {"model-retirement-info": model.retirement_info} if model.retirement_info else {}


def _json_headers(request: EmuRequest, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {"opc-request-id": request.request_id, **(extra or {})}


def _replies(
    fmt: ChatFormat, chat_request: Mapping[str, Any], model: ModelSpec, host: GenAIHost, request: EmuRequest
) -> tuple[list[Reply], ChatContext]:
    prompt = fmt.prompt(chat_request, model)
    replies = plan_replies(prompt, id_seed=request.request_id, id_style=fmt.id_style(model))
    include_usage = bool((chat_request.get("streamOptions") or {}).get("isIncludeUsage"))
    ctx = ChatContext(iso_millis(host.now()), request.request_id, prompt.prompt_tokens, include_usage)
    return replies, ctx


async def stream_chat(host: GenAIHost, request: EmuRequest, body: dict[str, Any], model: ModelSpec,
                      extra_headers: Mapping[str, str] | None = None) -> EmuResponse:
    """An SSE answer: events from the format, framed and paced per the emulator's settings."""
    chat_request = body["chatRequest"]
    api_format = chat_request["apiFormat"]
    fmt = CHAT_FORMATS[api_format]
    replies, ctx = _replies(fmt, chat_request, model, host, request)
    events = fmt.stream_events(chat_request, replies, model, ctx)
    plan = host.stream.take()
    if api_format == "COHERE" and plan.cohere_done:
        events = [*events, "[DONE]"]
    if api_format == "COHEREV2" and plan.v2_restates_tool_calls and replies[0].tool_calls:
        events = _restate_v2_calls(events, replies[0])
    chunks = writes(frames(events, plan), plan)
    headers = {
        "content-type": SSE_CONTENT_TYPE,
        "cache-control": "no-cache",
        "opc-request-id": request.request_id,
        **(extra_headers or {}),
    }
    return EmuResponse(200, b"", headers, stream=paced(chunks, plan, request.on_stream))


def _restate_v2_calls(events: list[Any], reply: Reply) -> list[Any]:
    """The V2 final event repeating every call with its whole arguments (one shape OCI may use)."""
    calls = [{"id": c.id, "type": "FUNCTION", "function": {"name": c.name, "arguments": c.arguments_json}}
             for c in reply.tool_calls]
    final = next(i for i, e in enumerate(events) if isinstance(e, dict) and e.get("finishReason"))
    restated = {**events[final], "message": {"role": "ASSISTANT", "toolCalls": calls}}
    return [*events[:final], restated, *events[final + 1:]]


# apiFormat -> builder of an SSE response.
StreamBuilder = Callable[..., Awaitable[EmuResponse]]
STREAM_BUILDERS: dict[str, StreamBuilder] = {name: stream_chat for name in CHAT_FORMATS}


async def chat(host: GenAIHost, request: EmuRequest) -> EmuResponse:
    """``POST /20231130/actions/chat``: JSON, or SSE when ``isStream`` is set.

    Validation, model lookup and faults happen before the stream starts, so they stay normal
    JSON error responses.
    """
    body = request.json if request.json is not None else parse_json(request.body)
    validate_chat(body)
    model, headers = resolve_model(host.models, body["servingMode"])
    validate_for_model("chat", body, model)
    chat_request = body["chatRequest"]
    api_format = chat_request["apiFormat"]
    if chat_request.get("isStream"):
        builder = STREAM_BUILDERS.get(api_format)
        if builder is None:
            raise OciError(501, "NotImplemented", f"Emulator: streaming is not implemented for {api_format}.")
        return await builder(host, request, body, model, headers)
    fmt = CHAT_FORMATS[api_format]
    replies, ctx = _replies(fmt, chat_request, model, host, request)
    payload = {
        "modelId": model.model_id,
        "modelVersion": model.version,
        "chatResponse": fmt.response(chat_request, replies, model, ctx),
    }
    return EmuResponse.json(200, payload, _json_headers(request, headers))


# ------------------------------------------------------------------------------------------------
# Embeddings


def embedding_vector(model_id: str, text: str, dims: int) -> list[float]:
    """The vector for (model, text) as a JSON client reads OCI's answer: float32 values, unit norm."""
    return json.loads(vector_json(model_id, text, dims))


def _truncate(text: str, mode: str | None, limit: int = 512) -> tuple[str, int]:
    """The text OCI embeds and its (whitespace) token count."""
    words = text.split()
    if len(words) <= limit or mode == "NONE":
        return text, len(words)
    return " ".join(words[-limit:] if mode == "START" else words[:limit]), limit


def _embed_items(body: Mapping[str, Any]) -> list[tuple[str, bool]]:
    """(text, is_image) per input; an image is embedded by its URL (a data URI in practice)."""
    if body.get("inputs") is not None:
        is_image = body.get("inputType") == "IMAGE"
        return [(text, is_image) for text in body["inputs"]]
    return [
        ((c.get("text") or ""), False) if c["type"] == "TEXT" else (c["imageUrl"]["url"], True)
        for c in body["embedContents"]
    ]


def _by_type(vectors: list[bytes], types: list[str]) -> bytes:
    """``embeddingsByType`` as JSON, keyed by type, spliced from the vectors' text like ``embeddings``. The SDK types
    it only as an object; ``base64`` is each vector's little-endian float32 bytes (:func:`.vectors.vector_base64`),
    int8 and uint8 a best-effort rendering."""
    out: list[bytes] = []
    for kind in dict.fromkeys(types):
        if kind == "float":
            value = b"[" + b",".join(vectors) + b"]"
        elif kind == "base64":
            value = b'["' + b'","'.join(vector_base64(v).encode("ascii") for v in vectors) + b'"]'
        elif kind in ("int8", "uint8"):
            floats = [json.loads(v) for v in vectors]
            value = _compact([[max(-128, min(127, round(x * 127))) for x in vec] for vec in floats] if kind == "int8"
                             else [[max(0, min(255, round((x + 1) * 127.5))) for x in vec] for vec in floats])
        else:
            continue
        out.append(b'"%s":%s' % (kind.encode(), value))
    return b"{" + b",".join(out) + b"}"


async def embed_text(host: GenAIHost, request: EmuRequest) -> EmuResponse:
    """``POST /20231130/actions/embedText``: the vectors' text is spliced into the answer as OCI writes it."""
    body = request.json if request.json is not None else parse_json(request.body)
    validate_embed(body)
    model, headers = resolve_model(host.models, body["servingMode"])
    validate_for_model("embed", body, model)
    dims = body.get("outputDimensions") or model.dimensions
    mode = body.get("truncate")
    items = [(t, NON_TEXT_PART_TOKENS) if image else _truncate(t, mode) for t, image in _embed_items(body)]
    make = precomputed_vector_json if host.precomputed_embeddings else None
    vectors = [make(text, dims) if make else vector_json(model.model_id, text, dims) for text, _ in items]
    prompt_tokens = sum(tokens for _, tokens in items)
    by_type = b',"embeddingsByType":%s' % _by_type(vectors, body["embeddingTypes"]) \
        if body.get("embeddingTypes") else b""
    rest: dict[str, Any] = {}
    rest.update(modelId=model.model_id, modelVersion=model.version,
                usage={"completionTokens": 0, "promptTokens": prompt_tokens, "totalTokens": prompt_tokens})
    if body.get("isEcho"):
        for key in ("inputs", "embedContents"):
            if body.get(key) is not None:
                rest[key] = body[key]
    answer = b"".join((b'{"id":', _compact(request.request_id), b',"embeddings":[', b",".join(vectors), b"]",
                       by_type, b",", _compact(rest)[1:]))
    return EmuResponse(200, answer, {"content-type": "application/json", **_json_headers(request, headers)})


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
