"""``POST /v1/responses``: the Responses API answered through the chat core, for every chat model.

The steps, in order: check the request, resolve the model once (allow-list, kind), read the stored conversation
``previous_response_id`` names, plan the tools, build the chat body, let the chat core parse, check and
translate it (every per-model rule of ``/v1/chat/completions`` applies), call OCI, and build the response
object. The chat messages are final right before the OCI call, and the response object right before it is
returned: an input check and an output check each belong in exactly one of those two places.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Mapping

from core import aliases, runtime
from core.aliases import ResolvedModel
from core.catalog import CHAT
from core.chat.service import STREAM_ACCEPT, ChatCall, checked_request, prepare_call
from core.chat.stream import StreamTranslator
from core.chat.translate import completion_from_result
from core.errors import invalid_request
from core.policy import KeyPolicy, model_not_allowed
from core.responses.bridge import chat_plan
from core.responses.events import EventWriter
from core.responses.output import new_id, response_from_completion, response_shell
from core.responses.request import parse_create_request
from core.responses.schema import CreateRequest
from core.responses.stream import response_events
from core.responses.tools import plan_tools
from core.settings import Settings

IGNORED_HEADER = "x-gateway-ignored-params"
SKIPPED_HEADER = "x-gateway-skipped-tools"


@dataclass
class ResponsesResult:
    """A response object (``body``) or its event stream (``stream``), plus facts for headers and logs."""

    request_id: str
    model: str
    api_format: str
    body: dict[str, Any] | None = None
    stream: AsyncIterator[bytes] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)


async def create_response(data: dict[str, Any], *, deadline: float | None = None, request_id: str = "",
                          policy: KeyPolicy | None = None, key_id: str | None = None,
                          settings: Settings | None = None) -> ResponsesResult:
    """Validate ``data`` (a Responses API body), answer it through OCI chat, and build the response object."""
    settings = settings or runtime.settings()
    request = parse_create_request(data)
    target = _target(request.model.strip(), settings, policy)
    history = _history(request)
    tools = plan_tools(request.tools, request.tool_choice)
    plan = chat_plan(request, history, tools, target.info)
    with plan.params.translating():
        chat = checked_request(plan.body, target, settings)
        call = await prepare_call(chat, target, settings)
    shell = response_shell(request, data, response_id=new_id("resp"), model=request.model, store=False)
    headers = _headers(plan.ignored, tools.skipped)
    options = _options(call, target, chat.model, deadline, request_id)
    if request.stream:
        return await _stream(call, options, shell, tools.kinds, headers, settings,
                             {"request_id": request_id, "key_id": key_id})
    upstream = await runtime.client().request("POST", call.url, **options)
    completion = completion_from_result(upstream.json(), call.api_format, model=request.model,
                                        response_id=shell["id"])
    response = response_from_completion(shell, completion, tools.kinds)
    return ResponsesResult(upstream.request_id, request.model, call.api_format, body=response,
                           headers={**headers, "x-request-id": upstream.request_id}, usage=response["usage"])


async def _stream(call: ChatCall, options: dict[str, Any], shell: dict[str, Any], kinds: Mapping[str, str],
                  headers: dict[str, str], settings: Settings, log_fields: dict[str, Any]) -> ResponsesResult:
    """Open the OCI stream (failures before the first byte are plain errors), then translate it as it comes."""
    stream = await runtime.client().open_stream("POST", call.url, accept=STREAM_ACCEPT, **options)
    translator = StreamTranslator(response_id=shell["id"], model=shell["model"], created=shell["created_at"],
                                  include_usage=True)
    writer = EventWriter(shell, kinds)
    body = response_events(stream, translator, writer, deadline=options["deadline"],
                           margin=settings.deadline_margin_seconds,
                           log_fields={"model": shell["model"], "api_format": call.api_format, **log_fields})
    return ResponsesResult(stream.request_id, shell["model"], call.api_format, stream=body,
                           headers={**headers, "x-request-id": stream.request_id})


def _target(name: str, settings: Settings, policy: KeyPolicy | None) -> ResolvedModel:
    """The model the request names, resolved once: served, allowed for this key, and a chat model."""
    target = aliases.resolve(name, settings, runtime.aliases(settings))
    if policy is not None and not policy.allows(target.name, target.model_id):
        raise model_not_allowed(target.name, policy)
    target.require_kind(CHAT)
    return target


def _history(request: CreateRequest) -> list[Any]:
    """The stored conversation ``previous_response_id`` continues (none without a responses bucket)."""
    if request.previous_response_id is not None:
        raise invalid_request("'previous_response_id' needs stored responses, and this gateway keeps none (no "
                              "RESPONSES_BUCKET is configured): send the whole conversation in 'input'.",
                              param="previous_response_id", code="stored_responses_disabled")
    return []


def _options(call: ChatCall, target: ResolvedModel, model: str, deadline: float | None,
             request_id: str) -> dict[str, Any]:
    return dict(json_body=call.details, deadline=deadline, request_id=request_id or None, model=model,
                known_model=target.known)


def _headers(ignored: tuple[str, ...], skipped: tuple[str, ...]) -> dict[str, str]:
    headers = {}
    if ignored:
        headers[IGNORED_HEADER] = ", ".join(ignored)
    if skipped:
        headers[SKIPPED_HEADER] = ", ".join(skipped)
    return headers
