"""The lean HTTP/1.1 pool under httpx, against real sockets: framing, keep-alive, failures, TLS.

The servers here are raw asyncio servers that write exact bytes, so each test controls
the framing (lengths, chunked, close) the pool must handle.
"""

from __future__ import annotations

import asyncio
import datetime
import ssl
from typing import Awaitable, Callable

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from core.oci.http11 import Transport

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Server:
    """A raw server; ``handler`` answers each connection; counts connections and requests."""

    def __init__(self, handler: Handler, ssl_context: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.ssl = ssl_context
        self.connections = 0
        self.requests: list[bytes] = []

    async def __aenter__(self) -> "Server":
        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            try:
                await self.handler(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        self.server = await asyncio.start_server(on_connect, "127.0.0.1", 0, ssl=self.ssl)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *args: object) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def read_request(self, reader: asyncio.StreamReader) -> bytes:
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        body = await reader.readexactly(length) if length else b""
        self.requests.append(head + body)
        return head + body


def response(body: bytes = b"ok", status: bytes = b"200 OK", extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 " + status + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n" + extra + b"\r\n" + body


def client(**kwargs) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=Transport(**kwargs), timeout=5)


async def test_keep_alive_reuses_one_connection_and_sends_head_and_body_together():
    async def handler(reader, writer):
        while True:
            await server.read_request(reader)
            writer.write(response(b'{"a":1}', extra=b"Content-Type: application/json\r\n"))
            await writer.drain()

    async with Server(handler) as server, client() as http:
        for i in range(5):
            r = await http.post(f"http://127.0.0.1:{server.port}/x?q={i}", content=b"payload-" + bytes([48 + i]))
            assert r.status_code == 200 and r.json() == {"a": 1}
        assert server.connections == 1
        first = server.requests[0]
        assert first.startswith(b"POST /x?q=0 HTTP/1.1\r\n") and first.endswith(b"\r\n\r\npayload-0")
        assert b"content-length: 9" in first.lower() and b"host: 127.0.0.1:" in first.lower()


async def test_chunked_body_split_across_reads_and_streamed():
    async def handler(reader, writer):
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/event-stream\r\n\r\n")
        for part in (b"data: one\n\n", b"data: two\n\n"):
            writer.write(f"{len(part):x}\r\n".encode() + part[:4])
            await writer.drain()
            await asyncio.sleep(0.02)
            writer.write(part[4:] + b"\r\n")
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        await server.read_request(reader)  # the connection is kept for a second request
        writer.write(response(b"again"))
        await writer.drain()

    async with Server(handler) as server, client() as http:
        async with http.stream("GET", f"http://127.0.0.1:{server.port}/s") as r:
            received = b"".join([chunk async for chunk in r.aiter_raw()])
        assert received == b"data: one\n\ndata: two\n\n"
        assert (await http.get(f"http://127.0.0.1:{server.port}/t")).text == "again"
        assert server.connections == 1


async def test_head_204_and_304_have_no_body_and_keep_the_connection():
    answers = [b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nETag: e1\r\n\r\n",
               b"HTTP/1.1 204 No Content\r\n\r\n", b"HTTP/1.1 304 Not Modified\r\nETag: e1\r\n\r\n", response(b"end")]

    async def handler(reader, writer):
        for answer in answers:
            await server.read_request(reader)
            writer.write(answer)
            await writer.drain()

    async with Server(handler) as server, client() as http:
        base = f"http://127.0.0.1:{server.port}"
        head = await http.head(f"{base}/o")
        assert head.status_code == 200 and head.headers["etag"] == "e1" and head.content == b""
        assert (await http.delete(f"{base}/o")).status_code == 204
        assert (await http.get(f"{base}/o", headers={"if-none-match": "e1"})).status_code == 304
        assert (await http.get(f"{base}/o")).text == "end"
        assert server.connections == 1


async def test_connection_close_is_honoured():
    async def handler(reader, writer):
        await server.read_request(reader)
        writer.write(response(b"bye", extra=b"Connection: close\r\n"))
        await writer.drain()

    async with Server(handler) as server, client() as http:
        assert (await http.get(f"http://127.0.0.1:{server.port}/")).text == "bye"
        assert (await http.get(f"http://127.0.0.1:{server.port}/")).text == "bye"
        assert server.connections == 2


async def test_stale_kept_alive_connection_is_retried_once_on_a_new_one():
    async def handler(reader, writer):
        await server.read_request(reader)
        writer.write(response(b"first"))
        await writer.drain()
        if server.connections == 1:
            await asyncio.sleep(0.05)
            return  # close silently: the pool still holds this connection as idle

    async with Server(handler) as server, client() as http:
        assert (await http.get(f"http://127.0.0.1:{server.port}/")).text == "first"
        await asyncio.sleep(0.2)
        assert (await http.post(f"http://127.0.0.1:{server.port}/", content=b"x")).text == "first"
        assert server.connections == 2


async def test_server_dropping_mid_body_is_an_error_not_a_short_answer():
    async def handler(reader, writer):
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-part")
        await writer.drain()

    async with Server(handler) as server, client() as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(f"http://127.0.0.1:{server.port}/")


async def test_read_timeout_and_connect_error_map_to_httpx_errors():
    async def handler(reader, writer):
        await server.read_request(reader)
        await asyncio.sleep(2)

    async with Server(handler) as server, client() as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(f"http://127.0.0.1:{server.port}/", timeout=httpx.Timeout(0.2))
    async with client() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{server.port}/")  # the server is gone


async def test_a_stream_closed_early_is_not_reused():
    async def handler(reader, writer):
        while True:
            await server.read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
            await writer.drain()
            await asyncio.sleep(0.3)
            writer.write(b"0\r\n\r\n")
            await writer.drain()

    async with Server(handler) as server, client() as http:
        for _ in range(2):
            async with http.stream("GET", f"http://127.0.0.1:{server.port}/") as r:
                async for chunk in r.aiter_raw():
                    assert chunk == b"hello"
                    break
        assert server.connections == 2


def _tls_pair(tmp_path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert_path, key_path)
    client_ctx = ssl.create_default_context(cafile=str(cert_path))
    return server_ctx, client_ctx


async def test_tls_verifies_the_server_name(tmp_path):
    server_ctx, client_ctx = _tls_pair(tmp_path)

    async def handler(reader, writer):
        await server.read_request(reader)
        writer.write(response(b"secure"))
        await writer.drain()

    async with Server(handler, server_ctx) as server:
        async with client(ssl_context=client_ctx) as http:
            assert (await http.get(f"https://localhost:{server.port}/")).text == "secure"
        async with client(ssl_context=client_ctx) as http:
            with pytest.raises(httpx.ConnectError):  # the certificate names localhost, not 127.0.0.1
                await http.get(f"https://127.0.0.1:{server.port}/")
        async with client() as http:  # the system CAs do not trust a self-signed certificate
            with pytest.raises(httpx.ConnectError):
                await http.get(f"https://localhost:{server.port}/")
