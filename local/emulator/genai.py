"""OCI Generative AI inference: ``/actions/chat`` and ``/actions/embedText``, deterministically.

Answers are pure functions of the request so tests can assert exact values:

* chat text is ``"Echo: <text of the last USER (or TOOL) message>"``; tokens are
  whitespace-separated words; ``stop`` cuts the echoed text at the earliest stop string,
  ``maxTokens`` keeps the first N words (finish reason "length"); ``numGenerations`` repeats
  the choice.
* embeddings are unit vectors expanded from a SHAKE-256 hash of (model id, input), so the same
  text always maps to the same vector and different texts to (nearly) orthogonal ones.

Each chat ``apiFormat`` is one :class:`ChatFormat` in ``CHAT_FORMATS``: it knows where the
prompt is and how the response looks. Tool calls and streaming are later additions: a format
grows ``tool_calls``; streaming registers a builder in ``STREAM_BUILDERS``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import math
import re
import struct
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping, Protocol

from .models import ModelSpec, ModelTable
from .validation import parse_json, validate_chat, validate_embed, validate_for_model
from .wire import EmuRequest, EmuResponse, NotFound, OciError

_WORD = re.compile(r"\S+")
NON_TEXT_PART_TOKENS = 1  # an image/audio/... part counts as one prompt token


class GenAIHost(Protocol):
    """What the handlers need from the emulator: the model table and the clock."""

    models: ModelTable

    def now(self) -> float: ...


def count_tokens(text: str) -> int:
    """Whitespace tokens: deterministic and easy to predict in tests."""
    return len(text.split())


def iso_millis(timestamp: float) -> str:
    """``2026-09-18T19:46:59.025Z``: OCI's ``timeCreated`` format."""
    moment = dt.datetime.fromtimestamp(timestamp, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class Completion:
    """One generated answer. ``reason`` is neutral: ``stop``, ``stop_sequence`` or ``length``."""

    text: str
    reason: str

    @property
    def tokens(self) -> int:
        return count_tokens(self.text)


def complete(source: str, *, stop: list[str] | None, max_tokens: int | None) -> Completion:
    """The deterministic model: echo ``source``, then apply stop strings and the token cap."""
    reason = "stop"
    # Stop strings are searched in the echoed part only, so a test can predict the cut from the
    # text it sent (a stop of "o" must not hit the "Echo" prefix).
    cuts = [source.find(s) for s in stop or [] if s and s in source]
    if cuts:
        source = source[: min(cuts)]
        reason = "stop_sequence"
    text = f"Echo: {source}"
    if max_tokens is not None:
        words = list(_WORD.finditer(text))
        if len(words) > max_tokens:
            text = text[: words[max_tokens - 1].end()] if max_tokens > 0 else ""
            reason = "length"
    return Completion(text, reason)


def _parts_text(content: list[Mapping[str, Any]] | None) -> str:
    return " ".join(p.get("text") or "" for p in content or [] if p.get("type") == "TEXT").strip()


def _parts_tokens(content: list[Mapping[str, Any]] | None) -> int:
    total = 0
    for part in content or []:
        total += count_tokens(part.get("text") or "") if part.get("type") == "TEXT" else NON_TEXT_PART_TOKENS
    return total


def _usage(prompt: int, completion: int, model: ModelSpec) -> dict[str, Any]:
    usage: dict[str, Any] = {"completionTokens": completion, "promptTokens": prompt, "totalTokens": prompt + completion}
    if model.vendor == "openai":  # captured gpt-5.4 responses carry the detail objects
        usage["completionTokensDetails"] = {"acceptedPredictionTokens": 0, "reasoningTokens": 0}
        usage["promptTokensDetails"] = {"cachedTokens": 0}
    return usage


class ChatFormat(Protocol):
    """One chat ``apiFormat``: where the prompt lives and how the answer is shaped."""

    def source_text(self, chat: Mapping[str, Any]) -> str: ...
    def prompt_tokens(self, chat: Mapping[str, Any]) -> int: ...
    def stop(self, chat: Mapping[str, Any]) -> list[str] | None: ...
    def max_tokens(self, chat: Mapping[str, Any]) -> int | None: ...
    def generations(self, chat: Mapping[str, Any]) -> int: ...
    def response(
        self, chat: Mapping[str, Any], completions: list[Completion], model: ModelSpec, ctx: "ChatContext"
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class ChatContext:
    """Per-request facts a format needs to build a response."""

    time_created: str
    request_id: str
    prompt_tokens: int


class GenericFormat:
    """Meta, xAI, OpenAI, Google: ``messages`` with typed content parts."""

    def _last_prompt_message(self, chat: Mapping[str, Any]) -> Mapping[str, Any] | None:
        return next((m for m in reversed(chat.get("messages") or []) if m.get("role") in ("USER", "TOOL")), None)

    def source_text(self, chat: Mapping[str, Any]) -> str:
        message = self._last_prompt_message(chat)
        return _parts_text(message.get("content")) if message else ""

    def prompt_tokens(self, chat: Mapping[str, Any]) -> int:
        return sum(_parts_tokens(m.get("content")) for m in chat.get("messages") or [])

    def stop(self, chat: Mapping[str, Any]) -> list[str] | None:
        return chat.get("stop")

    def max_tokens(self, chat: Mapping[str, Any]) -> int | None:
        return chat.get("maxCompletionTokens") or chat.get("maxTokens")

    def generations(self, chat: Mapping[str, Any]) -> int:
        return chat.get("numGenerations") or 1

    def response(
        self, chat: Mapping[str, Any], completions: list[Completion], model: ModelSpec, ctx: ChatContext
    ) -> dict[str, Any]:
        choices = []
        for index, completion in enumerate(completions):
            message: dict[str, Any] = {
                "role": "ASSISTANT",
                "content": [{"type": "TEXT", "text": completion.text}],
                "toolCalls": [],
            }
            if model.vendor == "openai":
                message["annotations"] = []
            choices.append(
                {
                    "index": index,
                    "message": message,
                    "finishReason": "length" if completion.reason == "length" else "stop",
                    "logprobs": {},
                }
            )
        body: dict[str, Any] = {
            "apiFormat": "GENERIC",
            "timeCreated": ctx.time_created,
            "choices": choices,
            "usage": _usage(ctx.prompt_tokens, sum(c.tokens for c in completions), model),
        }
        if model.vendor == "openai":
            body["serviceTier"] = "DEFAULT"
        return body


class CohereFormat:
    """Cohere v1: ``message`` + ``chatHistory``; the reply restates the whole history."""

    def source_text(self, chat: Mapping[str, Any]) -> str:
        return chat.get("message") or ""

    def prompt_tokens(self, chat: Mapping[str, Any]) -> int:
        texts = [chat.get("message") or "", chat.get("preambleOverride") or ""]
        texts += [m.get("message") or "" for m in chat.get("chatHistory") or []]
        return sum(count_tokens(t) for t in texts)

    def stop(self, chat: Mapping[str, Any]) -> list[str] | None:
        return chat.get("stopSequences")

    def max_tokens(self, chat: Mapping[str, Any]) -> int | None:
        return chat.get("maxTokens")

    def generations(self, chat: Mapping[str, Any]) -> int:
        return 1

    def response(
        self, chat: Mapping[str, Any], completions: list[Completion], model: ModelSpec, ctx: ChatContext
    ) -> dict[str, Any]:
        completion = completions[0]
        history = [dict(m) for m in chat.get("chatHistory") or []]
        history.append({"role": "USER", "message": chat.get("message") or ""})
        history.append({"role": "CHATBOT", "message": completion.text})
        return {
            "apiFormat": "COHERE",
            "text": completion.text,
            "chatHistory": history,
            "finishReason": "MAX_TOKENS" if completion.reason == "length" else "COMPLETE",
            "usage": _usage(ctx.prompt_tokens, completion.tokens, model),
        }


class CohereV2Format:
    """Cohere v2: ``messages`` with ``content`` arrays; the reply is one ASSISTANT message."""

    def source_text(self, chat: Mapping[str, Any]) -> str:
        message = next((m for m in reversed(chat.get("messages") or []) if m.get("role") in ("USER", "TOOL")), None)
        return _parts_text(message.get("content")) if message else ""

    def prompt_tokens(self, chat: Mapping[str, Any]) -> int:
        return sum(_parts_tokens(m.get("content")) for m in chat.get("messages") or [])

    def stop(self, chat: Mapping[str, Any]) -> list[str] | None:
        return chat.get("stopSequences")

    def max_tokens(self, chat: Mapping[str, Any]) -> int | None:
        return chat.get("maxTokens")

    def generations(self, chat: Mapping[str, Any]) -> int:
        return 1

    def response(
        self, chat: Mapping[str, Any], completions: list[Completion], model: ModelSpec, ctx: ChatContext
    ) -> dict[str, Any]:
        completion = completions[0]
        reasons = {"length": "MAX_TOKENS", "stop_sequence": "STOP_SEQUENCE"}
        return {
            "apiFormat": "COHEREV2",
            "id": ctx.request_id,
            "message": {"role": "ASSISTANT", "content": [{"type": "TEXT", "text": completion.text}]},
            "finishReason": reasons.get(completion.reason, "COMPLETE"),
            "usage": _usage(ctx.prompt_tokens, completion.tokens, model),
        }


CHAT_FORMATS: dict[str, ChatFormat] = {
    "GENERIC": GenericFormat(),
    "COHERE": CohereFormat(),
    "COHEREV2": CohereV2Format(),
}

# apiFormat -> builder of an SSE response; empty until streaming is implemented.
StreamBuilder = Callable[[GenAIHost, EmuRequest, dict[str, Any], ModelSpec], Awaitable[EmuResponse]]
STREAM_BUILDERS: dict[str, StreamBuilder] = {}


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
    if model is None:
        raise NotFound(f"model {model_id}")
    return model


def _json_headers(request: EmuRequest) -> dict[str, str]:
    return {"opc-request-id": request.request_id}


async def chat(host: GenAIHost, request: EmuRequest) -> EmuResponse:
    """``POST /20231130/actions/chat``."""
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
    completion = complete(
        fmt.source_text(chat_request), stop=fmt.stop(chat_request), max_tokens=fmt.max_tokens(chat_request)
    )
    completions = [completion] * fmt.generations(chat_request)
    ctx = ChatContext(iso_millis(host.now()), request.request_id, fmt.prompt_tokens(chat_request))
    payload = {
        "modelId": model.model_id,
        "modelVersion": model.version,
        "chatResponse": fmt.response(chat_request, completions, model, ctx),
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
