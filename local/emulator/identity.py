"""IAM ``ListPolicies``: the policies a test installs, as OCI returns them (a JSON array, paged by ``page``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from .wire import EmuRequest, EmuResponse, OciError

ROUTE_NAME = "identity.listPolicies"
PATH = r"/20160918/policies"


def install_identity(emulator: Any) -> list[dict[str, Any]]:
    """Serve ``ListPolicies`` from the returned list (``{"name", "compartmentId", "statements"}`` items)."""
    from .server import route

    policies: list[dict[str, Any]] = []

    async def list_policies(_emulator: Any, request: EmuRequest) -> EmuResponse:
        query = dict(parse_qsl(request.query, keep_blank_values=True))
        compartment = query.get("compartmentId")
        if not compartment:
            raise OciError(400, "MissingParameter", "compartmentId is required.")
        return EmuResponse.json(200, [p for p in policies if p.get("compartmentId") == compartment])

    emulator.routes[:] = [r for r in emulator.routes if r.name != ROUTE_NAME]
    emulator.add_route(route("GET", PATH, list_policies, ROUTE_NAME))
    return policies
