"""``POST /v1/embeddings``: OpenAI embeddings answered by OCI Generative AI (Cohere embed models)."""

from __future__ import annotations

from core.embeddings import create_embeddings
from core.policy import policy_of
from core.exchange import Request, Response
from core.validation import parse_json_object


async def handle(request: Request) -> Response:
    result = await create_embeddings(parse_json_object(request.body), deadline=request.deadline,
                                     request_id=request.request_id, policy=policy_of(request))
    request_id = result.request_ids[0] if result.request_ids else request.request_id
    response = Response(200, {"content-type": "application/json", **result.headers, "x-request-id": request_id},
                        result.content)
    response.meta.update(model=result.model, oci_model=result.model_id, inputs=result.inputs,
                         upstream_calls=result.upstream_calls, prompt_tokens=result.prompt_tokens)
    return response
