"""The scheduled reconciliation (role ``ingest``): ``{"gatewayReconcile": {...}}`` in, counts out."""

from __future__ import annotations

from core.exchange import Request, Response
from core.ingest.reconcile import reconcile_invocation
from core.validation import parse_json_object


async def handle(request: Request) -> Response:
    answer = await reconcile_invocation(parse_json_object(request.body), deadline=request.deadline,
                                        request_id=request.request_id)
    response = Response.json(answer)
    response.meta.update(reconcile=answer["status"])
    return response
