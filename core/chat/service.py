"""One OpenAI chat completion answered through OCI: the only chat module that does I/O.

The steps, in order: resolve the model once, merge the alias's default parameters, parse once,
check limits and the caller's allow-list, screen the input (guardrails), inline image URLs, translate,
call OCI, translate back (or relay the event stream), screen the output.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, AsyncIterator

from core import aliases, runtime
from core.aliases import ResolvedModel
from core.catalog import CHAT
from core.chat.images import inline_images
from core.chat.limits import check_chat_limits
from core.chat.relay import relay
from core.chat.request import ChatRequest, parse_chat_request
from core.chat.stream import StreamTranslator
from core.chat.translate import build_chat_details, completion_from_result
from core.errors import APIError
from core.oci import deployment
from core.oci.client import UpstreamError
from core.oci.failures import api_error
from core.policy import KeyPolicy, model_not_allowed
from core.settings import Settings
from core.validation import string

if TYPE_CHECKING:
    from core.guardrails.chat import ChatGuard

STREAM_ACCEPT = "application/json, text/event-stream"


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
    """Extra response headers (guardrail reports); a stream may still add to them while it runs."""


@dataclass(frozen=True)
class ChatCall:
    """Where and how one chat request goes upstream."""

    url: str
    details: dict[str, Any]
    api_format: str


async def create_chat_completion(data: dict[str, Any], *, deadline: float | None = None, request_id: str = "",
                                 policy: KeyPolicy | None = None, key_id: str | None = None,
                                 settings: Settings | None = None) -> ChatResult:
    """Validate ``data`` (an OpenAI chat body), call OCI, and answer in OpenAI's shape.

    ``policy`` is the caller's API-key allow-list (None: no allow-list).
    """
    settings = settings or runtime.settings()
    chat, target = _parse(data, settings, policy)
    guard = guarded(settings, target, policy, deadline=deadline, request_id=request_id)
    if guard is not None:
        chat = await guard.screen_input(chat)  # a block raises 400 content_filter; a mask rewrites the turn
    call = await prepare_call(chat, target, settings)
    options = dict(json_body=call.details, deadline=deadline, request_id=request_id or None)
    try:
        if chat.stream:
            result = await _stream(chat, call, options, deadline, settings,
                                   {"request_id": request_id, "key_id": key_id})
            return await guard.screen_streamed(result) if guard is not None else result
        upstream = await runtime.client().request("POST", call.url, **options)
    except UpstreamError as exc:
        raise api_error(exc, model=chat.model, known_model=target.known) from None
    completion = completion_from_result(upstream.json(), call.api_format, model=chat.model,
                                        response_id=f"chatcmpl-{upstream.request_id.lower()}")
    if guard is not None:
        completion = await guard.screen_completion(completion)
    return ChatResult(upstream.request_id, chat.model, call.api_format, body=completion,
                      usage=completion.get("usage") or {}, headers=guard.headers if guard is not None else {})


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
        target = aliases.resolve(name, settings, runtime.aliases(settings))
    except APIError as exc:
        unresolved = exc
    chat = checked_request(data, target, settings)
    if target is None:
        assert unresolved is not None
        raise unresolved
    if policy is not None and not policy.allows(target.name):
        raise model_not_allowed(target.name, policy)
    target.require_kind(CHAT)
    return chat, target


def checked_request(data: dict[str, Any], target: ResolvedModel | None, settings: Settings) -> ChatRequest:
    """``data`` with the target's alias defaults merged (when resolved), parsed and checked against the limits."""
    chat = parse_chat_request(target.with_defaults(data) if target is not None else data)
    check_chat_limits(chat, settings)
    return chat


async def prepare_call(chat: ChatRequest, target: ResolvedModel, settings: Settings) -> ChatCall:
    """Inline image URLs, then translate to OCI's ``ChatDetails`` for the target's region and compartment."""
    if settings.image_url_fetch and (target.info.vision or not target.info.known):
        chat = await inline_images(chat, settings)  # http(s) image URLs -> data URIs (SSRF-fenced fetch)
    credentials = runtime.credentials()
    compartment = deployment.compartment_id(settings, credentials, target.compartment_id)
    details, fmt = build_chat_details(chat, target, compartment, drop_unsupported=settings.drop_unsupported_params)
    return ChatCall(deployment.genai_url(settings, credentials, "chat", target.region), details, fmt)


async def _stream(chat: ChatRequest, call: ChatCall, options: dict[str, Any], deadline: float | None,
                  settings: Settings, log_fields: dict[str, Any]) -> ChatResult:
    stream = await runtime.client().open_stream("POST", call.url, accept=STREAM_ACCEPT, **options)
    translator = StreamTranslator(response_id=f"chatcmpl-{stream.request_id.lower()}", model=chat.model,
                                  created=int(time.time()), include_usage=chat.include_usage)
    body = relay(stream, translator, deadline=deadline, margin=settings.deadline_margin_seconds,
                 log_fields={"model": chat.model, "api_format": call.api_format, **log_fields})
    return ChatResult(stream.request_id, chat.model, call.api_format, stream=body)
