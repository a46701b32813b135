"""``POST /v1/responses``: the OpenAI Responses API over every OCI chat model."""

from __future__ import annotations

from core.exchange import Request, Response
from core.policy import key_id_of, owner_of, policy_of
from core.responses.service import create_response
from core.validation import parse_json_object
from handlers.chat import SSE_HEADERS, guardrail_facts


async def handle(request: Request) -> Response:
    result = await create_response(parse_json_object(request.body), deadline=request.deadline,
                                   request_id=request.request_id, policy=policy_of(request),
                                   key_id=key_id_of(request), owner=owner_of(request))
    if result.stream is not None:
        headers = result.headers  # the same dict: guardrail reports of a stream land in it while it runs
        headers.update(SSE_HEADERS)
        response = Response(200, headers, result.stream)
        response.meta.update(model=result.model, api_format=result.api_format, stream=True)
        return response
    response = Response.json(result.body, headers=result.headers)
    response.meta.update(model=result.model, api_format=result.api_format,
                         prompt_tokens=result.usage.get("input_tokens"),
                         completion_tokens=result.usage.get("output_tokens"), **guardrail_facts(result.headers))
    return response
