"""OCI Functions: a function's invoke endpoint, and a detached invocation of it.

``GET /20181201/functions/{id}`` on the management host answers the function, whose ``invokeEndpoint`` is
where it is invoked: ``POST {invokeEndpoint}/20181201/functions/{id}/actions/invoke``. With
``fn-invoke-type: detached`` OCI answers 202 at once and runs the function for up to its
``detachedModeTimeoutInSeconds`` (at most 3600 s, against 300 s for a synchronous call). The body is signed
like every other request (``x-content-sha256``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from core.errors import ConfigError
from core.oci.endpoints import FUNCTIONS_API_VERSION, functions_base_url

if TYPE_CHECKING:
    from core.oci.client import OCIClient

SERVICE = "OCI Functions"


def function_url(client: "OCIClient", function_id: str) -> str:
    settings, credentials = client.settings, client.credentials
    region = settings.oci_region or getattr(credentials, "region", None)
    base = functions_base_url(region, override=settings.oci_functions_endpoint,
                              region_metadata=settings.oci_region_metadata)
    return f"{base}/functions/{quote(function_id, safe='')}"


async def invoke_endpoint(client: "OCIClient", function_id: str, *, deadline: float | None = None) -> str:
    """The function's ``invokeEndpoint`` (its management record)."""
    upstream = await client.request("GET", function_url(client, function_id), deadline=deadline, service=SERVICE)
    record: Any = upstream.json()
    endpoint = record.get("invokeEndpoint") if isinstance(record, dict) else None
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
        raise ConfigError(f"{SERVICE} returned no invoke endpoint for the function {function_id}")
    return endpoint.rstrip("/")


async def invoke_detached(client: "OCIClient", endpoint: str, function_id: str, body: bytes, *,
                          intent: str = "cloudevent", deadline: float | None = None) -> str:
    """Start a detached invocation of the function with ``body``; returns OCI's request id."""
    url = f"{endpoint}/{FUNCTIONS_API_VERSION}/functions/{quote(function_id, safe='')}/actions/invoke"
    upstream = await client.request("POST", url, content=body, deadline=deadline, service=SERVICE,
                                    headers={"fn-invoke-type": "detached", "fn-intent": intent,
                                             "content-type": "application/json"})
    return upstream.request_id
