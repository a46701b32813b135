"""What the gateway knows about each OCI model: format, capabilities, limits, lifecycle.

One table, no network: ``/v1/models``, request validation and translation all read it.
Unknown ``vendor.model`` names still work (new OCI models on day one): they get the
vendor's defaults through :func:`lookup`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

GENERIC = "GENERIC"
COHERE = "COHERE"
COHEREV2 = "COHEREV2"

CHAT = "chat"
EMBEDDING = "embedding"
RERANK = "rerank"
ROUTES = {CHAT: "/v1/chat/completions", EMBEDDING: "/v1/embeddings", RERANK: "/v1/rerank"}
"""The route that serves each kind of model."""

ACTIVE = "active"
DEPRECATED = "deprecated"
RETIRED = "retired"


@dataclass(frozen=True)
class ModelInfo:
    """One model's facts. ``api_format`` is the default chat format (COHERE models may move to COHEREV2)."""

    id: str
    vendor: str
    kind: str = CHAT
    api_format: str = GENERIC
    vision: bool = False
    tools: bool = True
    reasoning: bool = False
    json_schema: bool = True
    cohere_v2: bool = False
    """A Cohere model that also speaks COHEREV2 (used for images, thinking, nested tool schemas)."""
    max_completion_tokens_field: bool = False
    """Send ``maxCompletionTokens`` instead of ``maxTokens`` (OpenAI reasoning models on OCI)."""
    default_max_tokens: int = 2048
    max_output_tokens: int = 4000
    context_window: int | None = None
    status: str = ACTIVE
    replacement: str | None = None
    known: bool = True
    # Embedding models
    dimensions: int | None = None
    output_dimensions: tuple[int, ...] = ()
    image_input: bool = False
    default_input_type: str | None = None
    # Rerank models
    dedicated_only: bool = False
    """Served by OCI only on a dedicated AI cluster: reached through an alias with an endpoint, never listed."""
    description: str = ""
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def owned_by(self) -> str:
        return self.vendor


def _chat(id: str, vendor: str, **kw: object) -> ModelInfo:
    return ModelInfo(id=id, vendor=vendor, **kw)  # type: ignore[arg-type]


def _embed(id: str, dims: int, *, image: bool = False, outputs: tuple[int, ...] = (), **kw: object) -> ModelInfo:
    return ModelInfo(id=id, vendor="cohere", kind=EMBEDDING, api_format="", tools=False, json_schema=False,
                     dimensions=dims, output_dimensions=outputs, image_input=image,
                     default_input_type="SEARCH_DOCUMENT", default_max_tokens=0, max_output_tokens=0,
                     **kw)  # type: ignore[arg-type]


def _rerank(id: str, context: int, **kw: object) -> ModelInfo:
    return ModelInfo(id=id, vendor="cohere", kind=RERANK, api_format="", tools=False, json_schema=False,
                     default_max_tokens=0, max_output_tokens=0, context_window=context, **kw)  # type: ignore[arg-type]


_MODELS: tuple[ModelInfo, ...] = (
    # Meta Llama (GENERIC)
    _chat("meta.llama-4-maverick-17b-128e-instruct-fp8", "meta", vision=True, context_window=512000),
    _chat("meta.llama-4-scout-17b-16e-instruct", "meta", vision=True, context_window=192000),
    _chat("meta.llama-3.3-70b-instruct", "meta", context_window=128000),
    _chat("meta.llama-3.3-70b-instruct-fp8-dynamic", "meta", context_window=128000),
    _chat("meta.llama-3.2-90b-vision-instruct", "meta", vision=True, context_window=128000),
    _chat("meta.llama-3.2-11b-vision-instruct", "meta", vision=True, context_window=128000),
    _chat("meta.llama-3.1-405b-instruct", "meta", context_window=128000, status=DEPRECATED,
          replacement="meta.llama-3.3-70b-instruct"),
    _chat("meta.llama-3.1-70b-instruct", "meta", status=RETIRED, replacement="meta.llama-3.3-70b-instruct"),
    _chat("meta.llama-3-70b-instruct", "meta", status=RETIRED, replacement="meta.llama-3.3-70b-instruct"),
    # xAI Grok (GENERIC)
    _chat("xai.grok-4.3", "xai", vision=True, reasoning=True, default_max_tokens=4096, max_output_tokens=32768,
          context_window=256000),
    _chat("xai.grok-4.20", "xai", vision=True, reasoning=True, default_max_tokens=4096, max_output_tokens=32768,
          context_window=256000),
    _chat("xai.grok-4.20-multi-agent", "xai", vision=True, reasoning=True, default_max_tokens=4096,
          max_output_tokens=32768, context_window=256000),
    _chat("xai.grok-4", "xai", vision=True, reasoning=True, default_max_tokens=4096, max_output_tokens=32768,
          context_window=256000),
    _chat("xai.grok-4-fast", "xai", vision=True, reasoning=True, default_max_tokens=4096, max_output_tokens=32768,
          context_window=2000000),
    _chat("xai.grok-4.1-fast", "xai", vision=True, reasoning=True, default_max_tokens=4096, max_output_tokens=32768,
          context_window=2000000),
    _chat("xai.grok-3", "xai", context_window=131072, max_output_tokens=16384),
    _chat("xai.grok-3-fast", "xai", context_window=131072, max_output_tokens=16384),
    _chat("xai.grok-3-mini", "xai", reasoning=True, default_max_tokens=4096, context_window=131072,
          max_output_tokens=16384),
    _chat("xai.grok-3-mini-fast", "xai", reasoning=True, default_max_tokens=4096, context_window=131072,
          max_output_tokens=16384),
    _chat("xai.grok-code-fast-1", "xai", reasoning=True, default_max_tokens=4096, context_window=256000,
          max_output_tokens=32768),
    # Cohere Command (COHERE v1; Command A family also speaks COHEREV2)
    _chat("cohere.command-latest", "cohere", api_format=COHERE, json_schema=False, context_window=128000),
    _chat("cohere.command-plus-latest", "cohere", api_format=COHERE, json_schema=False, context_window=128000),
    _chat("cohere.command-r-08-2024", "cohere", api_format=COHERE, json_schema=False, context_window=128000),
    _chat("cohere.command-r-plus-08-2024", "cohere", api_format=COHERE, json_schema=False, context_window=128000),
    _chat("cohere.command-a-03-2025", "cohere", api_format=COHERE, cohere_v2=True, json_schema=False,
          context_window=256000, max_output_tokens=8000),
    _chat("cohere.command-a-reasoning-08-2025", "cohere", api_format=COHEREV2, cohere_v2=True, reasoning=True,
          json_schema=False, default_max_tokens=4096, context_window=256000, max_output_tokens=32000),
    _chat("cohere.command-a-vision-07-2025", "cohere", api_format=COHEREV2, cohere_v2=True, vision=True,
          tools=False, json_schema=False, context_window=128000, max_output_tokens=8000),
    _chat("cohere.command-a-translate-08-2025", "cohere", api_format=COHERE, tools=False, json_schema=False,
          context_window=8000),
    _chat("cohere.command-r-16k", "cohere", api_format=COHERE, status=RETIRED, replacement="cohere.command-r-08-2024"),
    _chat("cohere.command-r-plus", "cohere", api_format=COHERE, status=RETIRED,
          replacement="cohere.command-r-plus-08-2024"),
    _chat("cohere.command", "cohere", api_format=COHERE, status=RETIRED, replacement="cohere.command-a-03-2025"),
    _chat("cohere.command-light", "cohere", api_format=COHERE, status=RETIRED, replacement="cohere.command-r-08-2024"),
    # Google Gemini (GENERIC)
    _chat("google.gemini-2.5-pro", "google", vision=True, reasoning=True, default_max_tokens=8192,
          max_output_tokens=65536, context_window=1048576),
    _chat("google.gemini-2.5-flash", "google", vision=True, reasoning=True, default_max_tokens=8192,
          max_output_tokens=65536, context_window=1048576),
    _chat("google.gemini-2.5-flash-lite", "google", vision=True, reasoning=True, default_max_tokens=8192,
          max_output_tokens=65536, context_window=1048576),
    # OpenAI open-weight (GENERIC, reasoning: maxCompletionTokens)
    _chat("openai.gpt-oss-120b", "openai", reasoning=True, max_completion_tokens_field=True, default_max_tokens=4096,
          max_output_tokens=32768, context_window=128000),
    _chat("openai.gpt-oss-20b", "openai", reasoning=True, max_completion_tokens_field=True, default_max_tokens=4096,
          max_output_tokens=32768, context_window=128000),
    # Cohere embeddings
    _embed("cohere.embed-v4.0", 1536, image=True, outputs=(256, 512, 1024, 1536)),
    _embed("cohere.embed-english-v3.0", 1024),
    _embed("cohere.embed-multilingual-v3.0", 1024),
    _embed("cohere.embed-english-light-v3.0", 384),
    _embed("cohere.embed-multilingual-light-v3.0", 384),
    _embed("cohere.embed-english-image-v3.0", 1024, image=True),
    _embed("cohere.embed-multilingual-image-v3.0", 1024, image=True),
    _embed("cohere.embed-english-light-image-v3.0", 384, image=True),
    _embed("cohere.embed-multilingual-light-image-v3.0", 384, image=True),
    # Cohere rerank (OCI rerankText); Rerank 3.5 is dedicated-only on OCI
    _rerank("cohere.rerank-v4.0-fast", 32000),
    _rerank("cohere.rerank-v4.0-pro", 32000),
    _rerank("cohere.rerank.v3-5", 4096, dedicated_only=True),
)

CATALOG: dict[str, ModelInfo] = {m.id: m for m in _MODELS}

# What an unknown model of a known vendor is assumed to be.
_VENDOR_DEFAULTS: dict[str, ModelInfo] = {
    "meta": ModelInfo(id="", vendor="meta", vision=True, known=False),
    "xai": ModelInfo(id="", vendor="xai", vision=True, reasoning=True, default_max_tokens=4096,
                     max_output_tokens=32768, known=False),
    "google": ModelInfo(id="", vendor="google", vision=True, reasoning=True, default_max_tokens=8192,
                        max_output_tokens=65536, known=False),
    "openai": ModelInfo(id="", vendor="openai", vision=True, reasoning=True, max_completion_tokens_field=True,
                        default_max_tokens=4096, max_output_tokens=32768, known=False),
    "cohere": ModelInfo(id="", vendor="cohere", api_format=COHEREV2, cohere_v2=True, json_schema=False,
                        known=False),
}


def lookup(model_id: str) -> ModelInfo:
    """The catalog entry for ``model_id``, or a vendor-default entry (``known=False``) for new models."""
    info = CATALOG.get(model_id)
    if info is not None:
        return info
    vendor = model_id.split(".", 1)[0].lower() if "." in model_id else ""
    if vendor == "cohere" and "embed" in model_id:
        return replace(_embed(model_id, 1024), known=False)
    if vendor == "cohere" and "rerank" in model_id:
        return replace(_rerank(model_id, 4096), known=False)
    template = _VENDOR_DEFAULTS.get(vendor) or ModelInfo(id="", vendor=vendor or "unknown", known=False)
    return replace(template, id=model_id)


def chat_models() -> list[ModelInfo]:
    return [m for m in _MODELS if m.kind == CHAT and m.status != RETIRED]


def embedding_models() -> list[ModelInfo]:
    return [m for m in _MODELS if m.kind == EMBEDDING and m.status != RETIRED]


def rerank_models() -> list[ModelInfo]:
    return [m for m in _MODELS if m.kind == RERANK and m.status != RETIRED]
