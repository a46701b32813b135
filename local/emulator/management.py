"""The Generative AI management API's model list: ``GET /20231130/models`` and ``/modelDiscovery``.

The answers have the SDK's shapes (``ModelCollection`` of ``ModelSummary``,
``ModelDiscoveryCollection`` of ``ModelDiscovery``), built from the emulator's model table:
every model is a pretrained ``BASE`` model (``compartmentId`` null), ACTIVE, with its lifecycle
dates; a model retired on a date OCI published is still listed (with ``timeOnDemandRetired`` in
the past), one retired without a published date is not. Pages hold at most
``ModelTable.list_page_size`` items whatever ``limit`` asks, and ``opc-next-page`` carries an
opaque token the caller sends back as ``page``, as OCI does. ``compartmentId`` is required.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs

from .models import CHAT, EMBED, RERANK, ModelSpec
from .wire import EmuRequest, EmuResponse, OciError

REGION = "us-chicago-1"
"""The region the emulator answers for (discovery availability, model OCIDs)."""
_CAPABILITIES = {CHAT: ["CHAT"], EMBED: ["TEXT_EMBEDDINGS"], RERANK: ["TEXT_RERANK"]}


def _timestamp(date: str | None) -> str | None:
    return f"{date}T00:00:00.000Z" if date else None


def model_ocid(spec: ModelSpec) -> str:
    digest = hashlib.sha256(spec.model_id.encode()).hexdigest()[:40]
    return f"ocid1.generativeaimodel.oc1.{REGION}.amaaaaaa{digest}"


def _listed(spec: ModelSpec) -> bool:
    return not spec.retired or spec.retired_on is not None


def model_summary(spec: ModelSpec) -> dict[str, Any]:
    """One ``ModelSummary`` as OCI's JSON."""
    return {
        "id": model_ocid(spec), "compartmentId": None, "capabilities": _CAPABILITIES.get(spec.kind, []),
        "lifecycleState": "ACTIVE", "lifecycleDetails": None, "displayName": spec.model_id, "vendor": spec.vendor,
        "version": spec.version, "timeCreated": spec.time_created, "baseModelId": None, "type": "BASE",
        "fineTuneDetails": None, "modelMetrics": None, "isLongTermSupported": False,
        "timeDeprecated": _timestamp(spec.deprecated_on), "timeOnDemandRetired": _timestamp(spec.retired_on),
        "timeDedicatedRetired": _timestamp(spec.dedicated_retired_on),
        "freeformTags": {}, "definedTags": {}, "systemTags": {},
    }


def model_discovery(spec: ModelSpec) -> dict[str, Any]:
    """One ``ModelDiscovery`` as OCI's JSON, with this region's availability."""
    modes = (["ON_DEMAND"] if spec.on_demand else []) + ["DEDICATED"]
    availability = {"realm": "oc1", "region": REGION, "servingModes": modes,
                    "timeDeprecated": _timestamp(spec.deprecated_on),
                    "timeOnDemandRetired": _timestamp(spec.retired_on),
                    "timeDedicatedRetired": _timestamp(spec.dedicated_retired_on),
                    "supportedReplacements": [spec.replacement] if spec.replacement else []}
    return {"modelId": spec.model_id, "vendor": spec.vendor, "capabilities": _CAPABILITIES.get(spec.kind, []),
            "modelAccess": "HOSTED", "availability": [availability]}


def _query(request: EmuRequest) -> dict[str, list[str]]:
    query = parse_qs(request.query, keep_blank_values=True)
    if not (query.get("compartmentId") or [""])[0]:
        raise OciError(400, "MissingParameter", "Missing required parameter: 'compartmentId'.")
    return query


def _page(items: list[dict[str, Any]], query: dict[str, list[str]], size: int) -> tuple[list[dict[str, Any]], str | None]:
    """One page of ``items`` and the token of the next one (None on the last page)."""
    try:
        limit = min(size, int((query.get("limit") or [str(size)])[0]))
        token = (query.get("page") or [""])[0]
        start = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
    except ValueError:
        raise OciError(400, "InvalidParameter", "Invalid 'limit' or 'page'.") from None
    end = start + max(1, limit)
    following = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None
    return items[start:end], following


def _answer(request: EmuRequest, items: list[dict[str, Any]], size: int) -> EmuResponse:
    page, following = _page(items, _query(request), size)
    headers = {"opc-request-id": request.request_id}
    if following:
        headers["opc-next-page"] = following
    return EmuResponse.json(200, {"items": page}, headers)


async def list_models(host: Any, request: EmuRequest) -> EmuResponse:
    """``GET /20231130/models``."""
    query = _query(request)
    wanted = set(query.get("capability") or ())
    specs = [s for s in host.models.all() if _listed(s)]
    items = [model_summary(s) for s in specs if not wanted or wanted & set(_CAPABILITIES.get(s.kind, []))]
    return _answer(request, items, host.models.list_page_size)


async def list_model_discovery(host: Any, request: EmuRequest) -> EmuResponse:
    """``GET /20231130/modelDiscovery`` (this region's availability only)."""
    query = _query(request)
    regions = set(query.get("region") or ())
    items = [model_discovery(s) for s in host.models.all() if _listed(s)] if not regions or REGION in regions else []
    return _answer(request, items, host.models.list_page_size)
