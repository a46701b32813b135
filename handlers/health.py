"""``GET /health`` (any path ending in ``/health``, so ``/v1/health`` too): is this deployment configured?

``?deep=1`` also reads OCI's model list when it is stale.
"""

from __future__ import annotations

from core.exchange import Request, Response
from core.health import check

DEEP = ("1", "true", "yes")


async def handle(request: Request) -> Response:
    report = await check(deep=request.query_params.get("deep", "").lower() in DEEP, deadline=request.deadline)
    return Response.json(report.to_json(), status=200 if report.ok else 503, headers={"cache-control": "no-store"})
