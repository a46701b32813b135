"""One rerank request answered through OCI ``rerankText``: the only rerank module that does I/O.

Resolve the model once (aliases, the caller's allow-list, rerank kind), plan the calls,
run them concurrently, merge by score and render the client's shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core import aliases, runtime
from core.catalog import RERANK
from core.embeddings.batching import Slot, call_request_id, run_concurrently
from core.oci import deployment
from core.oci.client import UpstreamError
from core.oci.failures import api_error
from core.policy import KeyPolicy, model_not_allowed
from core.rerank.plan import RerankCall, check_servable, plan_calls
from core.rerank.request import parse_rerank_request
from core.rerank.response import merge_ranks, render
from core.settings import Settings


@dataclass
class RerankResult:
    """The client's response body plus facts for logs and headers."""

    body: dict[str, Any]
    model: str
    model_id: str
    upstream_calls: int
    documents: int
    request_ids: list[str] = field(default_factory=list)


async def rerank(data: dict[str, Any], *, api_version: int = 2, deadline: float | None = None, request_id: str = "",
                 settings: Settings | None = None, policy: KeyPolicy | None = None) -> RerankResult:
    """Validate ``data`` (a Cohere/Jina rerank body), call OCI, answer in the ``api_version`` (1 or 2) shape.

    ``policy`` is the caller's API-key allow-list (None: no allow-list, e.g. a vector-store search).
    """
    settings = settings or runtime.settings()
    request = parse_rerank_request(data)
    target = aliases.resolve(request.model, settings, runtime.aliases(settings))
    if policy is not None and not policy.allows(request.model):
        raise model_not_allowed(request.model, policy)
    target.require_kind(RERANK)
    check_servable(target)
    credentials = runtime.credentials()
    calls = plan_calls(request, serving_mode=target.serving_mode_body(),
                       compartment_id=deployment.compartment_id(settings, credentials, target.compartment_id),
                       max_documents=settings.rerank_max_documents_per_call)
    url = deployment.genai_url(settings, credentials, "rerankText", target.region)
    client = runtime.client()
    request_ids = [""] * len(calls)

    async def send(index: int, call: RerankCall, slot: Slot) -> Any:
        try:
            upstream = await client.request("POST", url, json_body=call.body, deadline=deadline, answered=slot,
                                            request_id=call_request_id(request_id, index, len(calls)))
        except UpstreamError as exc:
            raise api_error(exc, model=request.model, known_model=target.known) from None
        request_ids[index] = upstream.request_id
        return upstream.json()

    results = await run_concurrently(calls, send, settings.rerank_concurrency)
    ranked = merge_ranks(calls, results, request.top_n)
    body = render(request, ranked, response_id=request_ids[0].lower() or request_id, model=request.model,
                  calls=len(calls), api_version=api_version)
    return RerankResult(body=body, model=request.model, model_id=target.model_id, upstream_calls=len(calls),
                        documents=len(request.documents), request_ids=request_ids)
