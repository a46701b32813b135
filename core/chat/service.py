"""One OpenAI chat completion answered through OCI: the only chat module that does I/O.

The steps, in order: resolve the model once, merge the alias's default parameters, parse once,
check limits and the caller's allow-list, screen the input (guardrails), inline image URLs, translate,
call OCI, translate back (or relay the event stream), screen the output.

When OCI refuses the body with a 400 on which it generated nothing, the request may be sent once
more with a changed body, and what was learned is kept for the process (:func:`runtime.memo`):

* "does not support parameter X": ``reasoning_effort`` is dropped (as for any model without that
  knob), the output-limit field switched, any other parameter dropped only with
  ``DROP_UNSUPPORTED_PARAMS``; later requests for that model get the same treatment before OCI;
* "Chat request type does not match serving model" for a target whose model is unknown (a raw
  dedicated endpoint, a routing profile): GENERIC, then COHEREV2, then COHERE, each once; the
  format that worked is kept for that endpoint.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Callable, TypeVar

from core import aliases, catalog, logs, model_list, runtime
from core.aliases import ResolvedModel
from core.catalog import COHERE, COHEREV2, GENERIC
from core.chat.limits import check_chat_limits
from core.chat.params import REASONING_EFFORT, TOKEN_LIMITS
from core.chat.request import ChatRequest, image_url_parts, parse_chat_request
from core.chat.translate import ChatPlan, build_chat_details, completion_from_result
from core.errors import APIError
from core.gateway_headers import model_headers
from core.oci import deployment
from core.oci.client import UpstreamError, UpstreamResponse, UpstreamStream
from core.oci.failures import api_error
from core.policy import KeyPolicy, model_not_allowed
from core.settings import Settings
from core.validation import string

if TYPE_CHECKING:
    from core.guardrails.chat import ChatGuard

STREAM_ACCEPT = "application/json, text/event-stream"
FORMAT_FALLBACK = (GENERIC, COHEREV2, COHERE)
"""The chat formats tried in turn on a target whose model is unknown."""
MAX_PARAMETER_RESENDS = 1
T = TypeVar("T")


@dataclass
class ChatResult:
    """A completion (``body``) or an OpenAI event stream (``stream``), plus facts for headers and logs."""

    request_id: str
    model: str
    api_format: str
    body: dict[str, Any] | None = None
    stream: AsyncIterator[bytes] | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    """``x-gateway-*`` headers, OCI headers passed back (:mod:`core.gateway_headers`) and guardrail reports; a
    stream may still add to them while it runs."""


@dataclass(frozen=True)
class ChatCall:
    """Where one chat request goes upstream, and how its body is built (a changed body after a refusal too)."""

    chat: ChatRequest
    model: ResolvedModel
    url: str
    compartment: str
    drop_unsupported: bool

    def plan(self, api_format: str | None = None) -> ChatPlan:
        model = self.model if api_format is None else replace(self.model, info=_as_format(self.model, api_format))
        return build_chat_details(self.chat, model, self.compartment, drop_unsupported=self.drop_unsupported,
                                  learned=frozenset(learned_refusals(self.model)))

    def failure(self, exc: UpstreamError) -> APIError:
        """OCI's failure as the caller sees it (a missing model, IAM, throttling...)."""
        return api_error(exc, model=self.chat.model, known_model=self.model.known)


async def create_chat_completion(data: dict[str, Any], *, deadline: float | None = None, request_id: str = "",
                                 policy: KeyPolicy | None = None, key_id: str | None = None,
                                 settings: Settings | None = None) -> ChatResult:
    """Validate ``data`` (an OpenAI chat body), call OCI, and answer in OpenAI's shape.

    ``policy`` is the caller's API-key allow-list (None: no allow-list).
    """
    settings = settings or runtime.settings()
    chat, resolved = _parse(data, settings, policy)
    guard = guarded(settings, resolved, policy, deadline=deadline, request_id=request_id)
    if guard is not None:
        chat = await guard.screen_input(chat)  # a block raises 400 content_filter; a mask rewrites the turn
    call = await prepare_call(chat, resolved, settings)
    headers = guard.headers if guard is not None else {}
    if chat.stream:
        plan, stream = await open_stream(call, deadline=deadline, request_id=request_id)
        model_list.start_read()  # OCI's model list, read once OCI has answered (never waited for) when stale
        from core.chat.relay import relay  # the stream's modules load with the first streamed call
        from core.chat.stream import StreamTranslator

        translator = StreamTranslator(response_id=f"chatcmpl-{stream.request_id.lower()}", model=chat.model,
                                      created=int(time.time()), include_usage=chat.include_usage)
        log_fields = {"model": chat.model, "api_format": plan.api_format, "request_id": request_id, "key_id": key_id}
        body = relay(stream, translator, deadline=deadline, margin=settings.deadline_margin_seconds,
                     log_fields=log_fields)
        headers.update(model_headers(resolved, stream.headers, dropped=plan.dropped))
        result = ChatResult(stream.request_id, chat.model, plan.api_format, stream=body, headers=headers)
        return await guard.screen_streamed(result) if guard is not None else result
    plan, upstream = await request(call, deadline=deadline, request_id=request_id)
    model_list.start_read()  # OCI's model list, read once OCI has answered (never waited for) when stale
    completion = completion_from_result(upstream.json(), plan.api_format, model=chat.model,
                                        response_id=f"chatcmpl-{upstream.request_id.lower()}")
    if guard is not None:
        completion = await guard.screen_completion(completion)
    headers.update(model_headers(resolved, upstream.headers, dropped=plan.dropped))
    return ChatResult(upstream.request_id, chat.model, plan.api_format, body=completion,
                      usage=completion.get("usage") or {}, headers=headers)


def guarded(settings: Settings, target: ResolvedModel, policy: KeyPolicy | None, *, deadline: float | None,
            request_id: str) -> "ChatGuard | None":
    """This call's guardrails, or None when every check is off (then nothing more is imported or called)."""
    if not (settings.guardrails or (target.alias is not None and target.alias.guardrails is not None)
            or (policy is not None and policy.guardrails.active)):
        return None
    from core.guardrails.chat import ChatGuard
    from core.guardrails.service import effective_policy

    effective = effective_policy(settings, target, policy)
    return ChatGuard(effective, settings=settings, deadline=deadline, request_id=request_id) if effective.active \
        else None


def _parse(data: dict[str, Any], settings: Settings, policy: KeyPolicy | None) -> tuple[ChatRequest, ResolvedModel]:
    """The checked request (alias defaults merged) and its target; body errors are reported before model errors."""
    name = (string(data, "model", required=True, non_empty=True) or "").strip()
    target: ResolvedModel | None = None
    unresolved: APIError | None = None
    try:
        target = model_list.current_facts(aliases.resolve(name, settings, runtime.aliases(settings)))
    except APIError as exc:
        unresolved = exc
    chat = checked_request(data, target, settings)
    if target is None:
        assert unresolved is not None
        raise unresolved
    if policy is not None and not policy.allows(target.name):
        raise model_not_allowed(target.name, policy)
    target.require_chat_completions()
    return chat, target


def checked_request(data: dict[str, Any], target: ResolvedModel | None, settings: Settings) -> ChatRequest:
    """``data`` with the target's alias defaults merged (when resolved), parsed and checked against the limits."""
    chat = parse_chat_request(target.with_defaults(data) if target is not None else data)
    check_chat_limits(chat, settings)
    return chat


async def prepare_call(chat: ChatRequest, resolved: ResolvedModel, settings: Settings) -> ChatCall:
    """Inline image URLs, then fix the URL and compartment for the target's region."""
    if settings.image_url_fetch and (resolved.info.vision or not resolved.info.known) and any(image_url_parts(chat)):
        from core.chat.images import inline_images  # the fetcher loads only for a request that needs it

        chat = await inline_images(chat, settings)  # http(s) image URLs -> data URIs (SSRF-fenced fetch)
    credentials = runtime.credentials()
    compartment = deployment.compartment_id(settings, credentials, resolved.compartment_id)
    url = deployment.genai_url(settings, credentials, "chat", resolved.region)
    return ChatCall(chat, resolved, url, compartment, settings.drop_unsupported_params)


async def request(call: ChatCall, *, deadline: float | None, request_id: str) -> tuple[ChatPlan, UpstreamResponse]:
    """OCI's whole answer to ``call`` and the body that got it (after at most one refusal per change)."""
    client = runtime.client()

    async def send(plan: ChatPlan) -> UpstreamResponse:
        try:
            return await client.request("POST", call.url, json_body=plan.details, deadline=deadline,
                                        request_id=request_id or None)
        except UpstreamError as exc:
            raise call.failure(exc) from None

    return await _send(call, send)


async def open_stream(call: ChatCall, *, deadline: float | None, request_id: str) -> tuple[ChatPlan, UpstreamStream]:
    """OCI's event stream for ``call``, open (errors before the first byte are plain errors), and its body."""
    client = runtime.client()

    async def send(plan: ChatPlan) -> UpstreamStream:
        try:
            return await client.open_stream("POST", call.url, accept=STREAM_ACCEPT, json_body=plan.details,
                                            deadline=deadline, request_id=request_id or None)
        except UpstreamError as exc:
            raise call.failure(exc) from None

    return await _send(call, send)


async def _send(call: ChatCall, send: Callable[[ChatPlan], Awaitable[T]]) -> tuple[ChatPlan, T]:
    """Send the request; after OCI refuses a parameter or the format, send a changed body (each change once)."""
    formats = _formats_to_try(call.model)
    plan = call.plan(formats[0] if formats else None)
    parameter_resends = 0
    while True:
        try:
            answer = await send(plan)
        except APIError as exc:
            retry = _after_refusal(exc, call, plan, formats, parameter_resends)
            if retry is None:
                raise
            if retry.api_format == plan.api_format:
                parameter_resends += 1
            plan = retry
            continue
        if formats:
            runtime.memo(("chat_format", call.model.upstream_key), dict)["format"] = plan.api_format
        return plan, answer


def _after_refusal(exc: APIError, call: ChatCall, plan: ChatPlan, formats: tuple[str, ...],
                   parameter_resends: int) -> ChatPlan | None:
    """The next body to try after OCI's 400 ``exc``, or None when the refusal stands."""
    if exc.status != 400:
        return None
    if exc.code == "chat_format_mismatch" and plan.api_format in formats:
        for fmt in formats[formats.index(plan.api_format) + 1:]:
            try:
                return call.plan(fmt)
            except APIError:  # the request needs what this format cannot express: try the next one
                continue
        return None
    if exc.code != "unsupported_parameter" or not exc.param or parameter_resends >= MAX_PARAMETER_RESENDS:
        return None
    learned = learned_refusals(call.model)
    if exc.param in learned:
        return None
    learned.add(exc.param)
    logs.log_event("parameter_refused_by_oci", logging.WARNING, model=call.model.model_id, param=exc.param)
    if exc.param != REASONING_EFFORT and exc.param not in TOKEN_LIMITS and not call.drop_unsupported:
        return None
    retry = call.plan(plan.api_format)
    return retry if retry.details != plan.details else None


def learned_refusals(model: ResolvedModel) -> set[str]:
    """The OpenAI parameters OCI refused for this model (or endpoint) since the process started."""
    return runtime.memo(("refused_params", model.upstream_key), set)


def _formats_to_try(model: ResolvedModel) -> tuple[str, ...]:
    """For a target whose model is unknown: the formats still to try, the one that worked first (else none)."""
    if not model.opaque:
        return ()
    known = runtime.memo(("chat_format", model.upstream_key), dict).get("format")
    return (known, *(f for f in FORMAT_FALLBACK if f != known)) if known else FORMAT_FALLBACK


def _as_format(model: ResolvedModel, api_format: str) -> catalog.ModelInfo:
    """The unknown model's facts, as a model of ``api_format`` (a Cohere template for the Cohere formats)."""
    if api_format == GENERIC:
        return model.info
    template = catalog.lookup("cohere.unknown")
    return replace(template, id=model.info.id, api_format=api_format, cohere_v2=api_format == COHEREV2)
