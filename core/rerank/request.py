"""Parse and check a rerank request (Cohere v1/v2, Jina and Open WebUI send the same core fields).

Pure: JSON object in, :class:`RerankRequest` out, or a 400 whose ``param`` names the field.
Documents are strings or ``{"text": ...}`` objects. Fields whose meaning OCI cannot honour
(``rank_fields``, ``relevant_spans`` enabled) are refused rather than silently ignored;
``priority`` only orders work inside Cohere's own service, so it is accepted and dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.errors import invalid_request
from core.validation import boolean, integer, string, wrong_type


@dataclass(frozen=True)
class RerankRequest:
    """A checked rerank request; ``None`` means "not sent"."""

    model: str
    query: str
    documents: tuple[str, ...]
    top_n: int | None = None
    max_tokens_per_doc: int | None = None
    max_chunks_per_doc: int | None = None
    return_documents: bool = False


def parse_rerank_request(data: dict[str, Any]) -> RerankRequest:
    """Check a rerank body and normalize it."""
    model = (string(data, "model", required=True, non_empty=True) or "").strip()
    query = string(data, "query", required=True, non_empty=True) or ""
    documents = _documents(data.get("documents"))
    _refuse_unsupported(data)
    return RerankRequest(
        model=model,
        query=query,
        documents=documents,
        top_n=integer(data, "top_n", minimum=1),
        max_tokens_per_doc=integer(data, "max_tokens_per_doc", minimum=1),
        max_chunks_per_doc=integer(data, "max_chunks_per_doc", minimum=1),
        return_documents=bool(boolean(data, "return_documents")),
    )


def _documents(value: Any) -> tuple[str, ...]:
    if value is None:
        raise invalid_request("Missing required parameter: 'documents'.", param="documents",
                              code="missing_required_parameter")
    if not isinstance(value, list):
        raise wrong_type("documents", "an array of strings or {\"text\": ...} objects", value)
    if not value:
        raise invalid_request("'documents' must contain at least one document.", param="documents",
                              code="invalid_value")
    return tuple(_document(item, f"documents[{i}]") for i, item in enumerate(value))


def _document(item: Any, param: str) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        return string(item, "text", f"{param}.text", required=True) or ""
    raise wrong_type(param, "a string or a {\"text\": ...} object", item)


def _refuse_unsupported(data: dict[str, Any]) -> None:
    if data.get("rank_fields") is not None:
        raise invalid_request("'rank_fields' is not supported: OCI reranks plain text; send each document as a "
                              "string (YAML for structured data).", param="rank_fields", code="unsupported_parameter")
    spans = data.get("relevant_spans")
    if spans is None:
        return
    if not isinstance(spans, dict):
        raise wrong_type("relevant_spans", "an object", spans)
    if spans.get("mode") not in (None, "disabled"):
        raise invalid_request("'relevant_spans' is not supported by OCI Generative AI's rerank models.",
                              param="relevant_spans.mode", code="unsupported_parameter")
