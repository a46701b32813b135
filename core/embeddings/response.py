"""OCI ``EmbedTextResult`` answers -> one OpenAI embeddings response, written as bytes (pure).

The vectors are nearly all of both answers (96 inputs x 1,536 numbers is about 1.8 MB of JSON), so
they are never turned into Python floats for ``encoding_format: float``: :func:`read_answer` finds
each vector's JSON text in OCI's answer and the response carries that text as it came (OCI writes
float32 values with their shortest digits, e.g. ``0.009473139`` and ``-8.4949343E-4``, which every
JSON reader takes). The scan checks that each vector holds only numbers (the bytes ``0-9 . - + e E``)
and counts its commas; an answer laid out any other way is parsed whole instead, with the same result.

``base64`` (what the openai SDK asks for by default) needs the bytes: each vector is parsed and packed
as little-endian float32, which ``numpy.frombuffer(..., dtype="float32")`` reads back on any host.
OCI's own ``embeddingTypes: ["base64"]`` is not used: OCI documents no byte layout for it.
"""

from __future__ import annotations

import base64
import binascii
import struct
from dataclasses import dataclass
from typing import Any, Sequence

from core.embeddings.plan import Batch
from core.errors import SERVER, APIError
from core.jsonio import dumps, loads

_KEY = b'"embeddings":['
_NUMBER_BYTES = b"0123456789.-+eE"


@dataclass(frozen=True)
class Answer:
    """One embedText answer, read: each vector's JSON text and size, and the call's token counts."""

    vectors: list[memoryview]
    dimensions: list[int]
    prompt_tokens: int
    total_tokens: int


@dataclass(frozen=True)
class Assembled:
    """The OpenAI response as bytes, and what callers need without parsing it again."""

    content: bytes
    vectors: list[memoryview]
    """Each input's vector as JSON text (``[0.1,-2.5E-4,...]``), in request order."""
    prompt_tokens: int
    total_tokens: int


def encode_base64(vector: Sequence[float]) -> str:
    """Little-endian float32 bytes of ``vector``, base64-encoded."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def _bad_answer(message: str) -> APIError:
    return APIError(503, f"OCI Generative AI returned {message}.", type=SERVER, code="upstream_bad_response")


def read_answer(body: bytes, count: int) -> Answer:
    """The vectors of one answer (``count`` expected) without building floats, or a 503 naming what is wrong."""
    found = _scan(body) or _parse(body)
    vectors, dimensions, rest = found
    if len(vectors) != count:
        raise _bad_answer(f"{len(vectors) if vectors else 'no'} embeddings for {count} inputs")
    prompt, total = _usage(rest.get("usage"))
    return Answer(vectors, dimensions, prompt, total)


def _scan(body: bytes) -> tuple[list[memoryview], list[int], dict[str, Any]] | None:
    """``embeddings`` found by a scan (OCI's compact layout), or None to parse the answer whole.

    ``skeleton`` is the answer without number bytes: a vector of ``n`` numbers is ``[`` + ``n - 1``
    commas + ``]`` there, so anything else inside a vector (a string, null, a nested array) shows.
    The rest of the answer is parsed with the vectors replaced by ``null``.
    """
    start = body.find(_KEY)
    if start < 0:
        return None
    start += len(_KEY) - 1  # the "[" that opens the list of vectors
    skeleton = body.translate(None, _NUMBER_BYTES)
    at, at_skeleton = start + 1, len(body[:start].translate(None, _NUMBER_BYTES)) + 1
    vectors: list[memoryview] = []
    dimensions: list[int] = []
    view = memoryview(body)
    while body[at:at + 1] == b"[" and skeleton[at_skeleton:at_skeleton + 1] == b"[":
        close, close_skeleton = body.find(b"]", at), skeleton.find(b"]", at_skeleton)
        commas = close_skeleton - at_skeleton - 1
        if close < at + 2 or skeleton.count(b",", at_skeleton + 1, close_skeleton) != commas:
            return None
        vectors.append(view[at:close + 1])
        dimensions.append(commas + 1)
        at, at_skeleton = close + 1, close_skeleton + 1
        if body[at:at + 1] != b"," or skeleton[at_skeleton:at_skeleton + 1] != b",":
            break
        at, at_skeleton = at + 1, at_skeleton + 1
    if body[at:at + 1] != b"]" or skeleton[at_skeleton:at_skeleton + 1] != b"]":
        return None
    try:
        rest = loads(body[:start] + b"null" + body[at + 1:])
    except ValueError:
        return None
    if not isinstance(rest, dict) or "embeddings" not in rest or rest["embeddings"] is not None:
        return None  # the key found was not the answer's own
    return vectors, dimensions, rest


def _parse(body: bytes) -> tuple[list[memoryview], list[int], dict[str, Any]]:
    """The answer parsed whole (any layout); each vector written back as compact JSON."""
    try:
        result = loads(body)
    except ValueError:
        raise _bad_answer("an answer that is not JSON") from None
    if not isinstance(result, dict):
        raise _bad_answer("an answer that is not a JSON object")
    embeddings = result.get("embeddings")
    if embeddings is None:
        embeddings = (result.get("embeddingsByType") or {}).get("float")
    if not isinstance(embeddings, list):
        return [], [], result
    for vector in embeddings:
        if not isinstance(vector, list) or not vector or not all(_is_number(v) for v in vector):
            raise _bad_answer("an embedding that is not a list of numbers")
    return [memoryview(dumps(v)) for v in embeddings], [len(v) for v in embeddings], result


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _usage(usage: Any) -> tuple[int, int]:
    if not isinstance(usage, dict):
        return 0, 0
    prompt = usage.get("promptTokens")
    total = usage.get("totalTokens")
    prompt = prompt if isinstance(prompt, int) else (total if isinstance(total, int) else 0)
    total = total if isinstance(total, int) else prompt
    return prompt, total


def _base64(vector: memoryview, dimensions: int) -> bytes:
    """The vector as a JSON string of base64 little-endian float32 bytes."""
    try:
        packed = struct.pack(f"<{dimensions}f", *loads(vector))
    except (OverflowError, struct.error, ValueError):
        raise _bad_answer("an embedding value outside the float32 range") from None
    return b'"' + binascii.b2a_base64(packed, newline=False) + b'"'


def assemble(batches: Sequence[Batch], answers: Sequence[Answer], *, model: str, encoding_format: str,
             expected_dimensions: int | None = None) -> Assembled:
    """The OpenAI response: vectors put back at their request positions, usage summed over calls."""
    count = sum(len(b.indices) for b in batches)
    slots: list[memoryview | None] = [None] * count
    sizes = [0] * count
    prompt_tokens = total_tokens = 0
    for batch, answer in zip(batches, answers, strict=True):
        for index, vector, size in zip(batch.indices, answer.vectors, answer.dimensions):
            slots[index], sizes[index] = vector, size
        prompt_tokens += answer.prompt_tokens
        total_tokens += answer.total_tokens
    _check_sizes(sizes, expected_dimensions)
    parts: list[bytes | memoryview] = [b'{"object":"list","data":[']
    for index, vector in enumerate(slots):
        if vector is None:  # a planning bug, never the caller's fault
            raise APIError(500, f"No embedding was produced for input {index}.", type=SERVER, code="internal_error")
        parts.append(b'%s{"object":"embedding","index":%d,"embedding":' % (b"," if index else b"", index))
        parts.append(_base64(vector, sizes[index]) if encoding_format == "base64" else vector)
        parts.append(b"}")
    parts.append(b'],"model":%s,"usage":{"prompt_tokens":%d,"total_tokens":%d}}'
                 % (dumps(model), prompt_tokens, total_tokens))
    return Assembled(b"".join(parts), slots, prompt_tokens, total_tokens)  # type: ignore[arg-type]


def _check_sizes(sizes: list[int], expected: int | None) -> None:
    """Every vector has the same size, and the size asked for (never vectors of the wrong size)."""
    want = expected or (sizes[0] if sizes else 0)
    for size in sizes:
        if size != want:
            raise APIError(500, f"OCI Generative AI returned a {size}-dimension embedding where {want} dimensions "
                                "were expected; refusing to return vectors of the wrong size.",
                           type=SERVER, code="dimension_mismatch")
