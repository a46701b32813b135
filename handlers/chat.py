"""``POST /v1/chat/completions``: an OpenAI chat completion answered by OCI Generative AI."""

from __future__ import annotations

from core.chat.service import create_chat_completion
from core.exchange import Request, Response
from core.policy import key_id_of, policy_of
from core.validation import parse_json_object

SSE_HEADERS = {"content-type": "text/event-stream", "cache-control": "no-cache"}


async def handle(request: Request) -> Response:
    result = await create_chat_completion(parse_json_object(request.body), deadline=request.deadline,
                                          request_id=request.request_id, policy=policy_of(request),
                                          key_id=key_id_of(request))
    if result.stream is not None:
        response = Response(200, {**SSE_HEADERS, **result.headers, "x-request-id": result.request_id}, result.stream)
        response.meta.update(model=result.model, api_format=result.api_format, stream=True)
        return response
    response = Response.json(result.body, headers={**result.headers, "x-request-id": result.request_id})
    response.meta.update(model=result.model, api_format=result.api_format,
                         prompt_tokens=result.usage.get("prompt_tokens"),
                         completion_tokens=result.usage.get("completion_tokens"))
    return response
