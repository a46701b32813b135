"""OCI Generative AI's model list (``ListModels`` on the management API), every page.

``GET https://generativeai.<region>.oci.<realm domain>/20231130/models?compartmentId=...``, signed like
inference and allowed by ``inspect generative-ai-model``; the next page's token comes in ``opc-next-page``.
``OCI_GENAI_ENDPOINT``, when set, serves the management API too (the local emulator does).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from core.oci import deployment
from core.oci.client import UpstreamError
from core.oci.endpoints import GENAI_API_VERSION, _service_url
from core.oci.failures import api_error

MAX_PAGES = 50
PAGE_SIZE = 100


def management_base_url(settings: Any, credentials: Any) -> str:
    """``https://generativeai.<region>.oci.<domain>/20231130``, or the inference override's host."""
    return _service_url("generativeai", deployment.region(settings, credentials), settings.oci_genai_endpoint,
                        "OCI_GENAI_ENDPOINT", settings.oci_region_metadata, oci_label=True,
                        suffix=f"/{GENAI_API_VERSION}")


async def list_models(client: Any, compartment_id: str, *, deadline: float | None = None) -> list[dict[str, Any]]:
    """Every ``ModelSummary`` the compartment may see (a refusal raises the client's :class:`APIError`)."""
    base = management_base_url(client.settings, client.credentials)
    items: list[dict[str, Any]] = []
    page: str | None = None
    for _ in range(MAX_PAGES):
        query = {"compartmentId": compartment_id, "limit": str(PAGE_SIZE), **({"page": page} if page else {})}
        try:
            response = await client.request("GET", f"{base}/models?{urlencode(query)}", deadline=deadline,
                                            service="OCI Generative AI (model listing)")
        except UpstreamError as exc:
            raise api_error(exc) from None
        items.extend(item for item in response.json().get("items", []) if isinstance(item, dict))
        page = response.headers.get("opc-next-page")
        if not page:
            break
    return items
