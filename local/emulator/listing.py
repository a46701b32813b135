"""``ListModels`` of the Generative AI management API: the emulator's model table as ``ModelSummary`` items.

``GET /20231130/models?compartmentId=...&limit=&page=``: ``compartmentId`` is required (400 without it), pages
are ``limit`` items long and the next one's token comes back in ``opc-next-page``, as OCI does.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from .models import CHAT, ModelSpec
from .wire import EmuRequest, EmuResponse, OciError

ROUTE_NAME = "genai.listModels"
PATH = r"/20231130/models"
CREATED = "2025-01-01T00:00:00.000Z"


def summary(spec: ModelSpec) -> dict[str, Any]:
    """A ``ModelSummary`` (base model: no compartment, no base model id)."""
    return {"id": spec.model_id, "displayName": spec.model_id, "vendor": spec.vendor, "version": spec.version,
            "capabilities": ["CHAT"] if spec.kind == CHAT else ["TEXT_EMBEDDINGS"], "lifecycleState": "ACTIVE",
            "type": "BASE", "compartmentId": None, "baseModelId": None, "timeCreated": CREATED,
            "isLongTermSupported": False}


def _page(query: dict[str, str]) -> tuple[int, int]:
    try:
        limit = max(1, min(1000, int(query.get("limit") or 100)))
        start = int(query.get("page") or 0)
    except ValueError:
        raise OciError(400, "InvalidParameter", "limit and page must be integers.") from None
    return start, limit


def install_listing(emulator: Any) -> None:
    """Serve ``ListModels`` from ``emulator.models``."""
    from .server import route

    async def list_models(emu: Any, request: EmuRequest) -> EmuResponse:
        query = dict(parse_qsl(request.query, keep_blank_values=True))
        if not query.get("compartmentId"):
            raise OciError(400, "MissingParameter", "compartmentId is required.")
        start, limit = _page(query)
        with emu.models._lock:
            specs = sorted(emu.models.models.values(), key=lambda spec: spec.model_id)
        items = [summary(spec) for spec in specs[start:start + limit]]
        headers = {"opc-next-page": str(start + limit)} if start + limit < len(specs) else {}
        return EmuResponse.json(200, {"items": items}, headers)

    emulator.routes[:] = [r for r in emulator.routes if r.name != ROUTE_NAME]
    emulator.add_route(route("GET", PATH, list_models, ROUTE_NAME))
