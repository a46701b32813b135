"""``GET`` and ``DELETE /v1/responses/{id}``: a stored response, for the API key that created it."""

from __future__ import annotations

from urllib.parse import unquote

from core.exchange import Request, Response
from core.policy import owner_of, policy_of
from core.responses.service import delete_response, get_response


async def handle(request: Request) -> Response:
    response_id = unquote(request.path_params["id"])
    if request.method.upper() == "DELETE":
        return Response.json(await delete_response(response_id, owner=owner_of(request), deadline=request.deadline))
    return Response.json(await get_response(response_id, request.query_params, owner=owner_of(request),
                                            deadline=request.deadline, policy=policy_of(request),
                                            request_id=request.request_id))
