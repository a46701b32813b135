"""``POST /v2/rerank`` (Cohere v2), ``/v1/rerank`` and ``/rerank`` (Cohere v1, Jina, Open WebUI) over OCI rerankText."""

from __future__ import annotations

from core.exchange import Request, Response
from core.policy import policy_of
from core.rerank import rerank
from core.validation import parse_json_object


async def handle(request: Request) -> Response:
    api_version = 2 if request.path.rstrip("/").endswith("/v2/rerank") else 1
    result = await rerank(parse_json_object(request.body), api_version=api_version, deadline=request.deadline,
                          request_id=request.request_id, policy=policy_of(request))
    response = Response.json(result.body, headers={"x-request-id": result.request_ids[0] or request.request_id})
    response.meta.update(model=result.model, oci_model=result.model_id,
                         documents=result.documents, upstream_calls=result.upstream_calls)
    return response
