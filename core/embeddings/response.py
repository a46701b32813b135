"""OCI ``EmbedTextResult`` answers -> one OpenAI embeddings response, written as bytes (pure).

The vectors are nearly all of both answers (96 inputs x 1,536 numbers is about 1.8 MB of JSON), so
they are never turned into Python floats for ``encoding_format: float``: :func:`read_answer` finds
each vector's JSON text in OCI's answer and the response carries that text as it came (OCI writes
float32 values with their shortest digits, e.g. ``0.009473139`` and ``-8.4949343E-4``, which every
JSON reader takes). An answer laid out any other way is parsed whole instead, with the same result.

``base64`` (what the openai SDK asks for by default) needs the bytes: each vector is parsed and packed
as little-endian float32, which ``numpy.frombuffer(..., dtype="float32")`` reads back on any host; once a
model's answers have shown that OCI's own ``embeddingTypes: ["base64"]`` strings are exactly that text,
they are passed through instead (:mod:`core.embeddings.oci_base64`).
"""

from __future__ import annotations

import base64
import binascii
import struct
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generator, Iterator, Sequence

from core.embeddings import oci_base64
from core.embeddings.oci_base64 import PACKED, PASSED, UNKNOWN
from core.embeddings.plan import Batch
from core.errors import SERVER, APIError
from core.jsonio import dumps, loads

_KEY = b'"embeddings":['
_NOT_NUMBERS = (b'"', b"{", b"n", b"a", b"t")
"""One byte of every JSON value but a number (a string, an object, null, true, false) and of the NaN and
Infinity some serializers write; a nested array breaks the scan's structure instead."""


@dataclass(frozen=True)
class Answer:
    """One embedText answer, read: each vector's text, what the response carries for it, and token counts."""

    vectors: list[memoryview] | None
    """Each vector's JSON text (``[0.1,-2.5E-4,...]``), checked to hold numbers only; None when OCI's base64
    strings were passed through (the floats were not read)."""
    encoded: list[bytes | memoryview]
    """Each vector as the response writes it: the same text for ``float``, a JSON string for ``base64``."""
    dimensions: list[int]
    prompt_tokens: int
    total_tokens: int
    layout: str = PACKED
    """How OCI's base64 strings turned out for this answer (:mod:`.oci_base64`: ``passed`` or ``packed``)."""
    finding: str = ""
    """What OCI's base64 strings were instead, when this answer showed them unusable."""


@dataclass(frozen=True)
class Assembled:
    """The OpenAI response's pieces (joined on first use of :attr:`content`), and what callers need without
    parsing it again."""

    parts: list[bytes | memoryview]
    vectors: list[memoryview] | None
    """Each input's vector as JSON text, in request order; None when OCI's base64 strings were passed through."""
    inputs: int
    prompt_tokens: int
    total_tokens: int

    @cached_property
    def content(self) -> bytes:
        """The response as bytes: built only for a caller that sends it (ingestion writes the vectors alone)."""
        return b"".join(self.parts)


def encode_base64(vector: Sequence[float]) -> str:
    """Little-endian float32 bytes of ``vector``, base64-encoded."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def decode_base64(text: str) -> list[float]:
    """The floats :func:`encode_base64` wrote."""
    raw = base64.b64decode(text)
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


def _bad_answer(message: str) -> APIError:
    return APIError(503, f"OCI Generative AI returned {message}.", type=SERVER, code="upstream_bad_response")


PACKED_PER_STEP = 12
"""Vectors packed (``base64``) between two steps of :func:`answer_steps`: about a millisecond at 1,536 numbers."""


def read_answer(body: bytes, count: int, encoding_format: str = "float", layout: str = PACKED) -> Answer:
    """The ``count`` vectors of one answer, encoded for the response, or a 503 naming what is wrong."""
    for step in answer_steps(body, count, encoding_format, layout):
        if step is not None:
            return step
    raise AssertionError("answer_steps ends with the answer")  # pragma: no cover


def answer_steps(body: bytes, count: int, encoding_format: str = "float",
                 layout: str = PACKED) -> Iterator[Answer | None]:
    """:func:`read_answer` in steps: ``None`` between groups of vectors packed for ``base64`` (a caller on an event
    loop lets other work run there: packing 96 vectors takes about 8 ms), then the :class:`Answer`.

    ``layout`` is what earlier answers showed of OCI's base64 strings for this model (:mod:`.oci_base64`):
    ``passed`` takes them as they are, ``unknown`` packs the floats and compares, ``packed`` packs."""
    source, spans, rest = _scan(body) or _parse(body)
    finding = ""
    if encoding_format == "base64" and layout == PASSED:
        checked = oci_base64.check_strings(oci_base64.strings_of(rest), count)
        if not isinstance(checked, str):
            yield Answer(None, list(checked[0]), checked[1], *_usage(rest.get("usage")), PASSED)
            return
        finding = checked  # no longer what earlier answers showed: the floats, if OCI sent them, are packed
    if len(spans) != count:
        raise _bad_answer(f"{len(spans) if spans else 'no'} embeddings for {count} inputs")
    view = memoryview(source)
    vectors = [view[start:end] for start, end in spans]
    if encoding_format == "base64":
        encoded, dimensions = yield from _packed(vectors)
        if layout == UNKNOWN:
            finding = oci_base64.compare(encoded, oci_base64.strings_of(rest))
        layout = PASSED if layout == UNKNOWN and not finding else PACKED
    else:
        encoded, dimensions = list(vectors), _float_sizes(source, spans)
    yield Answer(vectors, encoded, dimensions, *_usage(rest.get("usage")), layout, finding)


def _float_sizes(source: bytes, spans: list[tuple[int, int]]) -> list[int]:
    """Each vector's size as its commas plus one (it holds numbers only), counted on the first and last vectors:
    one call answers vectors of one size, and counting all 96 would be most of reading the answer (2 of 2.5 ms)."""
    if not spans:
        return []
    (first_start, first_end), (last_start, last_end) = spans[0], spans[-1]
    first = source.count(b",", first_start, first_end) + 1
    last = source.count(b",", last_start, last_end) + 1
    return [first] * (len(spans) - 1) + [last]


def _packed(vectors: list[memoryview]) -> Generator[None, None, tuple[list[bytes | memoryview], list[int]]]:
    """Each vector packed for ``base64`` and its size, with a ``None`` step every :data:`PACKED_PER_STEP` vectors."""
    encoded: list[bytes | memoryview] = []
    dimensions: list[int] = []
    for at, vector in enumerate(vectors):
        if at and at % PACKED_PER_STEP == 0:
            yield None
        packed, size = _base64(vector)
        encoded.append(packed)
        dimensions.append(size)
    return encoded, dimensions


Found = tuple[bytes, list[tuple[int, int]], dict[str, Any]]
"""Where the vectors' text is (a buffer and each vector's span in it), and the rest of the answer."""


def _scan(body: bytes) -> Found | None:
    """Each ``[...]`` of the ``embeddings`` list found by a scan, and the rest of the answer parsed (vectors as
    null); None when the layout is not OCI's compact one or a vector holds anything but numbers."""
    start = body.find(_KEY)
    if start < 0:
        return None
    start += len(_KEY) - 1  # the "[" that opens the list of vectors
    spans: list[tuple[int, int]] = []
    at = start + 1
    while body[at:at + 1] == b"[":
        close = body.find(b"]", at)
        if close < at + 2:
            return None
        spans.append((at, close + 1))
        at = close + 1
        if body[at:at + 1] != b",":
            break
        at += 1
    if body[at:at + 1] != b"]" or any(body.find(c, start, at) >= 0 for c in _NOT_NUMBERS):
        return None
    try:
        rest = loads(body[:start] + b"null" + body[at + 1:])
    except ValueError:
        return None
    if not isinstance(rest, dict) or "embeddings" not in rest or rest["embeddings"] is not None:
        return None  # the key found was not the answer's own
    return body, spans, rest


def _parse(body: bytes) -> Found:
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
        return b"", [], result
    texts = []
    for vector in embeddings:
        if not isinstance(vector, list) or not vector or not all(_is_number(v) for v in vector):
            raise _bad_answer("an embedding that is not a list of numbers")
        texts.append(dumps(vector))
    spans, at = [], 0
    for text in texts:
        spans.append((at, at + len(text)))
        at += len(text)
    return b"".join(texts), spans, result


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


def _base64(vector: memoryview) -> tuple[bytes, int]:
    """The vector as a JSON string of base64 little-endian float32 bytes, and its size."""
    values = loads(vector)
    try:
        packed = struct.pack(f"<{len(values)}f", *values)
    except OverflowError:
        raise _bad_answer("an embedding value outside the float32 range") from None
    return b'"' + binascii.b2a_base64(packed, newline=False) + b'"', len(values)


def assemble(batches: Sequence[Batch], answers: Sequence[Answer], *, model: str,
             expected_dimensions: int | None = None) -> Assembled:
    """The OpenAI response: vectors put back at their request positions, usage summed over calls."""
    count = sum(len(b.indices) for b in batches)
    vectors: list[memoryview | None] = [None] * count
    encoded: list[bytes | memoryview | None] = [None] * count
    sizes = [0] * count
    prompt_tokens = total_tokens = 0
    for batch, answer in zip(batches, answers, strict=True):
        for at, index in enumerate(batch.indices):
            encoded[index], sizes[index] = answer.encoded[at], answer.dimensions[at]
            if answer.vectors is not None:
                vectors[index] = answer.vectors[at]
        prompt_tokens += answer.prompt_tokens
        total_tokens += answer.total_tokens
    _check_sizes(sizes, expected_dimensions)
    parts: list[bytes | memoryview] = [b'{"object":"list","data":[']
    for index, vector in enumerate(encoded):
        if vector is None:  # a planning bug, never the caller's fault
            raise APIError(500, f"No embedding was produced for input {index}.", type=SERVER, code="internal_error")
        parts += (b'%s{"object":"embedding","index":%d,"embedding":' % (b"," if index else b"", index), vector, b"}")
    parts.append(b'],"model":%s,"usage":{"prompt_tokens":%d,"total_tokens":%d}}'
                 % (dumps(model), prompt_tokens, total_tokens))
    read_all = all(answer.vectors is not None for answer in answers)
    return Assembled(parts, vectors if read_all else None, count, prompt_tokens, total_tokens)  # type: ignore[arg-type]


def _check_sizes(sizes: list[int], expected: int | None) -> None:
    """Every vector has the same size, and the size asked for (never vectors of the wrong size)."""
    want = expected or (sizes[0] if sizes else 0)
    for size in sizes:
        if size != want:
            raise APIError(500, f"OCI Generative AI returned a {size}-dimension embedding where {want} dimensions "
                                "were expected; refusing to return vectors of the wrong size.",
                           type=SERVER, code="dimension_mismatch")
