"""One OpenAI embeddings request answered through OCI: the only module here that does I/O."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from core import aliases, logs, model_list, runtime
from core.catalog import EMBEDDING
from core.embeddings import oci_base64
from core.embeddings.batching import Slot, call_request_id, run_concurrently
from core.embeddings.plan import Batch, decode_inputs, embed_options, plan_batches
from core.embeddings.request import parse_embedding_request
from core.embeddings.response import Answer, Assembled, answer_steps, assemble
from core.gateway_headers import model_headers
from core.jsonio import loads
from core.oci import deployment
from core.oci.client import UpstreamError, UpstreamStatus
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
    vectors: list[memoryview] | None
    """Each input's vector as JSON text, in request order (``json.loads`` gives its floats); None for a ``base64``
    answer whose strings OCI wrote."""
    inputs: int
    prompt_tokens: int
    base64: tuple[str, str] | None
    """For a ``base64`` request with ``EMBEDDINGS_OCI_BASE64=auto``: what OCI's base64 strings have shown for this model
    (a :mod:`.oci_base64` layout, and what they were instead when not passed through); None otherwise."""
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
    layouts = _base64_layouts() if request.encoding_format == "base64" and settings.embeddings_oci_base64 == "auto" \
        else None
    layout_key = resolved.upstream_key

    async def send(index: int, batch: Batch, slot: Slot) -> tuple[str, bytes]:
        def begun() -> None:
            slot()
            if index in unanswered:
                unanswered.discard(index)
                if not unanswered and answered is not None:
                    answered()

        async def call(body: dict[str, Any]) -> Any:
            return await client.request("POST", url, json_body=body, deadline=deadline, answered=begun,
                                        request_id=call_request_id(request_id, index, len(batches)))

        layout = layouts.get(layout_key, (oci_base64.UNKNOWN, ""))[0] if layouts is not None else oci_base64.PACKED
        types = oci_base64.embedding_types(layout)
        try:
            try:
                upstream = await call({**batch.body, "embeddingTypes": types} if types else batch.body)
            except UpstreamStatus as exc:
                if not types or exc.status != 400:
                    raise
                upstream = await call(batch.body)  # refused with the field but not without: OCI's base64 is out
                assert layouts is not None  # the field is only sent while layouts are being learned
                layout = _learned(layouts, layout_key, oci_base64.PACKED, f"a 400 for embeddingTypes {types}")
        except UpstreamError as exc:
            raise api_error(exc, model=name, known_model=resolved.known) from None
        request_ids[index] = upstream.request_id
        if index == 0:
            upstream_headers.update(upstream.headers)
        return layout, upstream.body

    async def read(index: int, sent: tuple[str, bytes]) -> Answer:
        layout, body = sent
        for step in answer_steps(body, len(batches[index].indices), request.encoding_format, layout):
            if step is None:
                await asyncio.sleep(0)  # other answers are read meanwhile, and their slots' next calls go out
                continue
            if layouts is not None and step.layout != layout:
                _learned(layouts, layout_key, step.layout, step.finding)
            return step
        raise AssertionError("answer_steps ends with the answer")  # pragma: no cover

    answers = await run_concurrently(batches, send, settings.embeddings_concurrency, then=read)
    out = assemble(batches, answers, model=name, expected_dimensions=options.expected_dimensions)
    return EmbeddingsResult(assembled=out, model=name, vectors=out.vectors, inputs=out.inputs,
                            prompt_tokens=out.prompt_tokens,
                            base64=layouts.get(layout_key) if layouts is not None else None,
                            model_id=resolved.model_id, upstream_calls=len(batches), request_ids=request_ids,
                            headers=model_headers(resolved, upstream_headers))


def _base64_layouts() -> dict[str, tuple[str, str]]:
    """What each model's answers have shown of OCI's base64 strings (layout, finding), for the life of the process."""
    return runtime.memo(("oci_base64_layouts",), dict)


def _learned(layouts: dict[str, tuple[str, str]], key: str, layout: str, finding: str) -> str:
    """Record ``layout`` for the model behind ``key``, logging the change once."""
    if layouts.get(key, ("", ""))[0] != layout:
        layouts[key] = (layout, finding)
        if layout == oci_base64.PASSED:
            logs.log_event("oci_base64", logging.INFO, upstream=key, layout=layout,
                           detail="OCI's base64 embeddings are the gateway's little-endian float32 text: passed through")
        else:
            logs.log_event("oci_base64", logging.WARNING, upstream=key, layout=layout,
                           detail=f"OCI's base64 embeddings are not used ({finding}): floats are packed here")
    return layout
