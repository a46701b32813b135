"""A respx stand-in for one OCI inference action whose bodies and answers the oci SDK's models check (test-only)."""

from __future__ import annotations

import json
from typing import Any, Callable

import httpx

from tests.support.oci_sdk import assert_sdk_roundtrip


def sdk_checked_route(mock: Any, url: str, details_type: str, result_type: str,
                      answer: Callable[[dict[str, Any]], dict[str, Any]]) -> Any:
    """Route ``POST url`` to ``answer(body)``; every body must be a ``details_type`` and every answer a
    ``result_type``. The route's ``sent`` lists the bodies; answers carry ``opc-request-id: OPC<n>``."""
    sent: list[dict[str, Any]] = []

    def side_effect(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert_sdk_roundtrip(body, details_type)
        sent.append(body)
        result = answer(body)
        assert_sdk_roundtrip(result, result_type)
        return httpx.Response(200, json=result, headers={"opc-request-id": f"OPC{len(sent)}"})

    route = mock.post(url).mock(side_effect=side_effect)
    route.sent = sent
    return route
