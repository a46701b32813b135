"""OCI Generative AI ``/actions/rerankText``, deterministically.

A document's score is the share of the query's distinct words it contains (lower-cased
``\\w+`` words), rounded to 6 places, so tests can compute the expected ranking by hand.
``maxTokensPerDocument`` keeps a document's first N words before scoring (so truncation is
observable), ``topN`` keeps the best N, ties keep document order, and ``isEcho`` adds each
document's text. The answer has the fields of OCI's captured on-demand response: ``id``,
``modelId`` and ``documentRanks``.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from .genai import GenAIHost, resolve_model
from .validation import parse_json, validate, validate_for_model
from .wire import EmuRequest, EmuResponse

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def relevance(query: str, document: str, max_tokens: int | None = None) -> float:
    """Share of the query's distinct words found in the (truncated) document."""
    wanted = set(words(query))
    kept = words(document)
    if max_tokens is not None:
        kept = kept[:max_tokens]
    return round(len(wanted & set(kept)) / len(wanted), 6) if wanted else 0.0


def document_ranks(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    scores = [relevance(body["input"], doc, body.get("maxTokensPerDocument")) for doc in body["documents"]]
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    top_n = body.get("topN") or len(order)
    ranks: list[dict[str, Any]] = []
    for index in order[:top_n]:
        rank: dict[str, Any] = {"index": index, "relevanceScore": scores[index]}
        if body.get("isEcho"):
            rank["document"] = {"text": body["documents"][index]}
        ranks.append(rank)
    return ranks


async def rerank_text(host: GenAIHost, request: EmuRequest) -> EmuResponse:
    """``POST /20231130/actions/rerankText``."""
    body = request.json if request.json is not None else parse_json(request.body)
    validate("rerank", body)
    model = resolve_model(host.models, body["servingMode"])
    validate_for_model("rerank", body, model)
    payload = {"id": request.request_id, "modelId": model.model_id, "documentRanks": document_ranks(body)}
    return EmuResponse.json(200, payload, {"opc-request-id": request.request_id})
