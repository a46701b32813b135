"""The ``authorizer`` role: OCI API Gateway's authorizer function, always HTTP 200 with its contract's JSON."""

from __future__ import annotations

from core.authorizer import authorize
from core.exchange import Request, Response


async def handle(request: Request) -> Response:
    payload, facts = await authorize(request.body, deadline=request.deadline, request_id=request.request_id)
    response = Response.json(payload, headers={"cache-control": "no-store"})
    response.meta.update(facts)
    return response
