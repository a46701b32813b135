"""From a checked rerank request to the OCI ``rerankText`` calls that answer it (pure).

OCI states no per-call document limit, so the gateway sets one
(``RERANK_MAX_DOCUMENTS_PER_CALL``) and also keeps every call's body under
:data:`MAX_CALL_BYTES`. Each call asks for at most ``top_n`` results: the overall top ``n``
is always inside the union of every call's top ``n``, so merging loses nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from core.aliases import DEDICATED, ResolvedModel
from core.errors import invalid_request
from core.rerank.request import RerankRequest

MAX_CALL_BYTES = 6 * 1024 * 1024 - 64 * 1024
"""Largest rerankText body sent (OCI's documented request limit is 6 MB; the rest is headroom)."""


@dataclass(frozen=True)
class RerankCall:
    """One upstream call: the request position of its first document, and its ``RerankTextDetails`` body."""

    offset: int
    count: int
    body: dict[str, Any]


def check_servable(target: ResolvedModel) -> None:
    """400 for a dedicated-only model called on demand (it needs an alias naming its endpoint)."""
    if target.info.dedicated_only and target.serving_mode != DEDICATED:
        raise invalid_request(
            f"The model '{target.name}' is served by OCI only on a dedicated AI cluster; call it through an alias "
            "with serving_mode DEDICATED and the endpoint's OCID.", param="model", code="model_not_on_demand")


def _size(text: str) -> int:
    """Bytes ``text`` takes as a JSON string (quotes, escapes and a separating comma included)."""
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8")) + 1


def plan_calls(request: RerankRequest, *, serving_mode: dict[str, str], compartment_id: str,
               max_documents: int, max_bytes: int = MAX_CALL_BYTES) -> list[RerankCall]:
    """The calls, in document order; each holds at most ``max_documents`` documents and ``max_bytes`` of JSON."""
    envelope = {"input": request.query, "compartmentId": compartment_id, "servingMode": serving_mode,
                "documents": [], "topN": 0, "isEcho": False}
    if request.max_tokens_per_doc is not None:
        envelope["maxTokensPerDocument"] = request.max_tokens_per_doc
    if request.max_chunks_per_doc is not None:
        envelope["maxChunksPerDocument"] = request.max_chunks_per_doc
    room = max_bytes - len(json.dumps(envelope, ensure_ascii=False).encode("utf-8"))
    calls: list[RerankCall] = []
    start, used = 0, 0
    for index, document in enumerate(request.documents):
        size = _size(document)
        if size > room:
            raise invalid_request(f"'documents[{index}]' is too large to rerank ({size} bytes; at most {room}).",
                                  param=f"documents[{index}]", code="document_too_large")
        if index > start and (index - start >= max(1, max_documents) or used + size > room):
            calls.append(_call(envelope, request, start, index))
            start, used = index, 0
        used += size
    calls.append(_call(envelope, request, start, len(request.documents)))
    return calls


def _call(envelope: dict[str, Any], request: RerankRequest, start: int, end: int) -> RerankCall:
    documents = list(request.documents[start:end])
    top_n = len(documents) if request.top_n is None else min(request.top_n, len(documents))
    return RerankCall(start, len(documents), {**envelope, "documents": documents, "topN": top_n})
