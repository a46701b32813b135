"""Server-sent events, both ways: reading OCI's streams and writing OpenAI's.

OCI does not align event boundaries with network reads, and sometimes separates
events with a single newline instead of a blank line. Its events
are one ``data:`` line each, so the decoder treats every complete ``data:`` line as
one event and buffers partial lines (and partial UTF-8 sequences) across reads.
"""

from __future__ import annotations

import codecs
import re
from typing import Any, Iterator

from core.jsonio import dumps

DONE = "[DONE]"


class SSEDecoder:
    """Incremental decoder: ``feed(bytes)`` yields each complete event's data string."""

    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""

    def feed(self, chunk: bytes) -> Iterator[str]:
        buffer = self._buffer + self._text.decode(chunk)
        start = 0
        for end in _LINE_END.finditer(buffer):
            data = _data(buffer[start:end.start()])
            start = end.end()
            if data is not None:
                yield data
        self._buffer = buffer[start:]

    def close(self) -> Iterator[str]:
        """Flush a last event that had no trailing newline."""
        self._buffer += self._text.decode(b"", final=True)
        line, self._buffer = self._buffer, ""
        data = _data(line.rstrip("\r"))
        if data is not None:
            yield data


# A line ends at \r\n, \n, or a \r that is not the last character read (it may be half of a \r\n).
_LINE_END = re.compile(r"\r\n|\n|\r(?=[\s\S])")


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
