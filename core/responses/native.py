"""OCI's own Responses API (``/openai/v1/responses``) for the models an alias sends there.

For tools OCI runs itself (``file_search`` over OCI vector stores, code interpreter, MCP), an alias can say
``"responses": "native"``: the request is forwarded with the OCI model id and the project OCID
(``OpenAI-Project``), signed like every OCI call, and OCI's answer comes back as it is: the JSON object, or the
event stream byte for byte. The gateway still applies the key's allow-list (before this module is reached),
logs usage from ``response.completed``, and records who created each stored response, so ``GET``/``DELETE``
are forwarded only for that key. OCI's own 400/404/409/422 errors (OpenAI-shaped) are passed on as they are.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, AsyncIterator, Awaitable, Callable, Mapping
from urllib.parse import urlencode

from core import logs, runtime
from core.aliases import NATIVE, ResolvedModel
from core.chat.relay import with_deadline
from core.chat.service import ChatResult
from core.chat.sse import SSEDecoder, encode_event
from core.errors import APIError, from_upstream
from core.jsonio import loads
from core.oci import deployment
from core.oci.client import StreamBroken, UpstreamError, UpstreamStream
from core.oci.failures import api_error
from core.settings import Settings

PASSED_ON = (400, 404, 409, 422)
"""OCI statuses whose OpenAI-shaped error reaches the caller unchanged (401/403 stay the operator's problem)."""
PROJECT_HEADER = "OpenAI-Project"
STREAM_ACCEPT = "text/event-stream"
Recorder = Callable[[str], Awaitable[Any]]


def _headers(settings: Settings) -> dict[str, str]:
    return {PROJECT_HEADER: settings.oci_genai_project_id} if settings.oci_genai_project_id else {}


def passed_on(status: int, body: bytes, *, model: str | None = None, known_model: bool = True,
              missing: APIError | None = None) -> APIError:
    """OCI's error as the caller's: its OpenAI-shaped ``error`` object when it sent one, else ``missing`` for a
    404 (what was asked for is gone), else the mapping every OCI error gets."""
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return APIError(status, error["message"], type=str(error.get("type") or "invalid_request_error"),
                        param=error.get("param"), code=error.get("code"))
    if status == 404 and missing is not None:
        return missing
    return from_upstream(status, body, known_model=known_model, model=model)


async def create(data: Mapping[str, Any], target: ResolvedModel, *, keep: bool, record: Recorder | None,
                 stream: bool, settings: Settings, deadline: float | None, request_id: str) -> ChatResult:
    """Forward a create request; ``record(response_id)`` runs before the caller can see the id (when stored)."""
    body = {**data, "model": target.model_id, "store": keep}
    url = deployment.openai_url(settings, runtime.credentials(), "responses", target.region)
    options = dict(json_body=body, headers=_headers(settings), deadline=deadline, request_id=request_id or None,
                   ok_statuses=PASSED_ON)
    if stream:
        try:
            opened = await runtime.client().open_stream("POST", url, accept=STREAM_ACCEPT, **options)
        except UpstreamError as exc:
            raise api_error(exc, model=target.name, known_model=target.known) from None
        if opened.status >= 300:
            raise await _read_error(opened, target)
        events = passthrough(opened, record=record if keep else None, deadline=deadline,
                             margin=settings.deadline_margin_seconds, log_fields={"model": target.name})
        return ChatResult(opened.request_id, target.name, NATIVE, stream=events,
                               headers={"x-request-id": opened.request_id})
    try:
        upstream = await runtime.client().request("POST", url, **options)
    except UpstreamError as exc:
        raise api_error(exc, model=target.name, known_model=target.known) from None
    if upstream.status >= 300:
        raise passed_on(upstream.status, upstream.body, model=target.name, known_model=target.known)
    response = upstream.json()
    if keep and record is not None and isinstance(response.get("id"), str):
        await record(response["id"])
    return ChatResult(upstream.request_id, target.name, NATIVE, body=response,
                           headers={"x-request-id": upstream.request_id}, usage=response.get("usage") or {})


async def _read_error(opened: UpstreamStream, target: ResolvedModel) -> APIError:
    try:
        body = b"".join([chunk async for chunk in opened.chunks()])
    finally:
        await opened.aclose()
    return passed_on(opened.status, body, model=target.name, known_model=target.known)


async def forward(method: str, record: Mapping[str, Any], path: str, query: Mapping[str, str], *,
                  settings: Settings, deadline: float | None, missing: APIError) -> dict[str, Any]:
    """``GET``/``DELETE`` of a stored native response (or its input items), forwarded to OCI; ``missing`` is the
    answer when OCI no longer has it."""
    url = deployment.openai_url(settings, runtime.credentials(), path, record.get("region"))
    if query:
        url += "?" + urlencode(dict(query))
    try:
        upstream = await runtime.client().request(method, url, headers=_headers(settings), deadline=deadline,
                                                  ok_statuses=PASSED_ON)
    except UpstreamError as exc:
        raise api_error(exc, known_model=False) from None
    if upstream.status >= 300:
        raise passed_on(upstream.status, upstream.body, missing=missing)
    answer = upstream.json()
    return answer if isinstance(answer, dict) else {"data": answer}


def _error_event(message: str, sequence: int) -> bytes:
    return encode_event({"type": "error", "code": "server_error", "message": message, "param": None,
                         "sequence_number": sequence}, event="error")


async def passthrough(stream: UpstreamStream, *, record: Recorder | None, deadline: float | None, margin: float,
                      log_fields: dict[str, Any]) -> AsyncIterator[bytes]:
    """OCI's event stream byte for byte; the owner is recorded before ``response.created`` reaches the caller."""
    watch = logs.Stopwatch()
    decoder = SSEDecoder()
    seen = _Seen(record)
    outcome = "complete"
    try:
        async for raw in with_deadline(stream.chunks(), deadline, margin):
            for data in decoder.feed(raw):
                await seen.event(data)
            yield raw
    except asyncio.TimeoutError:
        outcome = "deadline"
        yield _error_event("The stream ran out of time before OCI finished.", seen.sequence + 1)
    except StreamBroken as exc:
        outcome = "upstream_broken"
        yield _error_event(f"The connection to OCI Generative AI broke during the stream ({exc}).", seen.sequence + 1)
    except APIError as exc:  # the owner record could not be written: the response is not handed out
        outcome = "store_failed"
        yield _error_event(f"The response could not be recorded: {exc.message}", seen.sequence + 1)
    finally:
        await stream.aclose()
        logs.log_event("stream_end", logging.INFO, outcome=outcome, duration_ms=watch.ms(), api_format=NATIVE,
                       prompt_tokens=seen.usage.get("input_tokens"),
                       completion_tokens=seen.usage.get("output_tokens"), **log_fields)


class _Seen:
    """What the pass-through learns from the events it forwards: the id, the usage, the last sequence number."""

    def __init__(self, record: Recorder | None) -> None:
        self.record = record
        self.usage: dict[str, Any] = {}
        self.sequence = -1

    async def event(self, data: str) -> None:
        try:
            event = loads(data)
        except ValueError:
            return
        if not isinstance(event, dict):
            return
        if isinstance(event.get("sequence_number"), int):
            self.sequence = event["sequence_number"]
        response = event.get("response") if isinstance(event.get("response"), dict) else {}
        if event.get("type") == "response.created" and self.record is not None and isinstance(response.get("id"), str):
            record, self.record = self.record, None
            await record(response["id"])
        if event.get("type") in ("response.completed", "response.incomplete") and isinstance(response.get("usage"),
                                                                                              dict):
            self.usage = response["usage"]
