"""ASGI adapter: the same handlers served directly over HTTP, with real incremental streaming.

OCI Functions buffers every response, so ``stream: true`` through ``func.py`` arrives
all at once. Served by any ASGI server (``uvicorn adapters.asgi:app``) — locally, in
an OCI Container Instance or on OKE behind an API Gateway HTTP back end — the handlers'
async iterators reach the client token by token.

Deadlines: there is no platform deadline here, so a call may use
``OCI_TIMEOUT_SECONDS`` per upstream attempt; ``REQUEST_TIMEOUT_SECONDS`` (if set)
gives each request a deadline the way ``Fn-Deadline`` does.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any, Awaitable, Callable

from core import logs, runtime
from core.errors import APIError, ConfigError
from core.exchange import HTTP, Headers, Request, Response
from core.health import report_at_startup
from handlers.router import DEFAULT_MAX_BODY_BYTES, dispatch, error_response

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or None once it exceeds ``limit`` (the rest is drained, not stored)."""
    parts: list[bytes] = []
    size = 0
    too_big = False
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            too_big = True
            parts.clear()
        elif not too_big:
            parts.append(chunk)
        if not message.get("more_body"):
            break
    return None if too_big else b"".join(parts)


async def _send_response(send: Send, response: Response, method: str) -> None:
    headers = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in response.headers.items()]
    if not response.is_streaming:
        headers.append((b"content-length", str(len(response.body)).encode()))  # type: ignore[arg-type]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if not response.is_streaming:
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else response.body})
        return
    iterator = response.body.__aiter__()  # type: ignore[union-attr]
    try:
        async for chunk in iterator:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    finally:
        close = getattr(iterator, "aclose", None)
        if close is not None:
            await close()
    await send({"type": "http.response.body", "body": b""})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """The ASGI application."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                logs.configure(runtime.log_level())
                report_at_startup()  # a bad setting is logged here and answered by every request as a 500
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await runtime.close_client()
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    headers = Headers((k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", []))
    request_id = headers.get("opc-request-id") or headers.get("x-request-id") or uuid.uuid4().hex.upper()
    try:
        limit = runtime.settings().max_body_bytes
    except ConfigError:
        limit = DEFAULT_MAX_BODY_BYTES  # dispatch answers the bad setting with a 500 naming it
    body = await _read_body(receive, limit)
    if body is None:
        error = APIError(413, f"Request body exceeds the limit of {limit} bytes.", code="request_too_large")
        await _send_response(send, error_response(error, request_id), scope["method"])
        return
    timeout = os.environ.get("REQUEST_TIMEOUT_SECONDS")
    request = Request(
        method=scope["method"], path=scope.get("path", "/"), query=scope.get("query_string", b"").decode("latin-1"),
        headers=headers, body=body, kind=HTTP, request_id=request_id,
        deadline=time.time() + float(timeout) if timeout else None,
    )
    response = await dispatch(request)
    await _send_response(send, response, scope["method"])
