"""``GET /v1/models`` and ``GET /v1/models/{id}``: what this deployment serves (OCI's list, cached, and the table)."""

from __future__ import annotations

from urllib.parse import unquote

from core.exchange import Request, Response
from core.models import get_model, list_models
from core.policy import policy_of


async def handle(request: Request) -> Response:
    model_id = request.path_params.get("id")
    policy = policy_of(request)
    if model_id is None:
        return Response.json(await list_models(policy, deadline=request.deadline))
    return Response.json(await get_model(unquote(model_id), policy, deadline=request.deadline))
