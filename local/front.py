"""An HTTP front that treats a function the way OCI API Gateway does.

Any method and path under the deployment prefix becomes one Fn ``httprequest`` call on an
:class:`~local.fdk.pool.FdkPool`: the full path (prefix included) and query in
``Fn-Http-Request-Url``, client headers as ``Fn-Http-H-*`` (``Content-Type`` plain), a deadline of
now + the function timeout. The answer is mapped back from ``Fn-Http-Status`` / ``Fn-Http-H-*``;
a socket 502 or 504 reaches the client as Fn's bare ``function failed`` / ``Timed out``, with the
function's body discarded, as OCI API Gateway does.

Request bodies pass through untouched: size limits are the function's job, and tests check it.
It is a plain ASGI app served by uvicorn, so nothing here depends on a web framework.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import threading
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from local.fdk.pool import FdkPool
from local.fdk.wire import DEFAULT_TIMEOUT_S, FUNCTION_FAILED_BODY, HttpResult

log = logging.getLogger("local.front")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

# Hop-by-hop and framing headers: the gateway owns them on both legs.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "content-length"}
)
_NOT_FOUND_BODY = b'{"code":404,"message":"Not Found"}'


def normalise_prefix(prefix: str) -> str:
    """``'gw/'`` -> ``'/gw'``; ``'/'`` or ``''`` -> ``''`` (everything matches)."""
    stripped = prefix.strip().strip("/")
    return f"/{stripped}" if stripped else ""


def path_matches(path: str, prefix: str) -> bool:
    """True when ``path`` is the deployment prefix itself or lies under it."""
    return not prefix or path == prefix or path.startswith(prefix + "/")


def client_headers_from_scope(scope: Scope) -> list[tuple[str, str]]:
    """Client headers to forward as ``Fn-Http-H-*`` (plus Content-Type), with forwarding info added."""
    out: list[tuple[str, str]] = []
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1")
        if name.lower() in _HOP_BY_HOP:
            continue
        out.append((name, raw_value.decode("latin-1")))
    client = scope.get("client")
    if client:
        ip = str(client[0])
        existing = [v for n, v in out if n.lower() == "x-forwarded-for"]
        out = [(n, v) for n, v in out if n.lower() != "x-forwarded-for"]
        out += [
            ("Forwarded", f"for={ip}"),
            ("X-Forwarded-For", ", ".join(existing + [ip])),
            ("X-Real-Ip", ip),
        ]
    return out


def request_target(scope: Scope) -> str:
    """Path and query exactly as the client sent them (API Gateway forwards no scheme or host)."""
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else scope.get("path", "/")
    query = scope.get("query_string", b"")
    return f"{path}?{query.decode('latin-1')}" if query else path


def response_headers(result: HttpResult, request_id: str) -> list[tuple[bytes, bytes]]:
    """Headers for the client: the function's mapped headers, our framing, and opc-request-id."""
    headers = [
        (name.encode("latin-1"), value.encode("latin-1"))
        for name, value in result.headers.items()
        if name.lower() not in _HOP_BY_HOP and name.lower() != "opc-request-id"
    ]
    headers.append((b"content-length", str(len(result.body)).encode()))
    headers.append((b"opc-request-id", request_id.encode()))
    return headers


class GatewayFront:
    """ASGI app: one client request -> one function call on the pool."""

    def __init__(self, pool: FdkPool, *, prefix: str = "/", timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.pool = pool
        self.prefix = normalise_prefix(prefix)
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # websockets: API Gateway does not offer them to function back ends
        request_id = secrets.token_hex(16)
        if not path_matches(scope.get("path", "/"), self.prefix):
            not_found = HttpResult(404, {"content-type": "application/json"}, _NOT_FOUND_BODY, 0)
            await _send(send, 404, response_headers(not_found, request_id), _NOT_FOUND_BODY)
            return
        body = await _read_body(receive)
        try:
            result = await self.pool.call_http(
                scope["method"],
                request_target(scope),
                client_headers_from_scope(scope),
                body,
                deadline_s=self.timeout_s,
                request_id=request_id,
            )
        except Exception:  # anything broken between us and the function is a "function failed"
            log.exception("function call failed")
            result = HttpResult(502, {"content-type": "application/json"}, FUNCTION_FAILED_BODY, 502)
        await _send(send, result.status, response_headers(result, request_id), result.body)


async def _read_body(receive: Receive) -> bytes:
    chunks = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks += message.get("body", b"")
        if not message.get("more_body", False):
            break
    return bytes(chunks)


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


# ---------------------------------------------------------------------------------------------
# Serving
# ---------------------------------------------------------------------------------------------


def _uvicorn_server(app: GatewayFront, *, access_log: bool) -> Any:
    import uvicorn  # dev-only dependency, imported lazily

    if access_log:  # another uvicorn in this process (the emulator) may have muted these loggers
        for name in ("uvicorn.access", "uvicorn.error"):
            logging.getLogger(name).setLevel(logging.INFO)
            logging.getLogger(name).propagate = True

    config = uvicorn.Config(
        app,
        lifespan="off",
        log_config=None,
        access_log=access_log,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=2,
        server_header=False,
        date_header=True,
    )
    return uvicorn.Server(config)


def bind_socket(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only then (else a 40 ms Nagle stall).
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


@dataclass
class FrontServer:
    """A running front: ``url`` (no trailing slash, prefix not included) and ``stop()``."""

    url: str
    host: str
    port: int
    prefix: str
    _server: Any
    _thread: threading.Thread | None
    _sock: socket.socket
    pool: FdkPool | None = None

    def stop(self, timeout_s: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._sock.close()

    @property
    def base_url(self) -> str:
        """URL including the deployment prefix, where clients point their base_url."""
        return self.url + self.prefix


def start_front_in_thread(
    pool: FdkPool,
    port: int = 0,
    *,
    host: str = "127.0.0.1",
    prefix: str = "/",
    timeout_s: float = DEFAULT_TIMEOUT_S,
    access_log: bool = False,
) -> FrontServer:
    """Serve the front on a background thread (its own event loop); returns once it accepts."""
    app = GatewayFront(pool, prefix=prefix, timeout_s=timeout_s)
    sock = bind_socket(host, port)
    actual_port = sock.getsockname()[1]
    server = _uvicorn_server(app, access_log=access_log)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="gateway-front", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            sock.close()
            raise RuntimeError("the front failed to start")
        threading.Event().wait(0.01)
    url_host = f"[{host}]" if ":" in host else host
    return FrontServer(f"http://{url_host}:{actual_port}", host, actual_port, app.prefix, server, thread, sock, pool)


def run_front(
    pool: FdkPool,
    port: int = 8080,
    *,
    host: str = "127.0.0.1",
    prefix: str = "/",
    timeout_s: float = DEFAULT_TIMEOUT_S,
    access_log: bool = True,
    on_ready: Callable[[str], None] | None = None,
    sock: socket.socket | None = None,
) -> None:
    """Serve in the calling (main) thread until SIGINT/SIGTERM; ``on_ready(url)`` once listening. ``sock``: a
    socket the caller already bound (so a busy port is found before anything starts)."""
    app = GatewayFront(pool, prefix=prefix, timeout_s=timeout_s)
    sock = sock if sock is not None else bind_socket(host, port)
    url_host = f"[{host}]" if ":" in host else host
    url = f"http://{url_host}:{sock.getsockname()[1]}"
    server = _uvicorn_server(app, access_log=access_log)

    async def serve() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if server.started and on_ready is not None:
            on_ready(url)
        await task

    try:
        asyncio.run(serve())
    finally:
        sock.close()

