"""One request's images share one byte budget (MAX_TOTAL_IMAGE_BYTES): a few hundred bytes of JSON naming image
URLs cannot make the gateway hold, or send OCI, more than that.

The image server is a loopback asyncio server writing exact bytes (declared lengths, chunked bodies, bodies
that never come); the fetcher is the real one with loopback allowed.
"""

from __future__ import annotations

import asyncio
import tracemalloc

import pytest

from core.chat.images import ImageFetcher, inline_images
from core.chat.request import parse_chat_request
from core.errors import APIError
from core.settings import Settings

PNG_HEAD = b"\x89PNG\r\n\x1a\n"


def png(size: int) -> bytes:
    return PNG_HEAD + b"\0" * (size - len(PNG_HEAD))


class ImageServer:
    """``/declared/<size>``: a PNG with Content-Length; ``/chunked/<size>``: one without;
    ``/promised/<size>``: headers declaring ``size`` bytes, then a body that never comes."""

    def __init__(self) -> None:
        self.bodies_started: list[str] = []
        self._hold = asyncio.Event()

    async def __aenter__(self) -> "ImageServer":
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.base = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *args: object) -> None:
        self._hold.set()
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            kind, size_text = head.split(b" ", 2)[1].decode().strip("/").split("/")[:2]
            size = int(size_text)
            status = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nConnection: close\r\n"
            if kind == "chunked":
                writer.write(status + b"Transfer-Encoding: chunked\r\n\r\n")
                self.bodies_started.append(kind)
                body = png(size)
                for start in range(0, len(body), 65536):
                    piece = body[start:start + 65536]
                    writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
            else:
                writer.write(status + b"Content-Length: %d\r\n\r\n" % size)
                await writer.drain()
                if kind == "promised":
                    await self._hold.wait()
                    return
                self.bodies_started.append(kind)
                writer.write(png(size))
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


def chat_with_images(*urls: str) -> object:
    content = [{"type": "text", "text": "what is this?"}]
    content += [{"type": "image_url", "image_url": {"url": url}} for url in urls]
    return parse_chat_request({"model": "meta.llama-4-scout-17b-16e-instruct",
                               "messages": [{"role": "user", "content": content}]})


def fetcher(max_bytes: int = 5_000_000) -> ImageFetcher:
    return ImageFetcher(max_bytes=max_bytes, timeout_seconds=5, allow_loopback=True)


async def refused(request, total: int) -> APIError:
    with pytest.raises(APIError) as caught:
        await inline_images(request, Settings(max_total_image_bytes=total), fetcher=fetcher())
    return caught.value


async def test_declared_lengths_over_the_total_are_refused_before_their_bodies_are_read():
    async with ImageServer() as server:
        request = chat_with_images(f"{server.base}/promised/3000000", f"{server.base}/promised/3000001")
        started = asyncio.get_running_loop().time()
        error = await refused(request, total=4_000_000)
        elapsed = asyncio.get_running_loop().time() - started
    assert elapsed < 2  # the second declared length was refused at once, not after the bodies' time cap
    assert error.status == 400 and error.code == "images_too_large" and "MAX_TOTAL_IMAGE_BYTES" in error.message
    assert error.param == "messages[0].content[2].image_url.url"


async def test_undeclared_bodies_are_counted_as_they_arrive():
    async with ImageServer() as server:
        request = chat_with_images(*(f"{server.base}/chunked/{400_000 + i}" for i in range(4)))
        error = await refused(request, total=1_000_000)
    assert error.code == "images_too_large" and "1000000 bytes" in error.message


async def test_inline_images_count_toward_the_same_total():
    inline = "data:image/png;base64," + __import__("base64").b64encode(png(700_000)).decode()
    async with ImageServer() as server:
        request = chat_with_images(inline, f"{server.base}/promised/400000")
        error = await refused(request, total=1_000_000)  # a body that never comes is never waited for
    assert error.code == "images_too_large" and error.param == "messages[0].content[2].image_url.url"


async def test_images_within_the_total_are_inlined_and_each_is_held_once():
    count, size = 4, 1_000_000
    async with ImageServer() as server:
        request = chat_with_images(*(f"{server.base}/declared/{size + i}" for i in range(count)))
        tracemalloc.start()
        try:
            inlined = await inline_images(request, Settings(max_total_image_bytes=count * size + 100),
                                          fetcher=fetcher())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    urls = [p.url for p in inlined.messages[0].parts if p.type == "image"]
    assert len(urls) == count and all(u.startswith("data:image/png;base64,") for u in urls)
    base64_bytes = count * size * 4 / 3
    # What stays is the base64 of each image; on the way, at most one raw copy per image in flight (and the
    # base64 being built): well under two raw copies plus two base64 copies of everything.
    assert peak < 2 * count * size + 2 * base64_bytes


async def test_image_fetches_never_go_through_a_proxy(monkeypatch):
    """DNS pinning is the fetcher's SSRF fence: a proxy would resolve the name itself, so none is ever used."""
    dead = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    proxy = f"http://127.0.0.1:{dead.sockets[0].getsockname()[1]}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    try:
        async with ImageServer() as server:
            inlined = await inline_images(chat_with_images(f"{server.base}/declared/2000"),
                                          Settings(max_total_image_bytes=10_000), fetcher=fetcher())
    finally:
        dead.close()
    assert inlined.messages[0].parts[1].url.startswith("data:image/png;base64,")
