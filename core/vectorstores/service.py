"""The OpenAI vector-store API over the buckets' stores: list, retrieve, search.

The stores are the input buckets of the ingest configuration (``INGEST_INPUT_BUCKETS``, which the gateway reads
too), one ``vs_<bucket>`` each. A key's allow-list (``X-Gateway-Allowed-Models``) names the stores it may use
with the same patterns as models (``vs_docs``, ``vs_*``); a store it may not use is left out of lists and is a
403 elsewhere.

A search embeds the query with the store's own model as a search query (documents were embedded as search
documents), then asks PostgreSQL for the nearest live chunks (cosine). A store whose recorded model differs from
the one the ingestion is configured with answers 409 naming the re-embedding: its vectors and new documents'
would not be comparable. :func:`search` is the call other features use (the Responses API's ``file_search``).
"""

from __future__ import annotations

from typing import Any

from core import runtime
from core.errors import PERMISSION, APIError, not_found
from core.ingest.config import BucketRef
from core.policy import KeyPolicy
from core.settings import Settings
from core.vectorstores import request as shapes
from core.vectorstores.filters import compile_filters
from core.vectorstores.ids import file_id, store_id


def configured_stores(settings: Settings) -> dict[str, str]:
    """Store id -> bucket for every input bucket (empty when ingestion is not configured)."""
    raw = settings.ingest_input_buckets or ""
    refs = [BucketRef.parse(part, "INGEST_INPUT_BUCKETS") for part in raw.split(",") if part.strip()]
    return {store_id(ref.bucket): ref.bucket for ref in refs}


def _require_database(settings: Settings) -> None:
    if not (settings.vector_store_url or settings.vector_store_url_secret_ocid):
        raise APIError(404, "Vector stores are not enabled on this gateway (no VECTOR_STORE_URL).",
                       code="vector_stores_not_enabled")


def _bucket(store: str, settings: Settings, policy: KeyPolicy | None) -> str:
    bucket = configured_stores(settings).get(store)
    if bucket is None:
        raise not_found(f"No vector store found with id '{store}'.", code="vector_store_not_found")
    if policy is not None and not policy.allows(store):
        raise APIError(403, f"This API key may not use the vector store '{store}'.", type=PERMISSION,
                       param="vector_store_id", code="vector_store_not_allowed")
    return bucket


async def _tables() -> Any:
    from core.vectorstores.store import VectorTables

    return VectorTables(await runtime.database())


async def list_vector_stores(query: dict[str, str], policy: KeyPolicy | None = None) -> dict[str, Any]:
    settings = runtime.settings()
    _require_database(settings)
    listing = shapes.parse_list(query)
    stores = {sid: b for sid, b in configured_stores(settings).items() if policy is None or policy.allows(sid)}
    tables = await _tables()
    records, counts = await tables.stores(stores), await tables.counts(stores)
    items = [shapes.vector_store_object(sid, bucket, records.get(sid), counts.get(sid),
                                        settings.ingest_embedding_model) for sid, bucket in stores.items()]
    items.sort(key=lambda item: (item["created_at"], item["id"]), reverse=listing.order == "desc")
    return shapes.page(items, listing)


async def retrieve_vector_store(store: str, policy: KeyPolicy | None = None) -> dict[str, Any]:
    settings = runtime.settings()
    _require_database(settings)
    bucket = _bucket(store, settings, policy)
    tables = await _tables()
    record, counts = await tables.store(store), (await tables.counts([store])).get(store)
    return shapes.vector_store_object(store, bucket, record, counts, settings.ingest_embedding_model)


async def search_vector_store(store: str, body: dict[str, Any], *, policy: KeyPolicy | None = None,
                              deadline: float | None = None, request_id: str = "") -> dict[str, Any]:
    """``POST /v1/vector_stores/{store}/search``: OpenAI's search page."""
    parsed = shapes.parse_search(body)
    compile_filters(parsed.filters, "c.attributes")  # a bad filter is a 400 before anything is embedded
    results = await search(store, parsed.queries, parsed.max_num_results, parsed.filters,
                           score_threshold=parsed.score_threshold, policy=policy, deadline=deadline,
                           request_id=request_id)
    return shapes.search_page(parsed.queries, results)


async def search(store: str, query: str | list[str], max_num_results: int = shapes.DEFAULT_RESULTS,
                 filters: Any = None, *, score_threshold: float | None = None, policy: KeyPolicy | None = None,
                 deadline: float | None = None, request_id: str = "") -> list[dict[str, Any]]:
    """The best ``max_num_results`` chunks of ``store`` for ``query`` (a string or several: each chunk scores its
    best), as OpenAI's search results, best first."""
    settings = runtime.settings()
    _require_database(settings)
    bucket = _bucket(store, settings, policy)
    queries = [query] if isinstance(query, str) else list(query)
    condition = compile_filters(filters, "c.attributes")
    tables = await _tables()
    record = await tables.store(store)
    if record is None:
        return []  # nothing ingested yet
    if record.model != settings.ingest_embedding_model:
        from core.vectorstores.store import StoreModelMismatch

        raise StoreModelMismatch(record, settings.ingest_embedding_model, None)
    vectors = await _embed(record.model, queries, deadline, request_id, settings)
    best: dict[tuple[str, int], Any] = {}
    for vector in vectors:
        for hit in await tables.search(record, vector, max_num_results, condition):
            key = (hit.object, hit.chunk)
            if key not in best or hit.score > best[key].score:
                best[key] = hit
    ranked = sorted(best.values(), key=lambda h: h.score, reverse=True)
    return [shapes.search_result(hit, bucket, file_id(bucket, hit.object)) for hit in ranked[:max_num_results]
            if score_threshold is None or hit.score >= score_threshold]


async def _embed(model: str, queries: list[str], deadline: float | None, request_id: str,
                 settings: Settings) -> list[list[float]]:
    """The queries' vectors, by the store's model, as search queries (the store's grant covers the model)."""
    from core.embeddings import create_embeddings

    result = await create_embeddings({"model": model, "input": queries, "encoding_format": "float",
                                      "input_type": "search_query"},
                                     deadline=deadline, request_id=request_id, settings=settings)
    return [item["embedding"] for item in result.body["data"]]
