"""OCI Generative AI inference: ``/actions/chat`` and ``/actions/embedText``, deterministically.

Answers are pure functions of the request so tests can assert exact values (the rules are in
:mod:`local.emulator.replies` and :mod:`local.emulator.tools`):

* chat text is ``"Echo: <text of the last USER message>"`` (or of the trailing TOOL results);
  tokens are whitespace-separated words; ``stop`` cuts the echoed text, ``maxTokens`` keeps the
  first N words (finish reason "length"); ``numGenerations`` repeats the choice;
* with ``tools`` on a USER turn the model calls tools (``call:<name>`` directives pick them);
* embeddings are unit vectors expanded from a SHAKE-256 hash of (model id, input), so the same
  text always maps to the same vector and different texts to (nearly) orthogonal ones.

Each chat ``apiFormat`` is one :class:`~local.emulator.chat_formats.ChatFormat` in
``CHAT_FORMATS``; ``isStream`` requests go through ``STREAM_BUILDERS`` (one per format, all
sharing :func:`stream_chat`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import math
import struct
from typing import Any, Awaitable, Callable, Mapping, Protocol

from .chat_formats import CHAT_FORMATS, NON_TEXT_PART_TOKENS, ChatContext, ChatFormat
from .models import ModelSpec, ModelTable
from .replies import Completion, Reply, complete, count_tokens, plan_replies
from .streaming import SSE_CONTENT_TYPE, StreamSettings, frames, paced, writes
from .validation import parse_json, validate_chat, validate_embed, validate_for_model
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

    def now(self) -> float: ...


def iso_millis(timestamp: float) -> str:
    """``2026-09-18T19:46:59.025Z``: OCI's ``timeCreated`` format."""
    moment = dt.datetime.fromtimestamp(timestamp, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def resolve_model(models: ModelTable, serving_mode: Mapping[str, Any]) -> ModelSpec:
    """The model a servingMode names; 404 NotAuthorizedOrNotFound when OCI would not find it."""
    if serving_mode["servingType"] == "DEDICATED":
        endpoint = serving_mode["endpointId"]
        model = models.resolve_endpoint(endpoint)
        if model is None:
            raise NotFound(f"endpoint {endpoint}")
        return model
    model_id = serving_mode["modelId"]
    model = models.get(model_id)
    if model is None or model.dedicated_only:
        raise NotFound(f"model {model_id}")
    return model


def _json_headers(request: EmuRequest) -> dict[str, str]:
    return {"opc-request-id": request.request_id}


def _replies(
    fmt: ChatFormat, chat_request: Mapping[str, Any], model: ModelSpec, host: GenAIHost, request: EmuRequest
) -> tuple[list[Reply], ChatContext]:
    prompt = fmt.prompt(chat_request, model)
    replies = plan_replies(prompt, id_seed=request.request_id, id_style=fmt.id_style(model))
    include_usage = bool((chat_request.get("streamOptions") or {}).get("isIncludeUsage"))
    ctx = ChatContext(iso_millis(host.now()), request.request_id, prompt.prompt_tokens, include_usage)
    return replies, ctx


async def stream_chat(host: GenAIHost, request: EmuRequest, body: dict[str, Any], model: ModelSpec) -> EmuResponse:
    """An SSE answer: events from the format, framed and paced per the emulator's settings."""
    chat_request = body["chatRequest"]
    api_format = chat_request["apiFormat"]
    fmt = CHAT_FORMATS[api_format]
    replies, ctx = _replies(fmt, chat_request, model, host, request)
    events = fmt.stream_events(chat_request, replies, model, ctx)
    plan = host.stream.take()
    if api_format == "COHERE" and plan.cohere_done:
        events = [*events, "[DONE]"]
    chunks = writes(frames(events, plan), plan)
    headers = {
        "content-type": SSE_CONTENT_TYPE,
        "cache-control": "no-cache",
        "opc-request-id": request.request_id,
    }
    return EmuResponse(200, b"", headers, stream=paced(chunks, plan, request.on_stream))


# apiFormat -> builder of an SSE response.
StreamBuilder = Callable[[GenAIHost, EmuRequest, dict[str, Any], ModelSpec], Awaitable[EmuResponse]]
STREAM_BUILDERS: dict[str, StreamBuilder] = {name: stream_chat for name in CHAT_FORMATS}


async def chat(host: GenAIHost, request: EmuRequest) -> EmuResponse:
    """``POST /20231130/actions/chat``: JSON, or SSE when ``isStream`` is set.

    Validation, model lookup and faults happen before the stream starts, so they stay normal
    JSON error responses.
    """
    body = request.json if request.json is not None else parse_json(request.body)
    validate_chat(body)
    model = resolve_model(host.models, body["servingMode"])
    validate_for_model("chat", body, model)
    chat_request = body["chatRequest"]
    api_format = chat_request["apiFormat"]
    if chat_request.get("isStream"):
        builder = STREAM_BUILDERS.get(api_format)
        if builder is None:
            raise OciError(501, "NotImplemented", f"Emulator: streaming is not implemented for {api_format}.")
        return await builder(host, request, body, model)
    fmt = CHAT_FORMATS[api_format]
    replies, ctx = _replies(fmt, chat_request, model, host, request)
    payload = {
        "modelId": model.model_id,
        "modelVersion": model.version,
        "chatResponse": fmt.response(chat_request, replies, model, ctx),
    }
    return EmuResponse.json(200, payload, _json_headers(request))


# ------------------------------------------------------------------------------------------------
# Embeddings


def embedding_vector(model_id: str, text: str, dims: int) -> list[float]:
    """A unit-norm vector derived from a hash of (model, text): same input, same vector."""
    digest = hashlib.shake_256(f"{model_id}\0{text}".encode("utf-8")).digest(dims * 2)
    raw = struct.unpack(f"<{dims}H", digest)
    centred = [(v - 32767.5) for v in raw]
    norm = math.sqrt(sum(v * v for v in centred)) or 1.0
    return [round(v / norm, 9) for v in centred]


def _truncate(text: str, mode: str | None, limit: int = 512) -> str:
    words = text.split()
    if len(words) <= limit or mode == "NONE":
        return text
    return " ".join(words[-limit:] if mode == "START" else words[:limit])


def _embed_items(body: Mapping[str, Any]) -> list[tuple[str, bool]]:
    """(text, is_image) per input; an image is embedded by its URL (a data URI in practice)."""
    if body.get("inputs") is not None:
        is_image = body.get("inputType") == "IMAGE"
        return [(text, is_image) for text in body["inputs"]]
    return [
        ((c.get("text") or ""), False) if c["type"] == "TEXT" else (c["imageUrl"]["url"], True)
        for c in body["embedContents"]
    ]


def _by_type(vectors: list[list[float]], types: list[str]) -> dict[str, Any]:
    """``embeddingsByType``: the shape is not in the SDK, so this is a best-effort rendering."""
    out: dict[str, Any] = {}
    for kind in types:
        if kind == "float":
            out[kind] = vectors
        elif kind == "int8":
            out[kind] = [[max(-128, min(127, round(v * 127))) for v in vec] for vec in vectors]
        elif kind == "uint8":
            out[kind] = [[max(0, min(255, round((v + 1) * 127.5))) for v in vec] for vec in vectors]
        elif kind == "base64":
            out[kind] = [base64.b64encode(struct.pack(f"<{len(vec)}f", *vec)).decode() for vec in vectors]
    return out


async def embed_text(host: GenAIHost, request: EmuRequest) -> EmuResponse:
    """``POST /20231130/actions/embedText``."""
    body = request.json if request.json is not None else parse_json(request.body)
    validate_embed(body)
    model = resolve_model(host.models, body["servingMode"])
    validate_for_model("embed", body, model)
    dims = body.get("outputDimensions") or model.dimensions
    items = [(t if image else _truncate(t, body.get("truncate")), image) for t, image in _embed_items(body)]
    vectors = [embedding_vector(model.model_id, text, dims) for text, _ in items]
    prompt_tokens = sum(NON_TEXT_PART_TOKENS if image else count_tokens(t) for t, image in items)
    payload: dict[str, Any] = {
        "id": request.request_id,
        "embeddings": vectors,
        "modelId": model.model_id,
        "modelVersion": model.version,
        "usage": {"promptTokens": prompt_tokens, "totalTokens": prompt_tokens, "completionTokens": 0},
    }
    if body.get("embeddingTypes"):
        payload["embeddingsByType"] = _by_type(vectors, body["embeddingTypes"])
    if body.get("isEcho"):
        for key in ("inputs", "embedContents"):
            if body.get(key) is not None:
                payload[key] = body[key]
    return EmuResponse.json(200, payload, _json_headers(request))
