"""``fn invoke`` with ``{"doctor": true}``: what this role's own grants reach, each failure with its fix."""

from __future__ import annotations

from core.doctor import for_invocation
from core.exchange import Request, Response
from core.validation import parse_json_object


async def handle(request: Request) -> Response:
    report = await for_invocation(parse_json_object(request.body), deadline=request.deadline)
    return Response.json(report, headers={"cache-control": "no-store"})
