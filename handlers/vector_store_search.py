"""``POST /v1/vector_stores/{id}/search``: the nearest chunks of a bucket's store, in OpenAI's search page."""

from __future__ import annotations

from urllib.parse import unquote

from core.exchange import Request, Response
from core.policy import policy_of
from core.validation import parse_json_object
from core.vectorstores.service import search_vector_store


async def handle(request: Request) -> Response:
    store = unquote(request.path_params["id"])
    page = await search_vector_store(store, parse_json_object(request.body), policy=policy_of(request),
                                     deadline=request.deadline, request_id=request.request_id)
    response = Response.json(page)
    response.meta.update(vector_store=store, results=len(page["data"]))
    return response
