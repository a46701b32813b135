"""``POST /v1/embeddings``: OpenAI embeddings answered by OCI Generative AI (Cohere embed models)."""

from __future__ import annotations

from core.embeddings import create_embeddings
from core.policy import policy_of
from core.exchange import Request, Response
from core.validation import parse_json_object


async def handle(request: Request) -> Response:
    result = await create_embeddings(parse_json_object(request.body), deadline=request.deadline,
                                     request_id=request.request_id, policy=policy_of(request))
    response = Response.json(result.body, headers={**result.headers, "x-request-id": result.request_ids[0]
                                                   if result.request_ids else request.request_id})
    response.meta.update(model=result.body["model"], oci_model=result.model_id, inputs=len(result.body["data"]),
                         upstream_calls=result.upstream_calls,
                         prompt_tokens=result.body["usage"]["prompt_tokens"])
    return response
