"""``GET /health`` (any path ending in ``/health``, so ``/v1/health`` too): is this deployment configured?

``?deep=1`` (keys marked admin only) also runs the gateway's doctor checks: real model calls, at most once a
minute per container.
"""

from __future__ import annotations

from core.errors import PERMISSION, APIError
from core.exchange import Request, Response
from core.health import check_configuration
from core.policy import is_admin


async def handle(request: Request) -> Response:
    if request.query_params.get("deep", "").lower() in ("1", "true"):
        return await _deep(request)
    report = check_configuration()
    return Response.json(report.to_json(), status=200 if report.ok else 503, headers={"cache-control": "no-store"})


async def _deep(request: Request) -> Response:
    from core.doctor import deep_health

    if not is_admin(request):
        raise APIError(403, "GET /health?deep=1 calls models and needs an API key marked admin "
                            "(python -m core.apikeys mint --admin).", type=PERMISSION, code="admin_required")
    report = await deep_health(deadline=request.deadline)
    return Response.json(report, status=200 if report["status"] == "ok" else 503, headers={"cache-control": "no-store"})
