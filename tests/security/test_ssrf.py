"""The image-URL fetcher against SSRF: crafted hosts, rebinding, redirects, caps, with a real local server.

The fetcher refuses loopback in production; these tests build it with ``allow_loopback=True``
(a constructor flag, never a setting) only where a local server must serve a real image,
and check that everything else (private, link-local, metadata addresses...) is still
refused in that mode.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import struct
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from core.chat.request import parse_chat_request
from core.errors import APIError
from core.chat.images import ImageFetcher, ImageFetchError, address_allowed, inline_images, parse_target
from core.settings import Settings


def _png() -> bytes:
    """A real 1x1 PNG, built at test time."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0\xff\0\0\xff"))
            + chunk(b"IEND", b""))


PNG = _png()
PNG_URI = "data:image/png;base64," + base64.b64encode(PNG).decode()


class ImageServer(BaseHTTPRequestHandler):
    """Routes: a good image, wrong types, oversize and slow bodies, redirects; records Host headers."""

    protocol_version = "HTTP/1.0"
    hosts: list[str] = []
    hits: list[str] = []
    stop = threading.Event()

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        type(self).hits.append(self.path)
        type(self).hosts.append(self.headers.get("host", ""))
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        route = parts.path
        if route == "/cat.png":
            self._send(200, "image/png", PNG)
        elif route == "/cat-with-params.png":
            self._send(200, "image/png; charset=binary", PNG)
        elif route == "/page":
            self._send(200, "text/html", b"<html>not an image</html>")
        elif route == "/liar.png":
            self._send(200, "image/png", b"<?php echo 'hello'; ?>")
        elif route == "/gzip.png":
            self._send(200, "image/png", zlib.compress(PNG), extra={"Content-Encoding": "gzip"})
        elif route == "/missing.png":
            self._send(404, "text/plain", b"nope")
        elif route == "/big.png":  # no Content-Length: the cap must be enforced while streaming
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            try:
                self.wfile.write(PNG[:16])
                for _ in range(64):
                    self.wfile.write(b"\0" * 65536)
            except OSError:
                pass
        elif route == "/declared-big.png":
            self._send(200, "image/png", PNG, extra={"Content-Length": str(50 * 1024 * 1024)}, length=False)
        elif route == "/slow.png":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            try:
                self.wfile.write(PNG[:8])
                self.wfile.flush()
                while not type(self).stop.wait(0.05):
                    self.wfile.write(b"\0")
                    self.wfile.flush()
            except OSError:
                pass
        elif route == "/redirect":
            self.send_response(int(query.get("status", ["302"])[0]))
            self.send_header("Location", query["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif route == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._send(404, "text/plain", b"")

    def _send(self, status: int, content_type: str, body: bytes, *, extra: dict[str, str] | None = None,
              length: bool = True) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if length:
            self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), ImageServer)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_address[1]}"
    ImageServer.stop.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def clear_records() -> None:
    ImageServer.hosts.clear()
    ImageServer.hits.clear()


def resolver_of(table: dict[str, list[str]], calls: list[str] | None = None):
    """A resolver that answers from ``table`` (and records each lookup)."""
    async def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        if host not in table:
            raise OSError("no such host")
        return table[host]
    return resolve


async def refuse_to_resolve(host: str, port: int) -> list[str]:
    raise AssertionError(f"the fetcher resolved {host!r}: it should have refused the URL first")


def fetcher(**kwargs: Any) -> ImageFetcher:
    return ImageFetcher(**{"max_bytes": 1024 * 1024, "timeout_seconds": 5.0, **kwargs})


async def refused(url: str, **kwargs: Any) -> ImageFetchError:
    with pytest.raises(ImageFetchError) as info:
        await fetcher(**kwargs).fetch(url)
    return info.value


# -- a good image, and the connection is pinned -----------------------------------------


async def test_a_good_image_is_fetched_and_inlined(server: str) -> None:
    image = await fetcher(allow_loopback=True).fetch(f"http://{server}/cat-with-params.png")
    assert image.media_type == "image/png" and image.data == PNG
    assert image.data_uri() == PNG_URI


async def test_dns_is_resolved_once_and_the_connection_pinned_to_that_address(server: str) -> None:
    # "images.invalid" exists in no DNS: the fetch can only succeed by connecting to the address
    # the resolver gave, while the request still names the host.
    port = server.split(":")[1]
    calls: list[str] = []
    image = await fetcher(allow_loopback=True, resolver=resolver_of({"images.invalid": ["127.0.0.1"]}, calls)) \
        .fetch(f"http://images.invalid:{port}/cat.png")
    assert image.data == PNG
    assert calls == ["images.invalid"]
    assert ImageServer.hosts == [f"images.invalid:{port}"]


async def test_rebinding_answers_are_refused_when_any_address_is_internal(server: str) -> None:
    mixed = resolver_of({"rebind.test": ["93.184.216.34", "127.0.0.1"]})
    error = await refused("http://rebind.test/cat.png", resolver=mixed)
    assert error.code == "image_url_not_allowed" and error.message == "address not allowed"


# -- crafted hosts ------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "http://2130706433/",              # decimal 127.0.0.1
    "http://0x7f000001/",              # hex
    "http://0x7f.0.0.1/",              # hex octet
    "http://127.1/",                   # short form
    "http://017700000001/",            # octal, one number
    "http://[::ffff:127.0.0.1]/",      # IPv4-mapped IPv6
    "http://[::ffff:7f00:1]/",         # the same, hex
    "http://[::ffff:a9fe:a9fe]/",      # mapped metadata address
    "http://[::127.0.0.1]/",           # IPv4-compatible
    "http://[64:ff9b::a9fe:a9fe]/",    # NAT64 of the metadata address
    "http://[2002:7f00:1::]/",         # 6to4 of loopback
    "http://127.0.0.1/", "http://[::1]/", "http://0.0.0.0/", "http://[::]/",
    "http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/", "http://[fd00:c1::a9fe:a9fe]/",
    "http://10.0.0.1/", "http://172.16.5.4/", "http://192.168.1.1/", "http://100.64.0.1/",
    "http://224.0.0.1/", "http://240.0.0.1/", "http://255.255.255.255/",
    "http://[fe80::1]/", "http://[fc00::1]/", "http://[ff02::1]/", "http://[fec0::1]/",
])
async def test_internal_addresses_in_any_spelling_are_refused(url: str) -> None:
    error = await refused(url, resolver=refuse_to_resolve)
    assert error.code == "image_url_not_allowed", error.message
    assert error.message == "address not allowed"


async def test_octal_dotted_quad_is_refused_without_a_connection() -> None:
    error = await refused("http://0177.0.0.1/", resolver=refuse_to_resolve)
    assert error.code in ("image_url_not_allowed", "invalid_image_url")


async def test_names_that_resolve_internally_are_refused_without_revealing_the_address() -> None:
    error = await refused("http://localhost/cat.png")  # the system resolver: 127.0.0.1 / ::1
    assert error.code == "image_url_not_allowed"
    internal = resolver_of({"intranet.example": ["10.20.30.40"], "meta.example": ["169.254.169.254"]})
    for host in ("intranet.example", "meta.example"):
        error = await refused(f"https://{host}/x.png", resolver=internal)
        assert error.code == "image_url_not_allowed"
        assert "10.20.30.40" not in error.message and "169.254" not in error.message


async def test_loopback_mode_still_refuses_everything_else() -> None:
    for url in ("http://169.254.169.254/", "http://10.0.0.1/", "http://[fd00:ec2::254]/", "http://[fe80::1]/"):
        error = await refused(url, allow_loopback=True, resolver=refuse_to_resolve)
        assert error.code == "image_url_not_allowed"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/a.png", "gopher://example.com/",
                                 "data:text/html,hi", "javascript:alert(1)"])
async def test_only_http_and_https(url: str) -> None:
    error = await refused(url, resolver=refuse_to_resolve)
    assert error.code in ("image_url_not_allowed", "invalid_image_url")


async def test_credentials_in_the_url_are_refused_and_not_echoed(server: str) -> None:
    error = await refused(f"http://admin:hunter2secret@{server}/cat.png", allow_loopback=True)
    assert error.code == "image_url_not_allowed" and "credentials" in error.message
    assert "hunter2secret" not in error.message
    assert ImageServer.hits == []


# -- redirects ----------------------------------------------------------------------------


async def test_a_redirect_to_the_metadata_address_is_refused(server: str) -> None:
    for target in ("http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/",
                   "http://2852039166/"):  # 169.254.169.254 as one decimal number
        error = await refused(f"http://{server}/redirect?to={target}", allow_loopback=True)
        assert error.code == "image_url_not_allowed" and "redirected" in error.message
    assert all(hit.startswith("/redirect") for hit in ImageServer.hits)


async def test_each_redirect_is_resolved_and_checked_again(server: str) -> None:
    port = server.split(":")[1]
    calls: list[str] = []
    table = {"cdn.invalid": ["127.0.0.1"], "internal.invalid": ["192.168.0.10"]}
    error = await refused(f"http://cdn.invalid:{port}/redirect?to=http://internal.invalid/x.png",
                          allow_loopback=True, resolver=resolver_of(table, calls))
    assert error.code == "image_url_not_allowed"
    assert calls == ["cdn.invalid", "internal.invalid"]


async def test_good_redirects_are_followed_and_loops_are_capped(server: str) -> None:
    image = await fetcher(allow_loopback=True).fetch(f"http://{server}/redirect?status=307&to=/cat.png")
    assert image.data == PNG
    error = await refused(f"http://{server}/loop", allow_loopback=True)
    assert error.code == "image_fetch_failed" and "redirects" in error.message
    assert len(ImageServer.hits) == 2 + 4  # redirect + image, then the loop: the first GET and 3 redirects


async def test_a_redirect_with_credentials_or_a_bad_scheme_is_refused(server: str) -> None:
    for target in (f"http://u:p@{server}/cat.png", "file:///etc/passwd"):
        error = await refused(f"http://{server}/redirect?to={target}", allow_loopback=True)
        assert error.code == "image_url_not_allowed"


# -- content checks and caps --------------------------------------------------------------


@pytest.mark.parametrize("path, code", [
    ("/page", "invalid_image"),
    ("/liar.png", "invalid_image"),
    ("/gzip.png", "invalid_image"),
    ("/missing.png", "image_fetch_failed"),
    ("/big.png", "image_too_large"),
    ("/declared-big.png", "image_too_large"),
])
async def test_content_type_size_and_status_checks(server: str, path: str, code: str) -> None:
    error = await refused(f"http://{server}{path}", allow_loopback=True)
    assert error.code == code, error.message


async def test_a_slow_body_hits_the_time_cap(server: str) -> None:
    started = time.monotonic()
    error = await refused(f"http://{server}/slow.png", allow_loopback=True, timeout_seconds=0.5)
    assert error.code == "image_fetch_timeout"
    assert time.monotonic() - started < 30  # generous: only proves the fetch did not hang


async def test_a_refused_connection_is_a_clean_error(server: str) -> None:
    error = await refused("http://127.0.0.1:9/cat.png", allow_loopback=True)
    assert error.code == "image_fetch_failed" and "127.0.0.1" not in error.message


# -- the address rule ---------------------------------------------------------------------


@pytest.mark.parametrize("address, allowed", [
    ("8.8.8.8", True), ("93.184.216.34", True), ("2606:4700:4700::1111", True), ("::ffff:8.8.8.8", True),
    ("127.0.0.1", False), ("169.254.169.254", False), ("100.100.100.200", False), ("192.0.0.192", False),
    ("fd00:ec2::254", False), ("::ffff:10.0.0.1", False), ("64:ff9b::a00:1", False), ("2001:db8::1", False),
    ("198.18.0.1", False), ("192.0.2.1", False),
])
def test_address_rule(address: str, allowed: bool) -> None:
    assert address_allowed(ipaddress.ip_address(address)) is allowed


def test_parse_target_rejects_numeric_hosts_before_any_lookup() -> None:
    for url in ("http://2130706433/", "http://0x7f000001/", "http://1.2.3/"):
        with pytest.raises(ImageFetchError):
            parse_target(url)
    assert parse_target("https://Example.COM/a.png").host == "example.com"


# -- inline_images: the request, the param, the setting -----------------------------------


def chat(*urls: str) -> Any:
    content = [{"type": "text", "text": "what is this?"}] + [{"type": "image_url", "image_url": {"url": u}}
                                                              for u in urls]
    return parse_chat_request({"model": "meta.llama-4-scout-17b-16e-instruct",
                               "messages": [{"role": "system", "content": "be brief"},
                                            {"role": "user", "content": content}]})


async def test_inline_images_replaces_urls_and_keeps_data_uris(server: str) -> None:
    request = chat(PNG_URI, f"http://{server}/cat.png")
    result = await inline_images(request, Settings(), fetcher=fetcher(allow_loopback=True))
    urls = [part.url for part in result.messages[1].parts if part.type == "image"]
    assert urls == [PNG_URI, PNG_URI]
    assert result.messages[0] == request.messages[0]


async def test_inline_images_errors_point_at_the_image_part(server: str) -> None:
    request = chat(PNG_URI, f"http://{server}/cat.png", "http://169.254.169.254/latest/meta-data/")
    with pytest.raises(APIError) as info:
        await inline_images(request, Settings(), fetcher=fetcher(allow_loopback=True))
    error = info.value
    assert error.status == 400 and error.code == "image_url_not_allowed"
    assert error.param == "messages[1].content[3].image_url.url"
    assert "address not allowed" in error.message


async def test_fetch_settings_shape_the_fetcher() -> None:
    settings = Settings.from_env({"IMAGE_URL_MAX_BYTES": "1234", "IMAGE_URL_TIMEOUT_SECONDS": "2.5"})
    built = ImageFetcher.from_settings(settings)
    assert built.max_bytes == 1234 and built.timeout_seconds == 2.5 and built.allow_loopback is False
    assert Settings.from_env({"IMAGE_URL_FETCH": "false"}).image_url_fetch is False


async def test_handler_fetches_urls_or_refuses_them_when_fetching_is_off(gateway_env, server: str,
                                                                         monkeypatch) -> None:
    from core.chat import images
    from tests.support.runtime import reset_settings
    from core.exchange import HTTP, Headers, Request
    from handlers.router import dispatch

    monkeypatch.setattr(images.ImageFetcher, "from_settings",
                        classmethod(lambda cls, settings: fetcher(allow_loopback=True)))
    body = {"model": "meta.llama-4-scout-17b-16e-instruct", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": f"http://{server}/cat.png"}}]}]}
    sent: list[dict] = []

    def chat_upstream(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(200, json={"modelId": "meta.llama-4-scout-17b-16e-instruct", "chatResponse": {
            "apiFormat": "GENERIC", "choices": [{"index": 0, "finishReason": "stop", "message": {
                "role": "ASSISTANT", "content": [{"type": "TEXT", "text": "a cat"}]}}]}},
            headers={"opc-request-id": "ABC"})

    async def call() -> tuple[int, dict]:
        response = await dispatch(Request(method="POST", path="/v1/chat/completions", body=json.dumps(body).encode(),
                                          headers=Headers({"content-type": "application/json"}), kind=HTTP))
        return response.status, json.loads(response.body)

    with respx.mock(assert_all_called=False) as router:
        router.route(host="127.0.0.1").pass_through()
        router.post(url__regex=r".*/actions/chat$").mock(side_effect=chat_upstream)
        status, payload = await call()
        assert status == 200, payload
        image = sent[0]["chatRequest"]["messages"][0]["content"][1]
        assert image["type"] == "IMAGE" and image["imageUrl"]["url"] == PNG_URI

        gateway_env.setenv("IMAGE_URL_FETCH", "false")
        reset_settings()
        hits = len(ImageServer.hits)
        status, payload = await call()
        assert status == 400 and payload["error"]["code"] == "image_url_not_supported"
        assert payload["error"]["param"] == "messages[0].content[1].image_url.url"
        assert len(ImageServer.hits) == hits and len(sent) == 1  # no fetch, nothing upstream


# -- TLS: connect to the pinned address, verify the certificate against the name ----------


def _tls_files(tmp_path, name: str) -> tuple[str, str, str]:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    def build(subject: str, key, issuer: str, issuer_key, *, ca: bool, san: str | None = None):
        start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                   .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=2))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = build("test CA", ca_key, "test CA", ca_key, ca=True)
    leaf = build(name, key, "test CA", ca_key, ca=False, san=name)
    paths = (tmp_path / "ca.pem", tmp_path / "leaf.pem", tmp_path / "key.pem")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return tuple(str(p) for p in paths)  # type: ignore[return-value]


@pytest.mark.parametrize("certified_name, ok", [("images.invalid", True), ("other.invalid", False)])
async def test_https_is_pinned_to_the_address_and_verified_for_the_name(tmp_path, certified_name: str,
                                                                         ok: bool) -> None:
    import ssl

    ca, leaf, key = _tls_files(tmp_path, certified_name)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), ImageServer)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(leaf, key)
    httpd.socket = server_context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        port = httpd.server_address[1]
        client_context = ssl.create_default_context(cafile=ca)
        tls_fetcher = fetcher(allow_loopback=True, ssl_context=client_context,
                              resolver=resolver_of({"images.invalid": ["127.0.0.1"]}))
        url = f"https://images.invalid:{port}/cat.png"
        if ok:
            assert (await tls_fetcher.fetch(url)).data == PNG
            assert ImageServer.hosts == [f"images.invalid:{port}"]
        else:  # the certificate does not name the host: the pinned connection is not trusted
            with pytest.raises(ImageFetchError) as info:
                await tls_fetcher.fetch(url)
            assert info.value.code == "image_fetch_failed"
    finally:
        httpd.shutdown()
        httpd.server_close()
