"""``GET /health`` (any path ending in ``/health``, so ``/v1/health`` too): is this deployment configured?"""

from __future__ import annotations

from core.exchange import Request, Response
from core.health import check_configuration


async def handle(request: Request) -> Response:
    report = check_configuration()
    return Response.json(report.to_json(), status=200 if report.ok else 503, headers={"cache-control": "no-store"})
