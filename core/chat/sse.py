"""Server-sent events, both ways: reading OCI's streams and writing OpenAI's.

OCI does not align event boundaries with network reads, and sometimes separates
events with a single newline instead of a blank line. Its events
are one ``data:`` line each, so the decoder treats every complete ``data:`` line as
one event and buffers partial lines (and partial UTF-8 sequences) across reads.
"""

from __future__ import annotations

import codecs
from typing import Any, Iterator

from core.jsonio import dumps

DONE = "[DONE]"


class SSEDecoder:
    """Incremental decoder: ``feed(bytes)`` yields each complete event's data string."""

    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""

    def feed(self, chunk: bytes) -> Iterator[str]:
        self._buffer += self._text.decode(chunk)
        while True:
            cut = _line_end(self._buffer)
            if cut is None:
                return
            line, self._buffer = self._buffer[:cut[0]], self._buffer[cut[1]:]
            data = _data(line)
            if data is not None:
                yield data

    def close(self) -> Iterator[str]:
        """Flush a last event that had no trailing newline."""
        self._buffer += self._text.decode(b"", final=True)
        line, self._buffer = self._buffer, ""
        data = _data(line)
        if data is not None:
            yield data


def _line_end(buffer: str) -> tuple[int, int] | None:
    for i, ch in enumerate(buffer):
        if ch == "\n":
            return i, i + 1
        if ch == "\r":
            if i + 1 == len(buffer):
                return None  # might be \r\n split across reads
            return (i, i + 2) if buffer[i + 1] == "\n" else (i, i + 1)
    return None


def _data(line: str) -> str | None:
    if not line.startswith("data:"):
        return None  # blank separators, comments (":..."), event:/id:/retry: fields
    value = line[5:]
    return value[1:] if value.startswith(" ") else value


def encode_event(payload: Any, event: str | None = None) -> bytes:
    """One OpenAI-style SSE event."""
    data = payload.encode() if isinstance(payload, str) else dumps(payload)
    prefix = f"event: {event}\n".encode() if event else b""
    return prefix + b"data: " + data + b"\n\n"


DONE_EVENT = encode_event(DONE)
