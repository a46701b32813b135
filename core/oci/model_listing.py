"""OCI's own list of Generative AI models: ``ListModels`` and ``ListModelDiscovery``, every page.

Both are GET calls on the management API (``https://generativeai.{region}.oci.{domain}/20231130``,
or ``OCI_GENAI_MANAGEMENT_ENDPOINT``, else ``OCI_GENAI_ENDPOINT``'s host), signed like inference, and need
``inspect generative-ai-model`` on the compartment. Each answers one page of ``items`` and, when
more follow, an ``opc-next-page`` header whose value is sent back as ``page``.

Usage, from any code that holds the process's client (the gateway, a doctor command)::

    from core import runtime
    from core.oci.model_listing import list_models

    models = await list_models(runtime.client(), compartment_id)   # [ModelSummary JSON, ...]

A refusal or failure raises the client's :class:`core.errors.APIError` (403/404 for a missing
policy, 503 when OCI is unreachable); nothing is cached here.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from core.errors import APIError
from core.oci import deployment
from core.oci.client import UpstreamError
from core.oci.failures import api_error

PAGE_LIMIT = 100
"""Items asked for per page (OCI may answer fewer; ``opc-next-page`` says whether more follow)."""
MAX_PAGES = 50
"""A stop for a service that keeps answering with a next page (5,000 models at the page limit)."""
SERVICE = "OCI Generative AI model list"


async def list_models(client: Any, compartment_id: str, *, deadline: float | None = None) -> list[dict[str, Any]]:
    """Every ``ModelSummary`` (OCI's JSON) that ``ListModels`` returns for ``compartment_id``.

    OCI includes its pretrained base models (``type: BASE``, ``compartmentId: null``) and the
    compartment's fine-tuned ones, in every lifecycle state. ``client`` is an
    :class:`core.oci.client.OCIClient`; ``deadline`` is an absolute ``time.time()``.
    """
    return await _every_page(client, "/models", {"compartmentId": compartment_id}, deadline)


async def list_model_discovery(client: Any, compartment_id: str, *, region: str | None = None,
                               deadline: float | None = None) -> list[dict[str, Any]]:
    """Every ``ModelDiscovery`` item (OCI's JSON): per model, its ``availability`` by region, with the
    serving modes (``ON_DEMAND``/``DEDICATED``), lifecycle dates and ``supportedReplacements``.

    ``region`` keeps only that region's availability (OCI filters).
    """
    query = {"compartmentId": compartment_id}
    if region:
        query["region"] = region
    return await _every_page(client, "/modelDiscovery", query, deadline)


async def _every_page(client: Any, path: str, query: dict[str, str], deadline: float | None) -> list[dict[str, Any]]:
    base = deployment.genai_management_url(client.settings, client.credentials) + path
    items: list[dict[str, Any]] = []
    page: str | None = None
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        params = {**query, "limit": str(PAGE_LIMIT), **({"page": page} if page else {})}
        try:
            response = await client.request("GET", f"{base}?{urlencode(params)}", deadline=deadline, service=SERVICE)
        except UpstreamError as exc:
            raise api_error(exc) from None
        items.extend(_items(response.json()))
        page = response.headers.get("opc-next-page")
        if not page or page in seen:
            return items
        seen.add(page)
    return items


def _items(document: Any) -> list[dict[str, Any]]:
    """The collection's ``items``; anything else is OCI answering in a shape this code does not know."""
    items = document.get("items") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise APIError(503, f"{SERVICE} answered without an 'items' list.", type="server_error",
                       code="upstream_unexpected_answer")
    return [item for item in items if isinstance(item, dict)]
