"""The ``file_search`` tool on a bridged model, as data: its checked settings, the query, the context the model
is given, the ``file_search_call`` item and the ``file_citation`` annotations (pure).

The gateway searches before the model is called, with the newest user message as the query (one model call,
whatever the model's tool-calling skills; see docs/decisions.md). The retrieved chunks reach the model as a
system message that numbers them and names their files; the answer's text cites every file whose chunks were
given to the model, once each, in the order of their best chunk, at the end of the text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.errors import invalid_request
from core.responses.schema import FileSearchTool, InputText, Message, OutputText

MAX_STORES = 2
"""Vector stores one ``file_search`` tool may name (OpenAI's limit)."""
DEFAULT_RESULTS = 10
RESULTS_INCLUDE = "file_search_call.results"
RANKERS = ("none", "auto", "default-2024-11-15")
CONTEXT_SHARE = 4
"""The retrieved passages take at most 1/CONTEXT_SHARE of the model's context window."""
CHARS_PER_TOKEN = 3
"""A cautious estimate (English prose runs near 4 characters a token, code and other languages lower)."""
DEFAULT_CONTEXT_WINDOW = 32_000
"""Tokens assumed for a model whose context window the catalog does not record."""
CONTEXT_HEADER = ("Passages retrieved by file search from the user's documents, best match first. Answer from "
                  "them when they are relevant and say so when they do not hold the answer.")


@dataclass(frozen=True)
class FileSearchPlan:
    """A checked ``file_search`` tool: where it sits in ``tools`` and what it asks for."""

    index: int
    vector_store_ids: tuple[str, ...]
    max_num_results: int = DEFAULT_RESULTS
    filters: Any = None
    ranker: str = "auto"
    score_threshold: float | None = None

    def param(self, name: str) -> str:
        return f"tools[{self.index}].{name}"


@dataclass
class FileSearchRun:
    """One search made for a response: its queries and results (OpenAI's vector-store search results)."""

    item_id: str
    queries: list[str]
    results: list[dict[str, Any]] = field(default_factory=list)


def plan(tool: FileSearchTool, index: int) -> FileSearchPlan:
    """The tool's settings checked, each error naming its place in ``tools``."""
    where = f"tools[{index}]"
    ids = tool.vector_store_ids
    if not ids or not all(isinstance(i, str) and i.strip() for i in ids):
        raise invalid_request(f"'{where}.vector_store_ids' must name at least one vector store.",
                              param=f"{where}.vector_store_ids", code="invalid_value")
    if len(ids) > MAX_STORES:
        raise invalid_request(f"'{where}.vector_store_ids' may name at most {MAX_STORES} vector stores "
                              f"({len(ids)} given).", param=f"{where}.vector_store_ids", code="too_many_vector_stores")
    ranker, threshold = _ranking(tool.ranking_options, f"{where}.ranking_options")
    return FileSearchPlan(index, tuple(dict.fromkeys(ids)), tool.max_num_results or DEFAULT_RESULTS, tool.filters,
                          ranker, threshold)


def _ranking(value: dict[str, Any] | None, param: str) -> tuple[str, float | None]:
    value = value or {}
    ranker = value.get("ranker", "auto")
    if ranker not in RANKERS:
        raise invalid_request(f"'{param}.ranker' must be one of {', '.join(RANKERS)}.", param=f"{param}.ranker",
                              code="invalid_value")
    threshold = value.get("score_threshold")
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float))
                                  or not 0.0 <= threshold <= 1.0):
        raise invalid_request(f"'{param}.score_threshold' must be a number between 0 and 1.",
                              param=f"{param}.score_threshold", code="invalid_value")
    return str(ranker), None if threshold is None else float(threshold)


def newest_query(conversation: list[Any]) -> str | None:
    """The text of the newest user message (None when there is none, or it holds no text)."""
    for item in reversed(conversation):
        if isinstance(item, Message) and item.role == "user":
            content = item.content
            if isinstance(content, str):
                text = content
            else:
                text = "\n".join(part.text for part in content if isinstance(part, (InputText, OutputText)))
            return text.strip() or None
    return None


def fitted(run: FileSearchRun, context_window: int | None) -> FileSearchRun:
    """The best results whose passages fit the model's share of context (the best one always): 50 long chunks
    must not turn a question into a 400 for a model with a small window."""
    budget = (context_window or DEFAULT_CONTEXT_WINDOW) // CONTEXT_SHARE * CHARS_PER_TOKEN
    kept: list[dict[str, Any]] = []
    used = len(CONTEXT_HEADER)
    for result in run.results:
        used += len(result["filename"]) + len(passage_text(result)) + 8
        if kept and used > budget:
            break
        kept.append(result)
    return run if len(kept) == len(run.results) else FileSearchRun(run.item_id, run.queries, kept)


def context(run: FileSearchRun) -> str:
    """The system message that hands the retrieved chunks to the model."""
    if not run.results:
        return f"File search for {run.queries[0]!r} found no passages in the user's documents."
    blocks = [f"[{n}] {result['filename']}\n{passage_text(result)}" for n, result in enumerate(run.results, 1)]
    return "\n\n".join([CONTEXT_HEADER, *blocks])


def passage_text(result: dict[str, Any]) -> str:
    """A search result's text (its content parts joined)."""
    return "\n".join(part.get("text", "") for part in result.get("content") or ())


def with_passage_text(result: dict[str, Any], text: str) -> dict[str, Any]:
    """The result with ``text`` as its only content part (a masked passage); itself when the text is unchanged."""
    return result if text == passage_text(result) else {**result, "content": [{"type": "text", "text": text}]}


def call_item(run: FileSearchRun, *, with_results: bool, status: str = "completed") -> dict[str, Any]:
    """The ``file_search_call`` output item; its ``results`` only when the caller included them."""
    results = None
    if with_results:
        results = [{"file_id": r["file_id"], "filename": r["filename"], "score": r["score"],
                    "attributes": r.get("attributes") or {}, "text": passage_text(r)} for r in run.results]
    return {"id": run.item_id, "type": "file_search_call", "status": status, "queries": list(run.queries),
            "results": results}


def citations(run: FileSearchRun | None, text: str) -> list[dict[str, Any]]:
    """``file_citation`` annotations for an answer ``text``: each file given to the model, once, at its end."""
    if run is None or not text:
        return []
    files = {r["file_id"]: r["filename"] for r in run.results}
    return [{"type": "file_citation", "file_id": fid, "filename": name, "index": len(text)}
            for fid, name in files.items()]


def with_search(response: dict[str, Any], run: FileSearchRun | None, *, with_results: bool) -> dict[str, Any]:
    """A finished response with the ``file_search_call`` item first and the citations on its message's text."""
    if run is None:
        return response
    output = [call_item(run, with_results=with_results)]
    for item in response.get("output") or ():
        if item.get("type") == "message":
            for part in item.get("content") or ():
                if part.get("type") == "output_text":
                    part["annotations"] = [*part.get("annotations", ()), *citations(run, part["text"])]
        output.append(item)
    return {**response, "output": output}
