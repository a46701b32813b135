"""``POST /v1/chat/completions``: an OpenAI chat completion answered by OCI Generative AI."""

from __future__ import annotations

import time

from core.oci import client as oci
from core.aliases import resolve
from core.catalog import CHAT
from core.chat.limits import check_chat_limits
from core.chat.relay import relay
from core.chat.request import ChatRequest, parse_chat_request
from core.chat.stream import StreamTranslator
from core.chat.translate import build_chat_details, completion_from_result
from core.chat.images import inline_images
from core.policy import check_model_allowed, key_id_of
from core.settings import get_settings
from core.exchange import Request, Response
from core.validation import parse_json_object

STREAM_ACCEPT = "application/json, text/event-stream"


async def handle(request: Request) -> Response:
    data = parse_json_object(request.body)
    chat = parse_chat_request(data)
    settings = get_settings()
    check_chat_limits(chat, settings)
    target = resolve(chat.model, settings)
    check_model_allowed(request, target.name, target.model_id)
    target.require_kind(CHAT)
    if target.params:
        chat = parse_chat_request(target.with_defaults(data))
    if settings.image_url_fetch and (target.info.vision or not target.info.known):
        chat = await inline_images(chat, settings)  # http(s) image URLs -> data URIs (SSRF-fenced fetch)
    credentials = oci.get_credentials(settings)
    details, fmt = build_chat_details(chat, target, target.compartment(settings, credentials),
                                      drop_unsupported=settings.drop_unsupported_params)
    call = dict(json_body=details, deadline=request.deadline, request_id=request.request_id or None,
                model=chat.model, known_model=target.known)
    url = target.url(settings, credentials, "chat")
    if chat.stream:
        return await _stream(chat, fmt, url, call, request, settings.deadline_margin_seconds)
    upstream = await oci.get_client().request("POST", url, **call)
    completion = completion_from_result(upstream.json(), fmt, model=chat.model,
                                        response_id=f"chatcmpl-{upstream.request_id.lower()}")
    response = Response.json(completion, headers={"x-request-id": upstream.request_id})
    usage = completion.get("usage") or {}
    response.meta.update(model=chat.model, api_format=fmt, prompt_tokens=usage.get("prompt_tokens"),
                         completion_tokens=usage.get("completion_tokens"))
    return response


async def _stream(chat: ChatRequest, fmt: str, url: str, call: dict, request: Request, margin: float) -> Response:
    stream = await oci.get_client().open_stream("POST", url, accept=STREAM_ACCEPT, **call)
    translator = StreamTranslator(response_id=f"chatcmpl-{stream.request_id.lower()}", model=chat.model,
                                  created=int(time.time()), include_usage=chat.include_usage)
    body = relay(stream, translator, deadline=request.deadline, margin=margin,
                 log_fields={"model": chat.model, "request_id": request.request_id, "api_format": fmt,
                             "key_id": key_id_of(request)})
    headers = {"content-type": "text/event-stream", "cache-control": "no-cache", "x-request-id": stream.request_id}
    response = Response(200, headers, body)
    response.meta.update(model=chat.model, api_format=fmt, stream=True)
    return response
