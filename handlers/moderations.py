"""``POST /v1/moderations``: OpenAI's moderation shape over OCI ApplyGuardrails (see docs/rerank-and-guardrails.md)."""

from __future__ import annotations

from core.exchange import Request, Response
from core.moderations.service import create_moderation
from core.validation import parse_json_object


async def handle(request: Request) -> Response:
    result = await create_moderation(parse_json_object(request.body), deadline=request.deadline,
                                     request_id=request.request_id)
    response = Response.json(result.body, headers={"x-request-id": request.request_id} if request.request_id else {})
    response.meta.update(model=result.body["model"], inputs=result.inputs, flagged=result.flagged)
    return response
