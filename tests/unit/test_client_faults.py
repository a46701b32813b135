"""The real OCI client against small misbehaving servers on loopback: framing, reuse, cancellation, limits, proxies.

Each server is a raw asyncio server that writes exact bytes, so each test controls what goes on the wire;
nothing of the HTTP layer is mocked. The client is :class:`core.oci.client.OCIClient` as the gateway builds
it (httpx's own transport, the retry rule, the stray-bytes guard).
"""

from __future__ import annotations

import asyncio
import gzip
import os
import ssl
from typing import Awaitable, Callable

import httpx
import pytest
import trustme

from core.oci.client import OCIClient, UpstreamError, UpstreamRefused, UpstreamUnreachable
from core.oci.failures import api_error
from core.settings import Settings

Handler = Callable[["Connection"], Awaitable[None]]


class Connection:
    """One accepted connection: reads whole requests (head + Content-Length body) and writes raw bytes."""

    def __init__(self, server: "Server", reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer

    async def read_request(self) -> bytes:
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        request = head + (await self.reader.readexactly(length) if length else b"")
        self.server.requests.append(request)
        return request

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()


class Server:
    """A loopback server whose ``handler`` owns each connection; counts connections, requests and raw bytes."""

    def __init__(self, handler: Handler, tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.tls = tls
        self.connections = 0
        self.requests: list[bytes] = []
        self.closed_by_peer = asyncio.Event()

    async def __aenter__(self) -> "Server":
        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            try:
                await self.handler(Connection(self, reader, writer))
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        self.server = await asyncio.start_server(on_connect, "127.0.0.1", 0, ssl=self.tls)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *args: object) -> None:
        self.server.close()
        await self.server.wait_closed()

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}/20231130/actions/chat"


def answer(body: bytes = b'{"ok":true}', status: bytes = b"200 OK", extra: bytes = b"") -> bytes:
    return (b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n" + extra + b"\r\n" + body)


async def no_sleep(seconds: float) -> None:
    return None


def client(credentials, **kwargs) -> OCIClient:
    settings = Settings(oci_max_retries=3, oci_timeout_seconds=5.0)
    return OCIClient(settings, credentials, sleep=no_sleep, **kwargs)


def body_of(request: bytes) -> bytes:
    return request.split(b"\r\n\r\n", 1)[1]


async def test_an_interim_1xx_answer_is_skipped_for_the_final_one(api_key_credentials):
    async def handler(conn: Connection) -> None:
        await conn.read_request()
        await conn.send(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n")
        await conn.send(answer(b'{"final":1}'))

    async with Server(handler) as server:
        oci = client(api_key_credentials)
        result = await oci.request("POST", server.url, json_body={"a": 1})
        await oci.aclose()
    assert result.status == 200 and result.json() == {"final": 1}


@pytest.mark.parametrize("first_answer, first_body", [
    (answer(b'{"for":"first"}') + answer(b'{"for":"nobody"}'), b'{"for":"first"}'),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n" + b'{"a":12}' + b"TRAILING JUNK", b'{"a":12}'),
], ids=["two-answers-in-one-write", "body-longer-than-its-content-length"])
async def test_bytes_past_an_answer_never_reach_the_next_caller(api_key_credentials, first_answer, first_body):
    async def handler(conn: Connection) -> None:
        while True:
            request = await conn.read_request()
            await conn.send(first_answer if b"first" in body_of(request) else answer(b'{"for":"second"}'))

    async with Server(handler) as server:
        oci = client(api_key_credentials)
        first = await oci.request("POST", server.url, json_body={"call": "first"})
        second = await oci.request("POST", server.url, json_body={"call": "second"})
        await oci.aclose()
    assert first.body == first_body and second.json() == {"for": "second"}
    assert server.connections == 2  # the connection holding the stray bytes was closed, not reused


async def test_a_close_delimited_body_is_read_to_the_end(api_key_credentials):
    async def handler(conn: Connection) -> None:
        await conn.read_request()
        await conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
        await conn.send(b'{"part":')
        await conn.send(b'"one and two"}')
        conn.writer.close()

    async with Server(handler) as server:
        oci = client(api_key_credentials)
        result = await oci.request("POST", server.url, json_body={})
        await oci.aclose()
    assert result.json() == {"part": "one and two"}


async def test_a_post_the_server_read_and_dropped_is_sent_exactly_once(api_key_credentials):
    async def handler(conn: Connection) -> None:
        await conn.read_request()
        conn.writer.close()  # received, perhaps acted on, never answered

    async with Server(handler) as server:
        oci = client(api_key_credentials)
        with pytest.raises(UpstreamUnreachable) as caught:
            await oci.request("POST", server.url, json_body={"generate": True})
        await oci.aclose()
    assert len(server.requests) == 1 and server.connections == 1
    error = api_error(caught.value)
    assert error.status == 503 and error.code == "upstream_unreachable" and "RemoteProtocolError" in error.message


async def test_a_post_dropped_on_a_kept_alive_connection_is_not_replayed(api_key_credentials):
    """The second request goes out on the pooled connection, which the server reads and then closes."""
    async def handler(conn: Connection) -> None:
        await conn.read_request()
        await conn.send(answer())
        await conn.read_request()
        conn.writer.close()

    async with Server(handler) as server:
        oci = client(api_key_credentials)
        await oci.request("POST", server.url, json_body={"n": 1})
        with pytest.raises(UpstreamUnreachable):
            await oci.request("POST", server.url, json_body={"n": 2})
        await oci.aclose()
    assert [body_of(r) for r in server.requests] == [b'{"n":1}', b'{"n":2}'] and server.connections == 1


async def test_an_idle_connection_dropped_silently_expires_instead_of_hanging(api_key_credentials):
    async def handler(conn: Connection) -> None:
        number = server.connections
        await conn.read_request()
        await conn.send(answer(b'{"n":%d}' % number))
        if number == 1:
            await conn.reader.read()  # a middlebox forgot this connection: no answer ever comes back on it
            return
        while True:
            await conn.read_request()
            await conn.send(answer(b'{"n":%d}' % number))

    limits = httpx.Limits(max_connections=8, max_keepalive_connections=4, keepalive_expiry=0.3)
    async with Server(handler) as server:
        oci = client(api_key_credentials, limits=limits)
        await oci.request("POST", server.url, json_body={})
        await asyncio.sleep(0.6)
        result = await asyncio.wait_for(oci.request("POST", server.url, json_body={}), timeout=3)
        await oci.aclose()
    assert result.json() == {"n": 2} and server.connections == 2


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_a_request_cancelled_while_waiting_for_headers_leaves_no_socket_open(api_key_credentials):
    received = asyncio.Event()
    peer_closed = asyncio.Event()

    async def handler(conn: Connection) -> None:
        await conn.read_request()
        received.set()
        await conn.reader.read()  # returns when the client closes its end
        peer_closed.set()

    async with Server(handler) as server:
        oci = client(api_key_credentials)
        before = open_descriptors()
        call = asyncio.create_task(oci.request("POST", server.url, json_body={}))
        await asyncio.wait_for(received.wait(), timeout=3)
        assert open_descriptors() == before + 2  # the client's socket and the server's end of it
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await asyncio.wait_for(peer_closed.wait(), timeout=3)
        await asyncio.sleep(0.05)  # the server's end closes after its handler returns
        assert open_descriptors() == before
        await oci.aclose()


def big_header(size: int) -> bytes:
    return b"X-Big: " + b"a" * size + b"\r\n"


async def test_a_70_kb_header_block_is_accepted_and_a_200_kb_one_fails_cleanly(api_key_credentials):
    async def handler(conn: Connection) -> None:
        while True:
            request = await conn.read_request()
            size = 70_000 if b"small" in body_of(request) else 200_000
            await conn.send(answer(extra=big_header(size)))

    async with Server(handler) as server:
        oci = client(api_key_credentials)
        accepted = await oci.request("POST", server.url, json_body={"small": 1})
        with pytest.raises(UpstreamUnreachable) as caught:
            await oci.request("POST", server.url, json_body={"large": 1})
        await oci.aclose()
    assert len(accepted.headers["x-big"]) == 70_000
    error = api_error(caught.value)
    assert error.status == 503 and "100 KiB" in error.message
    assert len(server.requests) == 2  # the refused answer was not fetched again


async def test_a_header_value_with_cr_lf_is_refused_before_anything_is_sent(api_key_credentials):
    received: list[bytes] = []

    async def handler(conn: Connection) -> None:
        received.append(await conn.reader.read())

    async with Server(handler) as server:
        oci = client(api_key_credentials)
        with pytest.raises(UpstreamRefused) as caught:
            await oci.request("HEAD", server.url, headers={"if-match": "abc\r\nDELETE /n/ns/b/b/o/x HTTP/1.1"})
        await oci.aclose()
        await asyncio.sleep(0.05)
    assert b"".join(received) == b"" and server.requests == []
    assert caught.value.attempts == 1 and api_error(caught.value).status == 500


async def test_a_gzip_encoded_event_stream_is_decoded(api_key_credentials):
    events = b"".join(b'data: {"index":0,"message":{"content":[{"type":"TEXT","text":"t%d"}]}}\n\n' % i
                      for i in range(50))
    packed = gzip.compress(events)

    async def handler(conn: Connection) -> None:
        await conn.read_request()
        await conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Encoding: gzip\r\n"
                        b"Transfer-Encoding: chunked\r\n\r\n")
        for start in range(0, len(packed), 97):
            piece = packed[start:start + 97]
            await conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        await conn.send(b"0\r\n\r\n")

    async with Server(handler) as server:
        oci = client(api_key_credentials)
        stream = await oci.open_stream("POST", server.url, json_body={}, accept="text/event-stream")
        received = b"".join([chunk async for chunk in stream.chunks()])
        await stream.aclose()
        await oci.aclose()
    assert received == events
    assert b"gzip" in server.requests[0].lower()  # the client asked for it


async def test_a_body_that_fails_to_decode_is_a_clean_failure_not_a_crash(api_key_credentials):
    async def handler(conn: Connection) -> None:
        while True:
            await conn.read_request()
            await conn.send(answer(b"this is not gzip", extra=b"Content-Encoding: gzip\r\n"))

    async with Server(handler) as server:
        oci = client(api_key_credentials)
        with pytest.raises(UpstreamUnreachable) as caught:
            await oci.request("POST", server.url, json_body={})
        await oci.aclose()
    assert caught.value.reason == "DecodingError" and len(server.requests) == 1  # answered: never re-sent
    assert api_error(caught.value).status == 503


async def test_answered_is_called_when_the_status_arrives_before_the_body_and_only_for_an_accepted_status(
        api_key_credentials):
    body_may_come = asyncio.Event()

    async def handler(conn: Connection) -> None:
        await conn.read_request()
        await conn.send(answer(b'{"code":"InternalServerError"}', status=b"503 Service Unavailable"))
        await conn.read_request()
        full = answer(b'{"vectors":[[0.5]]}')
        head, body = full.split(b"\r\n\r\n", 1)
        await conn.send(head + b"\r\n\r\n")
        await body_may_come.wait()  # only the callback lets the body out: no callback, no answer
        await conn.send(body)

    calls = []

    def answered() -> None:
        calls.append(body_may_come.is_set())
        body_may_come.set()

    async with Server(handler) as server:
        oci = client(api_key_credentials)
        result = await asyncio.wait_for(oci.request("POST", server.url, json_body={}, answered=answered), 5)
        await oci.aclose()
    assert result.json() == {"vectors": [[0.5]]}
    assert len(server.requests) == 2 and calls == [False]  # once, for the 200, with its body not yet sent


# -- proxies -----------------------------------------------------------------------------------------------------


class ConnectProxy:
    """A minimal HTTP CONNECT proxy: records each CONNECT target and pipes bytes both ways."""

    def __init__(self) -> None:
        self.targets: list[str] = []

    async def __aenter__(self) -> "ConnectProxy":
        self.server = await asyncio.start_server(self._on_connect, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *args: object) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
            if method != "CONNECT":
                writer.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            self.targets.append(target)
            host, port = target.rsplit(":", 1)
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


@pytest.fixture
def tls_server_context(tmp_path, monkeypatch):
    """A TLS context for 127.0.0.1 signed by a throwaway CA that the client trusts through SSL_CERT_FILE."""
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
                 "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    return context


async def _ok(conn: Connection) -> None:
    while True:
        await conn.read_request()
        await conn.send(answer(b'{"via":"tls"}'))


async def test_https_proxy_is_honoured_for_oci_calls(api_key_credentials, tls_server_context, monkeypatch):
    async with Server(_ok, tls=tls_server_context) as server, ConnectProxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        oci = client(api_key_credentials)
        result = await oci.request("POST", server.url, json_body={})
        await oci.aclose()
    assert result.json() == {"via": "tls"}
    assert proxy.targets == [f"127.0.0.1:{server.port}"] and len(server.requests) == 1


async def test_no_proxy_hosts_are_reached_directly(api_key_credentials, tls_server_context, monkeypatch):
    async with Server(_ok, tls=tls_server_context) as server, ConnectProxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        oci = client(api_key_credentials)
        result = await oci.request("POST", server.url, json_body={})
        await oci.aclose()
    assert result.json() == {"via": "tls"} and proxy.targets == []


async def test_a_proxy_that_refuses_the_tunnel_is_a_clean_503_after_retries(api_key_credentials, tls_server_context,
                                                                             monkeypatch):
    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    proxy = await asyncio.start_server(refuse, "127.0.0.1", 0)
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.sockets[0].getsockname()[1]}")
    oci = client(api_key_credentials)
    with pytest.raises(UpstreamError) as caught:
        await oci.request("POST", "https://127.0.0.1:9/20231130/actions/chat", json_body={})
    await oci.aclose()
    proxy.close()
    assert caught.value.attempts == 4  # the request never reached OCI: safe to send again
    assert api_error(caught.value).status == 503 and "ProxyError" in api_error(caught.value).message
