"""OpenAI's vector-store requests checked, and its response objects built (pure).

* search: ``query`` (a string or a list of strings), ``max_num_results`` (1-50, default 10), ``filters``,
  ``ranking_options`` (``ranker`` ``none``/``auto``/``default-2024-11-15``, ``score_threshold`` 0-1),
  ``rewrite_query`` (accepted; the query is searched as written, and ``search_query`` says so);
* list: ``limit`` (1-100, default 20), ``order`` (``asc``/``desc`` by ``created_at``, default ``desc``),
  ``after`` / ``before`` (store ids, as the SDK's cursor pages send them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.errors import invalid_request

MAX_RESULTS = 50
DEFAULT_RESULTS = 10
MAX_QUERIES = 16
MAX_QUERY_CHARS = 16_000
RANKERS = ("none", "auto", "default-2024-11-15")
_KNOWN_SEARCH_FIELDS = frozenset({"query", "max_num_results", "filters", "ranking_options", "rewrite_query"})


@dataclass(frozen=True)
class SearchRequest:
    queries: list[str]
    max_num_results: int = DEFAULT_RESULTS
    filters: Any = None
    ranker: str = "auto"
    score_threshold: float | None = None
    rewrite_query: bool = False


@dataclass(frozen=True)
class ListRequest:
    limit: int = 20
    order: str = "desc"
    after: str | None = None
    before: str | None = None


def parse_search(body: dict[str, Any]) -> SearchRequest:
    unknown = sorted(set(body) - _KNOWN_SEARCH_FIELDS)
    if unknown:
        raise invalid_request(f"Unrecognized request argument supplied: {unknown[0]}", param=unknown[0],
                              code="unknown_parameter")
    queries = _queries(body.get("query"))
    count = body.get("max_num_results", DEFAULT_RESULTS)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_RESULTS:
        raise invalid_request(f"'max_num_results' must be an integer between 1 and {MAX_RESULTS}.",
                              param="max_num_results", code="invalid_value")
    ranker, threshold = _ranking(body.get("ranking_options"))
    rewrite = body.get("rewrite_query", False)
    if not isinstance(rewrite, bool):
        raise invalid_request("'rewrite_query' must be a boolean.", param="rewrite_query", code="invalid_type")
    return SearchRequest(queries, count, body.get("filters"), ranker, threshold, rewrite)


def _queries(value: Any) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(q, str) and q.strip() for q in items):
        raise invalid_request("'query' must be a non-empty string or a non-empty list of non-empty strings.",
                              param="query", code="invalid_value")
    if len(items) > MAX_QUERIES or any(len(q) > MAX_QUERY_CHARS for q in items):
        raise invalid_request(f"'query' may hold at most {MAX_QUERIES} strings of at most {MAX_QUERY_CHARS} "
                              "characters.", param="query", code="invalid_value")
    return list(items)


def _ranking(value: Any) -> tuple[str, float | None]:
    if value is None:
        return "auto", None
    if not isinstance(value, dict):
        raise invalid_request("'ranking_options' must be an object.", param="ranking_options", code="invalid_type")
    ranker = value.get("ranker", "auto")
    if ranker not in RANKERS:
        raise invalid_request(f"'ranking_options.ranker' must be one of {', '.join(RANKERS)}.",
                              param="ranking_options.ranker", code="invalid_value")
    threshold = value.get("score_threshold")
    if threshold is None:
        return str(ranker), None
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold) \
            or not 0.0 <= threshold <= 1.0:
        raise invalid_request("'ranking_options.score_threshold' must be a number between 0 and 1.",
                              param="ranking_options.score_threshold", code="invalid_value")
    return str(ranker), float(threshold)


def parse_list(query: dict[str, str]) -> ListRequest:
    raw = query.get("limit", "20")
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise invalid_request("'limit' must be an integer between 1 and 100.", param="limit", code="invalid_value")
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise invalid_request("'order' must be 'asc' or 'desc'.", param="order", code="invalid_value")
    return ListRequest(int(raw), order, query.get("after") or None, query.get("before") or None)


def page(items: list[dict[str, Any]], request: ListRequest) -> dict[str, Any]:
    """OpenAI's list page of ``items`` (already in the requested order) after/before a cursor."""
    ids = [item["id"] for item in items]
    start, end = 0, len(items)
    if request.after is not None:
        start = ids.index(request.after) + 1 if request.after in ids else len(items)
    if request.before is not None:
        end = ids.index(request.before) if request.before in ids else 0
        start = max(start, end - request.limit)
    chosen = items[start:end][:request.limit]
    return {"object": "list", "data": chosen, "first_id": chosen[0]["id"] if chosen else None,
            "last_id": chosen[-1]["id"] if chosen else None, "has_more": start + len(chosen) < end}


def epoch(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def vector_store_object(store_id: str, bucket: str, record: Any, counts: Any, model: str) -> dict[str, Any]:
    """OpenAI's ``vector_store`` for a configured bucket (``record``/``counts`` None before its first object)."""
    completed = getattr(counts, "completed", 0)
    in_progress = getattr(counts, "in_progress", 0)
    failed = getattr(counts, "failed", 0)
    metadata = {"bucket": bucket, "model": getattr(record, "model", model)}
    if record is not None:
        metadata["dimensions"] = str(record.dimensions)
    return {
        "id": store_id, "object": "vector_store", "name": bucket,
        "created_at": epoch(getattr(record, "created_at", None)) or 0,
        "last_active_at": epoch(getattr(counts, "last_active", None)),
        "usage_bytes": getattr(counts, "usage_bytes", 0),
        "file_counts": {"in_progress": in_progress, "completed": completed, "failed": failed, "cancelled": 0,
                        "total": completed + in_progress + failed},
        "status": "in_progress" if in_progress else "completed",
        "expires_after": None, "expires_at": None, "metadata": metadata,
    }


def search_result(hit: Any, bucket: str, file_id: str) -> dict[str, Any]:
    return {"file_id": file_id, "filename": hit.object, "score": round(hit.score, 6), "attributes": hit.attributes,
            "content": [{"type": "text", "text": hit.text}]}


def search_page(queries: list[str], results: list[dict[str, Any]]) -> dict[str, Any]:
    return {"object": "vector_store.search_results.page", "search_query": queries, "data": results,
            "has_more": False, "next_page": None}
