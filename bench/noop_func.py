"""A no-op fdk function: the floor of an fdk round trip (``fdk bench/noop_func.py handler``).

It does no work: it answers each route with a canned body of the same size and type the gateway
returns there (files ``chat``, ``stream``, ``embed``, ``embed64`` in ``NOOP_BODIES_DIR``, captured from the
gateway by the benchmark), so ``gateway via fdk - direct upstream call - this`` is what the
gateway's own code adds per request, with the fdk's cost of moving the body already counted here.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from fdk import response as fdk_response

_DEFAULT = b'{"object":"chat.completion","choices":[]}'
_TYPES = {"chat": "application/json", "stream": "text/event-stream", "embed": "application/json",
          "embed64": "application/json"}


def _load() -> dict[str, bytes]:
    directory = os.environ.get("NOOP_BODIES_DIR")
    bodies: dict[str, bytes] = {}
    if directory:
        for name in _TYPES:
            path = Path(directory) / name
            if path.exists():
                bodies[name] = path.read_bytes()
    return bodies


_BODIES = _load()


def _route(ctx: Any, data: bytes) -> str:
    compact = data.replace(b" ", b"")
    if (ctx.RequestURL() or "").endswith("/v1/embeddings"):
        return "embed64" if b'"encoding_format":"base64"' in compact else "embed"
    return "stream" if b'"stream":true' in compact else "chat"


async def handler(ctx: Any, data: io.BytesIO | None = None) -> Any:
    name = _route(ctx, data.getvalue() if data is not None else b"")
    return fdk_response.Response(ctx, response_data=_BODIES.get(name, _DEFAULT),
                                 headers={"content-type": _TYPES[name]}, status_code=200)
