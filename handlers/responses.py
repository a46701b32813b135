"""``POST /v1/responses``: the OpenAI Responses API over every OCI chat model."""

from __future__ import annotations

from core.exchange import Request, Response
from core.policy import key_id_of, owner_of, policy_of
from core.responses.service import create_response
from core.validation import parse_json_object
from handlers.chat import SSE_HEADERS


async def handle(request: Request) -> Response:
    result = await create_response(parse_json_object(request.body), deadline=request.deadline,
                                   request_id=request.request_id, policy=policy_of(request),
                                   key_id=key_id_of(request), owner=owner_of(request))
    if result.stream is not None:
        response = Response(200, {**SSE_HEADERS, **result.headers}, result.stream)
        response.meta.update(model=result.model, api_format=result.api_format, stream=True)
        return response
    response = Response.json(result.body, headers=result.headers)
    response.meta.update(model=result.model, api_format=result.api_format,
                         prompt_tokens=result.usage.get("input_tokens"),
                         completion_tokens=result.usage.get("output_tokens"))
    return response
