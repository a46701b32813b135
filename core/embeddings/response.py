"""OCI ``EmbedTextResult`` answers -> one OpenAI embeddings response (pure).

The openai SDK asks for ``encoding_format: base64`` by default and decodes with
``numpy.frombuffer(..., dtype="float32")``: the bytes must be little-endian float32
whatever the host's byte order.
"""

from __future__ import annotations

import base64
import sys
from array import array
from typing import Any, Sequence

from core.embeddings.plan import Batch
from core.errors import SERVER, APIError


def encode_base64(vector: Sequence[float]) -> str:
    """Little-endian float32 bytes of ``vector``, base64-encoded."""
    packed = array("f", vector)
    if sys.byteorder != "little":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def decode_base64(text: str) -> list[float]:
    """The floats :func:`encode_base64` wrote."""
    packed = array("f")
    packed.frombytes(base64.b64decode(text))
    if sys.byteorder != "little":
        packed.byteswap()
    return packed.tolist()


def _vectors(result: Any, batch: Batch) -> list[list[float]]:
    embeddings = result.get("embeddings") if isinstance(result, dict) else None
    if embeddings is None and isinstance(result, dict):
        embeddings = (result.get("embeddingsByType") or {}).get("float")
    if not isinstance(embeddings, list) or len(embeddings) != len(batch.indices):
        got = len(embeddings) if isinstance(embeddings, list) else "no"
        raise APIError(503, f"OCI Generative AI returned {got} embeddings for {len(batch.indices)} inputs.",
                       type=SERVER, code="upstream_bad_response")
    return embeddings


def _usage(result: Any) -> tuple[int, int]:
    usage = result.get("usage") if isinstance(result, dict) else None
    if not isinstance(usage, dict):
        return 0, 0
    prompt = usage.get("promptTokens")
    total = usage.get("totalTokens")
    prompt = prompt if isinstance(prompt, int) else (total if isinstance(total, int) else 0)
    total = total if isinstance(total, int) else prompt
    return prompt, total


def assemble(batches: Sequence[Batch], results: Sequence[Any], *, model: str, encoding_format: str,
             expected_dimensions: int | None = None) -> dict[str, Any]:
    """The OpenAI response: vectors put back at their request positions, usage summed over calls."""
    count = sum(len(b.indices) for b in batches)
    slots: list[list[float] | None] = [None] * count
    prompt_tokens = total_tokens = 0
    size: int | None = None
    for batch, result in zip(batches, results, strict=True):
        for index, vector in zip(batch.indices, _vectors(result, batch)):
            if not isinstance(vector, list) or not vector:
                raise APIError(503, "OCI Generative AI returned an empty embedding.", type=SERVER,
                               code="upstream_bad_response")
            if size is None:
                size = len(vector)
            if len(vector) != size or (expected_dimensions is not None and len(vector) != expected_dimensions):
                want = expected_dimensions or size
                raise APIError(500, f"OCI Generative AI returned a {len(vector)}-dimension embedding where "
                                    f"{want} dimensions were expected; refusing to return vectors of the wrong size.",
                               type=SERVER, code="dimension_mismatch")
            slots[index] = vector
        prompt, total = _usage(result)
        prompt_tokens += prompt
        total_tokens += total
    data = []
    for index, vector in enumerate(slots):
        if vector is None:  # a planning bug, never the caller's fault
            raise APIError(500, f"No embedding was produced for input {index}.", type=SERVER, code="internal_error")
        embedding: Any = encode_base64(vector) if encoding_format == "base64" else vector
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    return {"object": "list", "data": data, "model": model,
            "usage": {"prompt_tokens": prompt_tokens, "total_tokens": total_tokens}}
