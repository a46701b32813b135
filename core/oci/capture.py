"""Raw OCI exchanges recorded for an operator to hand back: what the live service really answered.

Several facts the gateway relies on are inferred, not captured (the COHEREV2 tool-call stream, the
``model-retirement-info`` header, ...). :class:`RecordingTransport` wraps the OCI client's transport and keeps
each request and response; :func:`capture_document` redacts them into one JSON document the local emulator
replays as fixtures (``local.emulator.captures``). Redacted: credentials (``authorization`` and any cookie or
token header), message text the caller sent, and OCIDs; kept: paths, status, headers, the response body.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

FORMAT = "oci-genai-gateway-capture/1"
REDACTED = "<redacted>"
_SECRET_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "opc-obo-token", "x-api-key", "api-key"})
_TEXT_KEYS = frozenset({"text", "content", "message", "prompt", "inputs", "input", "documents", "preambleOverride"})


@dataclass
class Exchange:
    """One request and its answer, as sent and received."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes
    status: int = 0
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b""


class _RecordedStream(httpx.AsyncByteStream):
    """Passes the body through, keeping a copy for the exchange."""

    def __init__(self, inner: Any, exchange: Exchange) -> None:
        self._inner = inner
        self._exchange = exchange

    async def __aiter__(self) -> Any:
        async for chunk in self._inner:
            self._exchange.response_body += chunk
            yield chunk

    async def aclose(self) -> None:
        close = getattr(self._inner, "aclose", None)
        if close is not None:
            await close()


class RecordingTransport(httpx.AsyncBaseTransport):
    """An httpx transport that records every exchange it carries (``exchanges``), then hands it on."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.exchanges: list[Exchange] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            body = request.content
        except httpx.RequestNotRead:  # a streamed upload (none of the gateway's OCI calls): not recorded
            body = b""
        exchange = Exchange(request.method, str(request.url), dict(request.headers), body)
        self.exchanges.append(exchange)
        response = await self._inner.handle_async_request(request)
        exchange.status = response.status_code
        exchange.response_headers = dict(response.headers)
        response.stream = _RecordedStream(response.stream, exchange)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def _redact_value(key: str, value: Any) -> Any:
    if isinstance(value, str):
        if value.startswith("ocid1."):
            return "<ocid>"
        return REDACTED if key in _TEXT_KEYS else value
    return redact_json(value)


def redact_json(value: Any) -> Any:
    """``value`` with caller text and OCIDs replaced (structure, field names and other values kept)."""
    if isinstance(value, dict):
        return {key: _redact_value(key, item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_json(item) for item in value]
    return value


def _headers(headers: dict[str, str]) -> dict[str, str]:
    return {name: (REDACTED if name.lower() in _SECRET_HEADERS else value) for name, value in headers.items()}


def _request_body(body: bytes) -> Any:
    if not body:
        return None
    try:
        return redact_json(json.loads(body))
    except ValueError:
        return REDACTED


def match_key(method: str, path: str, body: Any) -> dict[str, Any]:
    """What identifies a request for replay: operation, model, chat format, streaming, tools."""
    key: dict[str, Any] = {"method": method, "path": path}
    if isinstance(body, dict):
        serving = body.get("servingMode") if isinstance(body.get("servingMode"), dict) else {}
        chat = body.get("chatRequest") if isinstance(body.get("chatRequest"), dict) else {}
        key.update(model=serving.get("modelId") or serving.get("endpointId"), api_format=chat.get("apiFormat"),
                   stream=bool(chat.get("isStream")), tools=bool(chat.get("tools")))
    return key


def capture_document(exchanges: list[tuple[str, Exchange]], *, note: str = "") -> dict[str, Any]:
    """The redacted file an operator hands back: ``(case name, exchange)`` pairs."""
    items = []
    for case, exchange in exchanges:
        url = httpx.URL(exchange.url)
        request_body = _request_body(exchange.request_body)
        raw_request = json.loads(exchange.request_body) if exchange.request_body.startswith(b"{") else None
        items.append({
            "case": case,
            "match": match_key(exchange.method, url.path, raw_request),
            "request": {"method": exchange.method, "path": url.path, "headers": _headers(exchange.request_headers),
                        "body": request_body},
            "response": {"status": exchange.status, "headers": _headers(exchange.response_headers),
                         "body": exchange.response_body.decode("utf-8", "replace")},
        })
    return {"format": FORMAT, "captured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "note": note,
            "exchanges": items}
