"""Replay captured OCI exchanges (``make doctor ARGS=--capture``) in place of the emulator's own answers.

The emulator's rules were written from documentation and inference; a capture is what the live service said.
:func:`install_captures` serves each captured answer for the requests it matches (same operation, model, chat
format, streaming and tools: ``core.oci.capture.match_key``), after the usual signature check; every other
request still gets the emulator's rule.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from core.oci.capture import FORMAT, match_key

from .wire import EmuRequest, EmuResponse

PREFIX = "capture:"
# Hop-by-hop or per-exchange headers the emulator sets itself.
_SKIP_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "date", "opc-request-id"})


def load(source: str | Path | dict[str, Any]) -> list[dict[str, Any]]:
    """The exchanges of a capture document (a path or the parsed document)."""
    document = source if isinstance(source, dict) else json.loads(Path(source).read_text(encoding="utf-8"))
    if document.get("format") != FORMAT:
        raise ValueError(f"not a capture document (format {document.get('format')!r}, expected {FORMAT!r})")
    return list(document.get("exchanges", []))


def _answer(exchange: dict[str, Any]) -> EmuResponse:
    response = exchange["response"]
    headers = {k.lower(): v for k, v in response.get("headers", {}).items() if k.lower() not in _SKIP_HEADERS}
    return EmuResponse(int(response["status"]), str(response.get("body", "")).encode("utf-8"), headers)


def install_captures(emulator: Any, source: str | Path | dict[str, Any]) -> int:
    """Serve the captured answers; returns how many exchanges were installed."""
    from .server import route

    exchanges = load(source)
    for method, path in sorted({(e["match"]["method"], e["match"]["path"]) for e in exchanges}):
        mine = [e for e in exchanges if (e["match"]["method"], e["match"]["path"]) == (method, path)]
        name = f"{PREFIX}{method} {path}"

        async def replay(emu: Any, request: EmuRequest, mine: list[dict[str, Any]] = mine) -> EmuResponse:
            key = match_key(request.method, request.path, request.json)
            for exchange in mine:
                if exchange["match"] == key:
                    return _answer(exchange)
            for fallback in emu.routes:
                if not fallback.name.startswith(PREFIX) and fallback.method == request.method \
                        and fallback.match(request.path) is not None:
                    return await fallback.handler(emu, request)
            return EmuResponse.json(404, {"code": "NotAuthorizedOrNotFound", "message": "Unknown resource."})

        emulator.routes[:] = [r for r in emulator.routes if r.name != name]
        emulator.add_route(route(method, re.escape(path), replay, name))
    return len(exchanges)
