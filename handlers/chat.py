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
        headers = result.headers  # the same dict: guardrail reports of a stream land in it while it runs
        headers.update({**SSE_HEADERS, "x-request-id": result.request_id})
        response = Response(200, headers, result.stream)
        response.meta.update(model=result.model, api_format=result.api_format, stream=True)
        return response
    response = Response.json(result.body, headers={"x-request-id": result.request_id, **result.headers})
    response.meta.update(model=result.model, api_format=result.api_format,
                         prompt_tokens=result.usage.get("prompt_tokens"),
                         completion_tokens=result.usage.get("completion_tokens"), **guardrail_facts(result.headers))
    return response


def guardrail_facts(headers: dict[str, str]) -> dict[str, str]:
    """Guardrail reports for the request's log line (scores and labels, never text)."""
    return {name.replace("x-guardrails-", "guardrails_"): value for name, value in headers.items()
            if name.startswith("x-guardrails-")}
