"""OCI's own base64 embeddings (``embeddingTypes: ["base64"]``), passed through only once shown identical (pure).

The openai SDK asks for ``base64`` by default: each vector's little-endian float32 bytes as base64 text. Packing
that from OCI's float text means parsing every number (about 7 ms per 96 x 1,536 answer). OCI can send base64
itself but documents no byte layout for it, so a model's first ``base64`` call asks for ``float`` and ``base64``
together and compares OCI's strings, text for text, with what the gateway packs from the floats. Only an exact
match for every vector lets later calls ask for ``base64`` alone and pass OCI's strings through; anything else
(no strings, other bytes, a 400 for the field) keeps packing, and the service logs what it found once.
"""

from __future__ import annotations

import binascii
import struct
from typing import Any, Sequence

UNKNOWN = "unknown"
"""No answer has shown yet what OCI's base64 strings are: ask for both types and compare."""
PASSED = "passed"
"""OCI's strings were the gateway's own text: ask for base64 alone and pass them through."""
PACKED = "packed"
"""OCI's strings differ, are missing or were refused: ask for floats and pack them here."""

_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
"""Standard base64's digits (checked with ``bytes.translate``: a sixth of what decoding costs)."""

_ASKED = {UNKNOWN: ["float", "base64"], PASSED: ["base64"], PACKED: None}


def embedding_types(layout: str) -> list[str] | None:
    """The ``embeddingTypes`` a call sends while the model's layout is ``layout`` (None: the field is left out)."""
    return _ASKED[layout]


def strings_of(answer: dict[str, Any]) -> Any:
    """OCI's base64 embeddings in a parsed answer (whatever is there; :func:`check_strings` judges it)."""
    by_type = answer.get("embeddingsByType")
    return by_type.get("base64") if isinstance(by_type, dict) else None


def check_strings(strings: Any, count: int) -> tuple[list[bytes], list[int]] | str:
    """``count`` base64 strings as the response writes them (JSON strings) and each vector's size, or what is wrong
    with them."""
    if not isinstance(strings, list) or not strings:
        return "no base64 embeddings in the answer"
    if len(strings) != count:
        return f"{len(strings)} base64 embeddings for {count} inputs"
    encoded: list[bytes] = []
    sizes: list[int] = []
    for text in strings:
        if not isinstance(text, str) or not text.isascii():
            return "base64 embeddings that are not ASCII strings"
        raw = text.encode("ascii")
        digits = raw.rstrip(b"=")
        padding = len(raw) - len(digits)
        if len(raw) % 4 or padding > 2 or digits.translate(None, _ALPHABET):
            return "base64 embeddings that are not padded standard base64"
        size = len(raw) // 4 * 3 - padding
        if size == 0 or size % 4:
            return f"a base64 embedding of {size} bytes (not whole float32 values)"
        encoded.append(b'"' + raw + b'"')
        sizes.append(size // 4)
    return encoded, sizes


def compare(packed: Sequence[bytes | memoryview], strings: Any) -> str:
    """Empty when OCI's ``strings`` are, text for text, the gateway's ``packed`` JSON strings; otherwise what they
    are instead (for the log)."""
    checked = check_strings(strings, len(packed))
    if isinstance(checked, str):
        return checked
    theirs, _ = checked
    for ours, text in zip(packed, theirs):
        if bytes(ours) != text:
            return _difference(binascii.a2b_base64(bytes(ours)[1:-1]), binascii.a2b_base64(text[1:-1]))
    return ""


def _difference(ours: bytes, theirs: bytes) -> str:
    """What OCI's bytes are, given the little-endian float32 bytes the gateway packed for the same vector."""
    count = len(ours) // 4
    values = struct.unpack(f"<{count}f", ours)
    if theirs == ours:
        return "the same bytes written as other base64 text"
    if theirs == struct.pack(f">{count}f", *values):
        return "big-endian float32 values"
    if len(theirs) == 8 * count:
        return "8 bytes per value (float64?)"
    if len(theirs) == 2 * count:
        return "2 bytes per value (float16?)"
    if len(theirs) == 4 * count:
        return "other 4-byte values than the floats in the same answer"
    return f"a base64 embedding of {len(theirs)} bytes against {count} numbers"
