"""The emulator's model table: which model ids exist, what they serve, and dedicated endpoints.

OCI answers 404 ``NotAuthorizedOrNotFound`` for a model id it does not know, and rejects a chat
request whose ``apiFormat`` the model does not speak. The gateway's model routing is only tested
honestly if the emulator knows the same catalogue, so the seed list mirrors OCI's on-demand
models (OCI's model pages and the ``oci`` SDK's docstrings). The table
is mutable at run time (``add``/``add_dedicated_endpoint``) so a test can register a model OCI
adds tomorrow without editing this file.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Iterable

CHAT = "chat"
EMBED = "embed"
RERANK = "rerank"

GENERIC = "GENERIC"
COHERE = "COHERE"
COHEREV2 = "COHEREV2"

# Embed v4 is the only family that accepts ``outputDimensions`` and ``embedContents``.
V4_OUTPUT_DIMENSIONS = (256, 512, 1024, 1536)


@dataclass(frozen=True)
class ModelSpec:
    """One model the emulator serves.

    ``api_formats`` lists the chat ``apiFormat`` values the model accepts (empty for embed
    models). ``dimensions`` is the default embedding size; ``output_dimensions`` the sizes a
    caller may pick with ``outputDimensions`` (empty: the field is rejected for this model).
    ``multimodal`` chat models accept image parts (others answer 400); ``reasoning`` models
    return reasoning content when a GENERIC request sets ``reasoningEffort``.
    """

    model_id: str
    kind: str
    version: str = "1.0.0"
    api_formats: tuple[str, ...] = ()
    dimensions: int = 0
    output_dimensions: tuple[int, ...] = ()
    multimodal: bool = False
    reasoning: bool = False
    dedicated_only: bool = False
    """Not offered on demand: reachable only through a dedicated endpoint."""

    @property
    def vendor(self) -> str:
        """The vendor prefix of the id (``meta``, ``cohere``, ``openai``...)."""
        return self.model_id.split(".", 1)[0]


def _chat(
    model_id: str, *formats: str, version: str = "1.0.0", multimodal: bool = False, reasoning: bool = False
) -> ModelSpec:
    return ModelSpec(
        model_id, CHAT, version=version, api_formats=formats or (GENERIC,), multimodal=multimodal, reasoning=reasoning
    )


def _embed(model_id: str, dims: int, *, version: str = "3.0", v4: bool = False, multimodal: bool = False) -> ModelSpec:
    return ModelSpec(
        model_id,
        EMBED,
        version=version,
        dimensions=dims,
        output_dimensions=V4_OUTPUT_DIMENSIONS if v4 else (),
        multimodal=multimodal,
    )


_COHERE_CHAT = (COHERE, COHEREV2)

SEED_MODELS: tuple[ModelSpec, ...] = (
    # Meta Llama (GENERIC)
    _chat("meta.llama-4-maverick-17b-128e-instruct-fp8", multimodal=True),
    _chat("meta.llama-4-scout-17b-16e-instruct", multimodal=True),
    _chat("meta.llama-3.3-70b-instruct"),
    _chat("meta.llama-3.3-70b-instruct-fp8-dynamic"),
    _chat("meta.llama-3.2-90b-vision-instruct", multimodal=True),
    _chat("meta.llama-3.2-11b-vision-instruct", multimodal=True),
    _chat("meta.llama-3.1-405b-instruct"),
    _chat("meta.llama-3.1-70b-instruct"),
    # xAI Grok (GENERIC)
    _chat("xai.grok-3"),
    _chat("xai.grok-3-mini", reasoning=True),
    _chat("xai.grok-3-fast"),
    _chat("xai.grok-3-mini-fast", reasoning=True),
    _chat("xai.grok-4", reasoning=True),
    _chat("xai.grok-4-fast", reasoning=True),
    _chat("xai.grok-4-fast-reasoning", reasoning=True),
    _chat("xai.grok-4-fast-non-reasoning"),
    _chat("xai.grok-4.1-fast", reasoning=True),
    _chat("xai.grok-4.20", reasoning=True),
    _chat("xai.grok-4.20-multi-agent", reasoning=True),
    _chat("xai.grok-4.3", reasoning=True),
    _chat("xai.grok-code-fast-1"),
    # Cohere Command (COHERE v1 and v2; vision needs v2)
    _chat("cohere.command-r-08-2024", *_COHERE_CHAT, version="1.7"),
    _chat("cohere.command-r-plus-08-2024", *_COHERE_CHAT, version="1.6"),
    _chat("cohere.command-a-03-2025", *_COHERE_CHAT, version="1.0"),
    _chat("cohere.command-a-reasoning-08-2025", *_COHERE_CHAT, version="1.0", reasoning=True),
    _chat("cohere.command-a-translate-08-2025", *_COHERE_CHAT, version="1.0"),
    _chat("cohere.command-a-vision-07-2025", COHEREV2, version="1.0", multimodal=True),
    _chat("cohere.command-latest", *_COHERE_CHAT, version="1.0"),
    _chat("cohere.command-plus-latest", *_COHERE_CHAT, version="1.0"),
    # Google Gemini (GENERIC)
    _chat("google.gemini-2.5-pro", multimodal=True, reasoning=True),
    _chat("google.gemini-2.5-flash", multimodal=True, reasoning=True),
    _chat("google.gemini-2.5-flash-lite", multimodal=True, reasoning=True),
    # OpenAI (GENERIC)
    _chat("openai.gpt-oss-120b", reasoning=True),
    _chat("openai.gpt-oss-20b", reasoning=True),
    _chat("openai.gpt-5.4", reasoning=True),
    # Cohere Embed
    _embed("cohere.embed-v4.0", 1536, version="4.0", v4=True, multimodal=True),
    _embed("cohere.embed-english-v3.0", 1024),
    _embed("cohere.embed-multilingual-v3.0", 1024),
    _embed("cohere.embed-english-light-v3.0", 384),
    _embed("cohere.embed-multilingual-light-v3.0", 384),
    _embed("cohere.embed-english-image-v3.0", 1024, multimodal=True),
    _embed("cohere.embed-multilingual-image-v3.0", 1024, multimodal=True),
    _embed("cohere.embed-english-light-image-v3.0", 384, multimodal=True),
    _embed("cohere.embed-multilingual-light-image-v3.0", 384, multimodal=True),
    # Cohere Rerank (rerankText); 3.5 only on dedicated AI clusters
    ModelSpec("cohere.rerank-v4.0-fast", RERANK, version="4.0"),
    ModelSpec("cohere.rerank-v4.0-pro", RERANK, version="4.0"),
    ModelSpec("cohere.rerank.v3-5", RERANK, version="3.5", dedicated_only=True),
)


@dataclass
class ModelTable:
    """Thread-safe catalogue of models and dedicated endpoints (endpoint OCID -> model id).

    Tests mutate it from their own thread while the server thread reads it, hence the lock.
    """

    models: dict[str, ModelSpec] = field(default_factory=dict)
    endpoints: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def seeded(cls, extra: Iterable[ModelSpec] = ()) -> "ModelTable":
        """The standard OCI catalogue plus ``extra``."""
        table = cls()
        for spec in (*SEED_MODELS, *extra):
            table.add(spec)
        return table

    def add(self, spec: ModelSpec) -> None:
        """Register (or replace) a model."""
        with self._lock:
            self.models[spec.model_id] = spec

    def add_dedicated_endpoint(self, endpoint_ocid: str, model_id: str) -> None:
        """Map a dedicated endpoint OCID to a model id, which must already be in the table."""
        with self._lock:
            if model_id not in self.models:
                raise KeyError(f"unknown model id {model_id!r}")
            self.endpoints[endpoint_ocid] = model_id

    def get(self, model_id: str) -> ModelSpec | None:
        with self._lock:
            return self.models.get(model_id)

    def resolve_endpoint(self, endpoint_ocid: str) -> ModelSpec | None:
        """The model a dedicated endpoint serves, or None when the endpoint is unknown."""
        with self._lock:
            model_id = self.endpoints.get(endpoint_ocid)
            return self.models.get(model_id) if model_id else None
