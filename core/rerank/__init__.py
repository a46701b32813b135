"""Cohere-style rerank (``/v1/rerank``, ``/v2/rerank``, ``/rerank``) on OCI Generative AI ``rerankText``.

Pure steps, one module each: :mod:`.request` (parse both client shapes), :mod:`.plan`
(split into calls by document count and body size), :mod:`.response` (merge by score,
render the client's shape). :mod:`.service` ties them to the OCI client; a vector-store
search can call :func:`rerank` directly and get the same behaviour.
"""

from core.rerank.service import RerankResult, rerank

__all__ = ["RerankResult", "rerank"]
