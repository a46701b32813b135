"""OpenAI ``/v1/embeddings`` on OCI Generative AI.

Pure steps, one module each: :mod:`.request` (parse and check the OpenAI body),
:mod:`.tokens` (decode token-id inputs offline), :mod:`.plan` (model checks, ≤96-input
OCI calls), :mod:`.response` (reassemble, float or base64). :mod:`.batching` runs the
calls concurrently and :mod:`.service` ties them to the OCI client; the ingestion
pipeline can call :func:`create_embeddings` directly and get the same behaviour.
"""

from core.embeddings.service import EmbeddingsResult, create_embeddings

__all__ = ["EmbeddingsResult", "create_embeddings"]
