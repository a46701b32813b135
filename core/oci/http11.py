"""A lean HTTP/1.1 connection pool for the OCI client, under httpx.

Why: a function serves one call at a time and spends most of its per-request CPU in the
HTTP client stack. httpcore (with h11's pure-Python parser and anyio locks) costs about
half a millisecond per call on a small CPU; this pool keeps httpx's API, auth flow, URL
and header handling, and replaces only the bottom layer: asyncio streams, the C parser
``httptools`` (already in the image for the fdk), head and body sent in one write, and
keep-alive connections reused per origin.

It speaks httpcore's pool interface (``handle_async_request(httpcore.Request) ->
httpcore.Response``) and raises httpcore's exception types, so httpx maps errors and
timeouts exactly as before, and respx can mock it like httpcore's own pool.
Proxies are unaffected: httpx routes proxied origins through its own proxy transports.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import defaultdict
from typing import AsyncIterator

import httpcore
import httptools
import httpx

_READ_SIZE = 64 * 1024
_NO_BODY_STATUSES = frozenset({204, 304})


def _timeouts(request: httpcore.Request) -> tuple[float | None, float | None, float | None]:
    timeout = request.extensions.get("timeout", {})
    return timeout.get("connect"), timeout.get("read"), timeout.get("write")


def _keep_alive(version: str, headers: list[tuple[bytes, bytes]]) -> bool:
    """HTTP/1.1 keeps the connection unless the server says ``close``; HTTP/1.0 only with ``keep-alive``.

    (httptools' ``should_keep_alive`` is reset once a whole message was parsed in one read.)
    """
    tokens = {t.strip().lower() for name, value in headers if name.lower() == b"connection"
              for t in value.split(b",")}
    if version == "1.0":
        return b"keep-alive" in tokens
    return b"close" not in tokens


class _Response:
    """Parser callbacks for one response."""

    __slots__ = ("status", "headers", "chunks", "headers_done", "complete", "keep_alive", "_name")

    def __init__(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []
        self.headers_done = False
        self.complete = False
        self.keep_alive = True
        self._name = b""

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        self.complete = True


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.used = False

    @property
    def closed(self) -> bool:
        return self.writer.is_closing() or self.reader.at_eof()

    def close(self) -> None:
        self.writer.close()


class ConnectionPool:
    """Keep-alive HTTP/1.1 connections per origin; one request at a time per connection."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None, max_keepalive: int = 16) -> None:
        self._ssl = ssl_context
        self._idle: dict[tuple[bytes, bytes, int], list[_Connection]] = defaultdict(list)
        self._max_keepalive = max_keepalive

    # -- httpcore pool interface ------------------------------------------------------------

    async def __aenter__(self) -> "ConnectionPool":
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        scheme, host, port = request.url.scheme, request.url.host, request.url.port
        origin = (scheme, host, port or (443 if scheme == b"https" else 80))
        payload = await self._serialize(request)
        connect_timeout, read_timeout, write_timeout = _timeouts(request)
        while True:
            connection = self._take_idle(origin)
            reused = connection is not None
            if connection is None:
                connection = await self._connect(origin, connect_timeout)
            try:
                return await self._exchange(connection, origin, request, payload, read_timeout, write_timeout)
            except (httpcore.ReadError, httpcore.WriteError, httpcore.RemoteProtocolError) as exc:
                connection.close()
                # A kept-alive connection the server closed meanwhile fails before any response byte:
                # try once more on a fresh connection, as httpcore does.
                if reused and getattr(exc, "before_response", False):
                    continue
                raise

    # -- internals ----------------------------------------------------------------------------

    def _take_idle(self, origin: tuple[bytes, bytes, int]) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if not connection.closed:
                return connection
            connection.close()
        return None

    def _release(self, origin: tuple[bytes, bytes, int], connection: _Connection) -> None:
        idle = self._idle[origin]
        if len(idle) < self._max_keepalive and not connection.closed:
            idle.append(connection)
        else:
            connection.close()

    async def _connect(self, origin: tuple[bytes, bytes, int], timeout: float | None) -> _Connection:
        scheme, host, port = origin
        hostname = host.decode("ascii")
        tls = None
        if scheme == b"https":
            tls = self._ssl or httpx.create_ssl_context()
            self._ssl = tls
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    hostname.strip("[]"), port, ssl=tls, server_hostname=hostname.strip("[]") if tls else None,
                    limit=_READ_SIZE)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"connecting to {hostname}:{port} timed out") from None
        except (OSError, ssl.SSLError) as exc:
            raise httpcore.ConnectError(f"{type(exc).__name__} connecting to {hostname}:{port}") from None
        return _Connection(reader, writer)

    @staticmethod
    async def _serialize(request: httpcore.Request) -> bytes:
        body = b"".join([chunk async for chunk in request.stream])  # type: ignore[union-attr]
        lines = [request.method + b" " + request.url.target + b" HTTP/1.1"]
        has_length = False
        for name, value in request.headers:
            lowered = name.lower()
            if lowered == b"content-length":
                has_length = True
            elif lowered == b"transfer-encoding":
                continue  # the body is sent whole, with a length
            lines.append(name + b": " + value)
        if not has_length and (body or request.method in (b"POST", b"PUT", b"PATCH")):
            lines.append(b"Content-Length: " + str(len(body)).encode())
        return b"\r\n".join(lines) + b"\r\n\r\n" + body

    async def _exchange(self, connection: _Connection, origin: tuple[bytes, bytes, int], request: httpcore.Request,
                        payload: bytes, read_timeout: float | None, write_timeout: float | None) -> httpcore.Response:
        try:
            connection.writer.write(payload)
            async with asyncio.timeout(write_timeout):
                await connection.writer.drain()
        except TimeoutError:
            raise httpcore.WriteTimeout("sending the request timed out") from None
        except OSError as exc:
            error = httpcore.WriteError(f"{type(exc).__name__} while sending")
            error.before_response = True  # type: ignore[attr-defined]
            raise error from None
        state = _Response()
        parser = httptools.HttpResponseParser(state)
        head_only = request.method == b"HEAD"
        while not state.headers_done:
            data = await self._read(connection, read_timeout, before_response=not state.status and not state.headers)
            if not data:
                error = httpcore.RemoteProtocolError("server disconnected without sending a response")
                error.before_response = True  # type: ignore[attr-defined]
                raise error
            try:
                parser.feed_data(data)
            except httptools.HttpParserUpgrade:
                raise httpcore.RemoteProtocolError("unexpected protocol upgrade") from None
            except httptools.HttpParserError as exc:
                raise httpcore.RemoteProtocolError(f"invalid HTTP response: {exc}") from None
            state.status = parser.get_status_code()
        state.keep_alive = _keep_alive(parser.get_http_version(), state.headers)
        status = state.status
        if head_only or status in _NO_BODY_STATUSES or 100 <= status < 200:
            state.complete = True
            state.chunks.clear()
        stream = _ResponseStream(self, connection, origin, parser, state, read_timeout)
        extensions = {"http_version": b"HTTP/1.1", "reason_phrase": b""}
        return httpcore.Response(status, headers=state.headers, content=stream, extensions=extensions)

    @staticmethod
    async def _read(connection: _Connection, timeout: float | None, before_response: bool = False) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await connection.reader.read(_READ_SIZE)
        except TimeoutError:
            raise httpcore.ReadTimeout("reading the response timed out") from None
        except OSError as exc:
            error = httpcore.ReadError(f"{type(exc).__name__} while reading")
            error.before_response = before_response  # type: ignore[attr-defined]
            raise error from None


class _ResponseStream:
    """The body as an async iterator; the connection goes back to the pool when it has been read whole."""

    def __init__(self, pool: ConnectionPool, connection: _Connection, origin: tuple[bytes, bytes, int],
                 parser: httptools.HttpResponseParser, state: _Response, read_timeout: float | None) -> None:
        self._pool = pool
        self._connection: _Connection | None = connection
        self._origin = origin
        self._parser = parser
        self._state = state
        self._timeout = read_timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        state = self._state
        while True:
            if state.chunks:
                chunks, state.chunks = state.chunks, []
                for chunk in chunks:
                    yield chunk
            if state.complete:
                break
            assert self._connection is not None
            data = await ConnectionPool._read(self._connection, self._timeout)
            if not data:
                raise httpcore.RemoteProtocolError("server disconnected before the response was complete")
            try:
                self._parser.feed_data(data)
            except httptools.HttpParserError as exc:
                raise httpcore.RemoteProtocolError(f"invalid HTTP response body: {exc}") from None
        self._finish(reusable=state.keep_alive)

    def _finish(self, reusable: bool) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if reusable:
            self._pool._release(self._origin, connection)
        else:
            connection.close()

    async def aclose(self) -> None:
        # Closed before the end (e.g. a client stopped reading a stream): the connection is not reusable.
        self._finish(reusable=self._state.complete and self._state.keep_alive)


class Transport(httpx.AsyncHTTPTransport):
    """httpx's transport with :class:`ConnectionPool` underneath (everything above it is unchanged)."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None, max_keepalive: int = 16) -> None:
        # httpx's own __init__ would build an httpcore pool (and load CA certificates) only to drop it;
        # the parent class reads nothing but ``_pool``.
        self._pool = ConnectionPool(ssl_context, max_keepalive)  # type: ignore[assignment]
