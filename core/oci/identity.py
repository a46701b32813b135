"""The IAM policies of a compartment (``ListPolicies``), every page: what the doctor compares with Terraform's.

``GET https://identity.<region>.oci.<realm domain>/20160918/policies?compartmentId=...``; allowed by
``inspect policies``. Policies are global, but every region's IAM endpoint answers for them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from core.oci import deployment
from core.oci.client import UpstreamError
from core.oci.endpoints import _service_url
from core.oci.failures import api_error

API_VERSION = "20160918"
MAX_PAGES = 20


def identity_base_url(settings: Any, credentials: Any) -> str:
    return _service_url("identity", deployment.region(settings, credentials), settings.oci_identity_endpoint,
                        "OCI_IDENTITY_ENDPOINT", settings.oci_region_metadata, oci_label=True,
                        suffix=f"/{API_VERSION}")


async def policy_statements(client: Any, compartment_id: str, *, deadline: float | None = None) -> list[str]:
    """Every statement of every policy attached to ``compartment_id``."""
    base = identity_base_url(client.settings, client.credentials)
    statements: list[str] = []
    page: str | None = None
    for _ in range(MAX_PAGES):
        query = {"compartmentId": compartment_id, "limit": "100", **({"page": page} if page else {})}
        try:
            response = await client.request("GET", f"{base}/policies?{urlencode(query)}", deadline=deadline,
                                            service="OCI IAM")
        except UpstreamError as exc:
            raise api_error(exc) from None
        for policy in response.json() or []:
            statements.extend(s for s in (policy.get("statements") or []) if isinstance(s, str))
        page = response.headers.get("opc-next-page")
        if not page:
            break
    return statements
