"""The ``file_search`` tool run by the gateway: the vector-store search service asked for a bridged response.

The caller's access to each store is checked exactly as ``/v1/vector_stores/{id}/search`` checks it (same
function, same allow-list), before anything else runs; the search itself runs once the guardrails' input checks
passed (a masked query is what is searched).
"""

from __future__ import annotations

from core.responses.output import new_id
from core.policy import KeyPolicy
from core.responses.file_search import FileSearchPlan, FileSearchRun
from core.settings import Settings


def check(search: FileSearchPlan, settings: Settings, policy: KeyPolicy | None) -> None:
    """404 for a store this gateway does not have, 403 for one the key may not use, 400 for bad filters."""
    from core.vectorstores.filters import compile_filters
    from core.vectorstores.service import check_store

    for position, store in enumerate(search.vector_store_ids):
        check_store(store, settings, policy, param=search.param(f"vector_store_ids[{position}]"))
    compile_filters(search.filters, "c.attributes", param=search.param("filters"))


async def run(search: FileSearchPlan, query: str, *, policy: KeyPolicy | None, deadline: float | None,
              request_id: str) -> FileSearchRun:
    """The best ``max_num_results`` chunks over the tool's stores for ``query``, best first."""
    from core.vectorstores.request import MAX_QUERY_CHARS
    from core.vectorstores.service import search as search_store

    query = query[:MAX_QUERY_CHARS]
    results = []
    for store in search.vector_store_ids:
        results += await search_store(store, query, search.max_num_results, search.filters, ranker=search.ranker,
                                      score_threshold=search.score_threshold, policy=policy, deadline=deadline,
                                      request_id=request_id)
    results.sort(key=lambda result: result["score"], reverse=True)
    return FileSearchRun(new_id("fs"), [query], results[:search.max_num_results])
