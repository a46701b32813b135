"""The gateway's SSE decoder against httpx-sse's (as vendored in httpx2, a test-only dependency), on OCI's events.

    .venv/bin/python -m bench.sse_decoder

200 GENERIC token events as OCI sends them (one ``data:`` line each), cut into reads of 40-400 bytes.
"""

from __future__ import annotations

import random
import timeit
from typing import Callable

from core.chat.sse import SSEDecoder

EVENTS = b"".join(b'data: {"index":0,"message":{"role":"ASSISTANT","content":[{"type":"TEXT","text":" token%d"}]}}\n\n'
                  % i for i in range(200))


def reads(seed: int = 1) -> list[bytes]:
    rng, chunks, start = random.Random(seed), [], 0
    while start < len(EVENTS):
        size = rng.randint(40, 400)
        chunks.append(EVENTS[start:start + size])
        start += size
    return chunks


def ours(chunks: list[bytes]) -> list[str]:
    decoder = SSEDecoder()
    out = [data for chunk in chunks for data in decoder.feed(chunk)]
    return out + list(decoder.close())


def httpx_sse(chunks: list[bytes]) -> list[str]:
    from httpx2._sse import _SSEEventDecoder, _SSELineDecoder

    lines, events, out = _SSELineDecoder(), _SSEEventDecoder(), []
    for chunk in chunks:
        for line in lines.decode(chunk.decode()):
            event = events.decode(line)
            if event is not None:
                out.append(event.data)
    return out


def per_event_us(decode: Callable[[list[bytes]], list[str]], chunks: list[bytes]) -> float:
    assert len(decode(chunks)) == 200
    return min(timeit.repeat(lambda: decode(chunks), number=50, repeat=7)) / 50 / 200 * 1e6


def main() -> None:
    chunks = reads()
    for name, decode in (("core.chat.sse.SSEDecoder", ours), ("httpx-sse (httpx2._sse)", httpx_sse)):
        print(f"{name}: {per_event_us(decode, chunks):.2f} µs per event")


if __name__ == "__main__":
    main()
