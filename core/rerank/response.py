"""Merge the answers of one request's rerankText calls and render the client's shape (pure).

Scores from calls with the same model and query are comparable, so the merge is a sort by
score (ties keep document order); ``top_n`` applies after the merge. Two shapes:

* ``/v2/rerank`` (Cohere v2): ``{id, results: [{index, relevance_score}], meta}``;
* ``/v1/rerank`` and ``/rerank`` (Cohere v1, Jina, Open WebUI): the same plus ``model`` and,
  with ``return_documents``, each result's ``document: {text}``. OCI reports no token counts,
  so there is no ``usage``; ``meta.billed_units.search_units`` counts the OCI calls made.
"""

from __future__ import annotations

from typing import Any, Sequence

from core.errors import APIError, SERVER
from core.rerank.plan import RerankCall
from core.rerank.request import RerankRequest


def merge_ranks(calls: Sequence[RerankCall], results: Sequence[Any], top_n: int | None) -> list[tuple[int, float]]:
    """``(document index, score)`` pairs, best first, at most ``top_n``."""
    ranked: dict[int, float] = {}
    for call, result in zip(calls, results):
        for rank in _ranks(result):
            index, score = rank.get("index"), rank.get("relevanceScore")
            if (isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < call.count
                    or isinstance(score, bool) or not isinstance(score, (int, float))):
                raise _bad_answer("a document rank without a valid index and relevanceScore")
            ranked[call.offset + index] = float(score)
    ordered = sorted(ranked.items(), key=lambda item: (-item[1], item[0]))
    return ordered if top_n is None else ordered[:top_n]


def _ranks(result: Any) -> list[dict[str, Any]]:
    ranks = result.get("documentRanks") if isinstance(result, dict) else None
    if not isinstance(ranks, list) or not all(isinstance(rank, dict) for rank in ranks):
        raise _bad_answer("no documentRanks list")
    return ranks


def _bad_answer(what: str) -> APIError:
    return APIError(500, f"OCI Generative AI answered rerankText with {what}.", type=SERVER,
                    code="upstream_bad_response")


def render(request: RerankRequest, ranked: list[tuple[int, float]], *, response_id: str, model: str,
           calls: int, api_version: int) -> dict[str, Any]:
    """The client's response body for ``api_version`` 1 or 2."""
    results: list[dict[str, Any]] = []
    for index, score in ranked:
        item: dict[str, Any] = {"index": index, "relevance_score": score}
        if api_version == 1 and request.return_documents:
            item["document"] = {"text": request.documents[index]}
        results.append(item)
    body: dict[str, Any] = {"id": response_id}
    if api_version == 1:
        body["model"] = model
    body["results"] = results
    body["meta"] = {"api_version": {"version": str(api_version)}, "billed_units": {"search_units": calls}}
    return body
