"""``GET /v1/responses/{id}/input_items``: the input items of a stored response, for the key that created it."""

from __future__ import annotations

from urllib.parse import unquote

from core.exchange import Request, Response
from core.policy import owner_of
from core.responses.service import list_input_items


async def handle(request: Request) -> Response:
    return Response.json(await list_input_items(unquote(request.path_params["id"]), request.query_params,
                                                owner=owner_of(request), deadline=request.deadline))
