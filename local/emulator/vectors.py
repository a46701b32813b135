"""Embedding vectors as OCI writes them: float32 values, each printed as Java prints a ``float``.

A captured ``cohere.embed-v4.0`` answer (1,536 values per input, not gzipped) shows the form: the
shortest decimal that reads back as the same float32, positional from 10^-3 up to 10^7
(``0.009473139``, ``0.0125664985``) and ``<digit>.<digits>E<exponent>`` outside that range
(``-8.4949343E-4``, ``5.4635193E-6``), which is Java's ``Float.toString``.

The vectors themselves are unit vectors expanded from a SHAKE-256 hash of (model id, text): the same
text always maps to the same vector and different texts to nearly orthogonal ones. A vector's text
is kept (a bounded cache), so a benchmark that sends the same inputs again is answered from bytes.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from decimal import Decimal
from functools import lru_cache
from typing import Any

CACHED_VECTORS = 1024
"""Vectors kept as text (about 17 KB each at 1,536 dimensions)."""

# orjson writes float32 values positionally (0.00084949343) or with a lower-case exponent (1e-10).
_OUTSIDE_JAVA_RANGE = re.compile(rb"(?<=[\[,])(-?)(0\.000\d*|\d+(?:\.\d+)?e[-+]?\d+|\d{8,}\.\d+)")


def unit_vector(model_id: str, text: str, dims: int) -> Any:
    """A float32 numpy vector of norm 1, a pure function of its arguments."""
    import numpy as np

    digest = hashlib.shake_256(f"{model_id}\0{text}".encode("utf-8")).digest(dims * 2)
    centred = np.frombuffer(digest, dtype="<u2").astype(np.float64) - 32767.5
    norm = float(np.sqrt(centred @ centred)) or 1.0
    return (centred / norm).astype(np.float32)


def java_float_array(values: Any) -> bytes:
    """``[v1,v2,...]`` for float32 ``values``, each number written as Java's ``Float.toString`` writes it."""
    import numpy as np
    import orjson

    text = orjson.dumps(np.asarray(values, dtype=np.float32), option=orjson.OPT_SERIALIZE_NUMPY)
    return _OUTSIDE_JAVA_RANGE.sub(_java_scientific, text)


def _java_scientific(match: re.Match[bytes]) -> bytes:
    """One shortest-digits number outside [10^-3, 10^7) rewritten as ``d.dddE<exponent>``."""
    _, digits, exponent = Decimal(match.group(2).decode()).normalize().as_tuple()
    text = "".join(map(str, digits))
    power = int(exponent) + len(digits) - 1
    return match.group(1) + f"{text[0]}.{text[1:] or '0'}E{power}".encode()


@lru_cache(maxsize=CACHED_VECTORS)
def vector_json(model_id: str, text: str, dims: int) -> bytes:
    """The JSON text of the vector OCI would answer for ``text``."""
    return java_float_array(unit_vector(model_id, text, dims))


@lru_cache(maxsize=8)
def _pool(dims: int, size: int) -> tuple[bytes, ...]:
    return tuple(vector_json("precomputed", str(index), dims) for index in range(size))


def precomputed_vector_json(text: str, dims: int, pool_size: int = 64) -> bytes:
    """A vector from a fixed pool, picked by a checksum of ``text``: an answer made of bytes ready in advance.

    For throughput benchmarks, where computing each new text's vector would make the emulator, not the
    gateway, the bottleneck; the values are still unit float32 vectors in OCI's form.
    """
    return _pool(dims, pool_size)[zlib.crc32(text.encode("utf-8")) % pool_size]


@lru_cache(maxsize=CACHED_VECTORS)
def vector_base64(vector_text: bytes) -> str:
    """The vector written as ``vector_text``, as little-endian float32 bytes in base64: what the emulator answers
    for ``embeddingTypes: ["base64"]`` (Cohere's own API documents "the float embedding bytes" base64-encoded;
    OCI documents no layout, so the gateway compares before it trusts this)."""
    import base64

    import numpy as np
    import orjson

    return base64.b64encode(np.asarray(orjson.loads(vector_text), dtype="<f4").tobytes()).decode("ascii")
