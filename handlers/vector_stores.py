"""``GET /v1/vector_stores`` and ``GET /v1/vector_stores/{id}``: the buckets' vector stores."""

from __future__ import annotations

from urllib.parse import unquote

from core.exchange import Request, Response
from core.policy import policy_of
from core.vectorstores.service import list_vector_stores, retrieve_vector_store


async def handle(request: Request) -> Response:
    store = request.path_params.get("id")
    if store is None:
        return Response.json(await list_vector_stores(request.query_params, policy_of(request)))
    return Response.json(await retrieve_vector_store(unquote(store), policy_of(request)))
