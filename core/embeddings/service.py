"""One OpenAI embeddings request answered through OCI: the only module here that does I/O."""

from __future__ import annotations

import asyncio

from dataclasses import dataclass, field
from typing import Any, Callable

from core import aliases, model_list, runtime
from core.catalog import EMBEDDING
from core.embeddings.batching import Slot, call_request_id, run_concurrently
from core.embeddings.plan import Batch, decode_inputs, embed_options, plan_batches
from core.embeddings.request import parse_embedding_request
from core.embeddings.response import Answer, Assembled, answer_steps, assemble
from core.gateway_headers import model_headers
from core.jsonio import loads
from core.oci import deployment
from core.oci.client import UpstreamError
from core.oci.failures import api_error
from core.policy import KeyPolicy, model_not_allowed
from core.settings import Settings
from core.validation import string


@dataclass
class EmbeddingsResult:
    """The OpenAI response (joined when :attr:`content` is first read; the vectors as OCI wrote them), plus facts
    for logs and headers."""

    assembled: Assembled
    """The response's pieces; :attr:`content` joins them."""
    model: str
    """The model name the caller sent (what the response names)."""
    vectors: list[memoryview]
    """Each input's vector as JSON text, in request order (``json.loads`` gives its floats)."""
    prompt_tokens: int
    model_id: str
    upstream_calls: int
    request_ids: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    """``x-gateway-*`` headers and OCI headers passed back (:mod:`core.gateway_headers`)."""

    @property
    def content(self) -> bytes:
        """The OpenAI response as bytes (the vectors as OCI wrote them)."""
        return self.assembled.content

    @property
    def body(self) -> dict[str, Any]:
        """The response parsed (builds every float: for tests and small answers, not the request path)."""
        return loads(self.content)


async def create_embeddings(data: dict[str, Any], *, deadline: float | None = None, request_id: str = "",
                            settings: Settings | None = None, policy: KeyPolicy | None = None,
                            answered: Callable[[], None] | None = None) -> EmbeddingsResult:
    """Validate ``data`` (an OpenAI embeddings body), call OCI in ≤96-input batches, assemble the answer.

    ``policy`` is the caller's API-key allow-list (None: no allow-list, e.g. the ingestion pipeline).
    ``answered`` is called once every upstream call's answer has begun (its status in, the body still coming):
    the ingestion pipeline sends its next call then.
    """
    settings = settings or runtime.settings()
    name = (string(data, "model", required=True, non_empty=True) or "").strip()
    resolved = model_list.current_facts(aliases.resolve(name, settings, runtime.aliases(settings)))
    if policy is not None and not policy.allows(name):
        raise model_not_allowed(name, policy)
    resolved.require_kind(EMBEDDING)
    request = parse_embedding_request(resolved.with_defaults(data))
    options = embed_options(request, resolved.info, default_truncate=settings.embeddings_truncate, name=name)
    items = decode_inputs(request, settings.embeddings_token_encoding)
    credentials = runtime.credentials()
    batches = plan_batches(items, serving_mode=resolved.serving_mode_body(),
                           compartment_id=deployment.compartment_id(settings, credentials, resolved.compartment_id),
                           options=options)
    url = deployment.genai_url(settings, credentials, "embedText", resolved.region)
    client = runtime.client()
    request_ids: list[str] = [""] * len(batches)
    upstream_headers: dict[str, str] = {}
    unanswered = set(range(len(batches)))

    async def send(index: int, batch: Batch, slot: Slot) -> bytes:
        def begun() -> None:
            slot()
            if index in unanswered:
                unanswered.discard(index)
                if not unanswered and answered is not None:
                    answered()

        try:
            upstream = await client.request("POST", url, json_body=batch.body, deadline=deadline, answered=begun,
                                            request_id=call_request_id(request_id, index, len(batches)))
        except UpstreamError as exc:
            raise api_error(exc, model=name, known_model=resolved.known) from None
        request_ids[index] = upstream.request_id
        if index == 0:
            upstream_headers.update(upstream.headers)
        return upstream.body

    async def read(index: int, body: bytes) -> Answer:
        for step in answer_steps(body, len(batches[index].indices), request.encoding_format):
            if step is not None:
                return step
            await asyncio.sleep(0)  # other answers are read meanwhile, and their slots' next calls go out
        raise AssertionError("answer_steps ends with the answer")  # pragma: no cover

    answers = await run_concurrently(batches, send, settings.embeddings_concurrency, then=read)
    out = assemble(batches, answers, model=name, expected_dimensions=options.expected_dimensions)
    return EmbeddingsResult(assembled=out, model=name, vectors=out.vectors, prompt_tokens=out.prompt_tokens,
                            model_id=resolved.model_id, upstream_calls=len(batches), request_ids=request_ids,
                            headers=model_headers(resolved, upstream_headers))
