"""``/v1/responses``: the Responses API answered through the chat core, for every chat model, and stored responses.

Creating a response, in order: check the request, resolve the model once (allow-list, kind), read the stored
conversation ``previous_response_id`` names (only its owner may continue it), plan the tools, build the chat
body, let the chat core parse, check and translate it (every per-model rule of ``/v1/chat/completions``
applies), run the guardrails' input checks (:func:`_answer`; a mask rewrites the request itself), call OCI,
screen the answer (output checks), build the response object, and store it before answering (a function
freezes once it has answered). A native alias's request goes to OCI's own Responses API after the same checks
and input checks (:func:`_native`); the guardrails' side of both is :mod:`core.responses.guardrails`, imported
only when a policy is active.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Mapping

from core import aliases, catalog, model_list, runtime
from core.aliases import NATIVE, ResolvedModel
from core.catalog import CHAT
from core.chat import service as chat_service
from core.chat.service import ChatCall, ChatResult, checked_request, guarded, prepare_call
from core.chat.stream import StreamTranslator
from core.chat.translate import ChatPlan, completion_from_result
from core.errors import APIError, invalid_request
from core.gateway_headers import model_headers
from core.policy import KeyPolicy, model_not_allowed
from core.responses import native, records
from core.responses.bridge import chat_plan
from core.responses.events import EventWriter
from core.responses.output import new_id, response_from_completion, response_shell
from core.responses.params import ParamMap
from core.responses.request import parse_create_request, parse_items
from core.responses.schema import CreateRequest
from core.responses.store import ResponseStore, StoredRecord, configured_store
from core.responses.stream import response_events
from core.responses.tools import plan_tools
from core.settings import Settings
from core.validation import integer

if TYPE_CHECKING:
    from core.guardrails.chat import ChatGuard

IGNORED_HEADER = "x-gateway-ignored-params"
SKIPPED_HEADER = "x-gateway-skipped-tools"
Saver = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class _Prior:
    """The stored conversation a request continues: as checked items (for the bridge) and as stored."""

    items: list[Any] = field(default_factory=list)
    raw: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Answer:
    """One prepared bridged call: where it goes, the response it becomes, and how that response is kept."""

    call: ChatCall
    deadline: float | None
    request_id: str
    shell: dict[str, Any]
    kinds: Mapping[str, str]
    headers: dict[str, str]
    save: Saver | None
    target: ResolvedModel
    params: ParamMap
    """Where each chat field came from: the chat core's errors and dropped parameters told in Responses terms."""
    new_input: list[dict[str, Any]]
    """The request's own input items as a stored response keeps them (masked where the guardrails masked)."""
    guard: ChatGuard | None

    async def request(self) -> tuple[ChatPlan, Any]:
        with self.params.translating():
            return await chat_service.request(self.call, deadline=self.deadline, request_id=self.request_id)

    async def open_stream(self) -> tuple[ChatPlan, Any]:
        with self.params.translating():
            return await chat_service.open_stream(self.call, deadline=self.deadline, request_id=self.request_id)

    def headers_for(self, plan: ChatPlan, upstream_headers: Any, request_id: str) -> dict[str, str]:
        """The answer's headers: the guard's own dict when guarded (a stream's output report lands in it later)."""
        dropped = [self.params.responses_param(name) for name in plan.dropped]
        headers = self.guard.headers if self.guard is not None else {}
        headers.update({**self.headers, **model_headers(self.target, upstream_headers, dropped=dropped),
                        "x-request-id": request_id})
        return headers


async def create_response(data: dict[str, Any], *, deadline: float | None = None, request_id: str = "",
                          policy: KeyPolicy | None = None, key_id: str | None = None, owner: str | None = None,
                          settings: Settings | None = None) -> ChatResult:
    """Validate ``data`` (a Responses API body), answer it through OCI chat, store it, and build the response.

    ``owner`` (the caller's whole identity) owns what is stored; ``key_id`` is what the log lines name.
    """
    settings = settings or runtime.settings()
    request = parse_create_request(data)
    target = _target(request.model.strip(), settings, policy)
    guard = guarded(settings, target, policy, deadline=deadline, request_id=request_id)
    store = configured_store(settings)
    keep = store is not None and (request.store if request.store is not None else settings.responses_store_default)
    prior = await _prior(request, store, owner, deadline, target.responses)
    if target.responses == NATIVE:
        record = _native_recorder(store, owner, target, deadline) if store is not None else None
        return await _native(data, target, guard, keep=keep, record=record, stream=bool(request.stream),
                             settings=settings, deadline=deadline, request_id=request_id)
    answer = await _answer(request, data, target, prior, settings, keep, deadline, request_id, guard)
    if store is not None and keep:
        answer.save = _saver(store, prior.raw, answer.new_input, owner, deadline)
    if request.stream:
        return await _stream(answer, settings, {"request_id": request_id, "key_id": key_id})
    return await _complete(answer, request.model)


def _target(name: str, settings: Settings, policy: KeyPolicy | None) -> ResolvedModel:
    """The model the request names, resolved once: served, allowed for this key, and a chat model."""
    target = model_list.current_facts(aliases.resolve(name, settings, runtime.aliases(settings)))
    if policy is not None and not policy.allows(target.name):
        raise model_not_allowed(target.name, policy)
    target.require_kind(CHAT)
    return target


async def _native(data: dict[str, Any], target: ResolvedModel, guard: ChatGuard | None, **options: Any) -> ChatResult:
    """OCI's own Responses API: the input checks run on the request before it is forwarded (a masked input is
    what OCI receives), the output checks on a non-streamed answer before it is returned."""
    if guard is None:
        return await native.create(data, target, **options)
    from core.responses.guardrails import screen_native, screen_request

    data = await screen_request(guard, data)
    return await screen_native(guard, await native.create(data, target, **options))


async def _prior(request: CreateRequest, store: ResponseStore | None, owner: str | None, deadline: float | None,
                 mode: str) -> _Prior:
    """The stored conversation ``previous_response_id`` continues; only the key that stored it may continue it.

    A native response is continued by OCI (which holds it): only its owner is checked here.
    """
    response_id = request.previous_response_id
    if response_id is None:
        return _Prior()
    if store is None:
        raise invalid_request("'previous_response_id' needs stored responses, and this gateway keeps none (no "
                              "RESPONSES_BUCKET is configured): send the whole conversation in 'input'.",
                              param="previous_response_id", code="stored_responses_disabled")
    stored = await store.load(records.checked_id(response_id, "previous_response_id"), deadline=deadline)
    if stored is None or not records.owned(stored.record, owner):
        raise records.previous_not_found(response_id)
    kind = stored.record.get("kind")
    if kind != mode:
        where = "OCI's own Responses API" if kind == records.NATIVE else "this gateway's bridge"
        raise invalid_request(f"Previous response '{response_id}' was answered by {where}; continue it with a model "
                              f"answered the same way (this request's model uses the {mode} path).",
                              param="previous_response_id", code="previous_response_elsewhere")
    if kind == records.NATIVE:
        return _Prior()
    raw = records.history(stored.record)
    return _Prior(parse_items(raw, "previous_response_id"), raw)


async def _answer(request: CreateRequest, data: dict[str, Any], target: ResolvedModel, prior: _Prior,
                  settings: Settings, keep: bool, deadline: float | None, request_id: str,
                  guard: ChatGuard | None) -> _Answer:
    """The chat core's call for this request; the input checks run once the request passed every other check."""
    tools = plan_tools(request.tools, request.tool_choice)
    plan = chat_plan(request, prior.items, tools, target.info)
    with plan.params.translating():
        chat = checked_request(plan.body, target, settings)
    if guard is not None:
        from core.responses.guardrails import screen_request

        screened = await screen_request(guard, data)  # a block raises 400 content_filter
        if screened is not data:  # masked: the chat request is built again from the masked input
            data = screened
            plan = chat_plan(parse_create_request(data), prior.items, tools, target.info)
            with plan.params.translating():
                chat = checked_request(plan.body, target, settings)
    with plan.params.translating():
        call = await prepare_call(chat, target, settings)
    shell = response_shell(request, data, response_id=new_id("resp"), model=request.model, store=keep)
    return _Answer(call, deadline, request_id, shell, tools.kinds, _headers(plan.ignored, tools.skipped), None, target,
                   plan.params, records.input_items(data), guard)


def _saver(store: ResponseStore, history: list[dict[str, Any]], new_input: list[dict[str, Any]], owner: str | None,
           deadline: float | None) -> Saver:
    async def save(response: dict[str, Any]) -> None:
        await store.save(records.bridged_record(response, history, new_input, owner), deadline=deadline)

    return save


def _native_recorder(store: ResponseStore, owner: str | None, target: ResolvedModel,
                     deadline: float | None) -> Callable[[str], Awaitable[float]]:
    async def record(response_id: str) -> float:
        return await store.save(records.native_record(records.checked_id(response_id), owner, target.model_id,
                                                      target.region, target.name), deadline=deadline)

    return record


async def _complete(answer: _Answer, model: str) -> ChatResult:
    plan, upstream = await answer.request()
    completion = completion_from_result(upstream.json(), plan.api_format, model=model, response_id=answer.shell["id"])
    if answer.guard is not None:  # checked before it is stored or returned: both get what the checks left
        completion = await answer.guard.screen_completion(completion)
    response = response_from_completion(answer.shell, completion, answer.kinds)
    if answer.save is not None:
        await answer.save(response)
    return ChatResult(upstream.request_id, model, plan.api_format, body=response,
                      headers=answer.headers_for(plan, upstream.headers, upstream.request_id), usage=response["usage"])


async def _stream(answer: _Answer, settings: Settings, log_fields: dict[str, Any]) -> ChatResult:
    """Open the OCI stream (failures before the first byte are plain errors), then translate it as it comes."""
    shell = answer.shell
    plan, stream = await answer.open_stream()
    screen, after = None, None
    if answer.guard is not None:
        from core.responses.guardrails import stream_hooks

        await answer.guard.finish_input()
        screen, after = stream_hooks(answer.guard)
    translator = StreamTranslator(response_id=shell["id"], model=shell["model"], created=shell["created_at"],
                                  include_usage=True)
    body = response_events(stream, translator, EventWriter(shell, answer.kinds),
                           deadline=answer.deadline, margin=settings.deadline_margin_seconds,
                           log_fields={"model": shell["model"], "api_format": plan.api_format, **log_fields},
                           on_complete=answer.save, screen=screen, after=after)
    return ChatResult(stream.request_id, shell["model"], plan.api_format, stream=body,
                      headers=answer.headers_for(plan, stream.headers, stream.request_id))


def _headers(ignored: tuple[str, ...], skipped: tuple[str, ...]) -> dict[str, str]:
    headers = {}
    if ignored:
        headers[IGNORED_HEADER] = ", ".join(ignored)
    if skipped:
        headers[SKIPPED_HEADER] = ", ".join(skipped)
    return headers


# --------------------------------------------------------------------------------------------- stored responses


async def _owned(response_id: str, owner: str | None, deadline: float | None,
                 settings: Settings) -> tuple[ResponseStore, StoredRecord]:
    """The stored response if this caller owns it; a 404 otherwise (another key's response does not exist)."""
    store = configured_store(settings)
    if store is None:
        raise records.response_not_found(response_id)
    stored = await store.load(records.checked_id(response_id), deadline=deadline)
    if stored is None or not records.owned(stored.record, owner):
        raise records.response_not_found(response_id)
    return store, stored


async def get_response(response_id: str, query: Mapping[str, str], *, owner: str | None,
                       deadline: float | None = None, settings: Settings | None = None,
                       policy: KeyPolicy | None = None, request_id: str = "") -> dict[str, Any]:
    """``GET /v1/responses/{id}``: a stored response, for the key that created it.

    A bridged response is stored as its caller got it. OCI keeps a native one as its model answered it, so what
    is read back goes through the output checks first (the alias's, the deployment's and this key's policies).
    """
    if query.get("stream", "false").lower() not in ("false", "0", ""):
        raise invalid_request("Streaming a stored response again is not supported: read it whole.", param="stream",
                              code="unsupported_parameter")
    settings = settings or runtime.settings()
    _, stored = await _owned(response_id, owner, deadline, settings)
    if stored.record.get("kind") != records.NATIVE:
        return dict(stored.record["response"])
    response = await native.forward("GET", stored.record, f"responses/{response_id}", query, settings=settings,
                                    deadline=deadline, missing=records.response_not_found(response_id))
    guard = guarded(settings, _stored_target(stored.record, settings), policy, deadline=deadline,
                    request_id=request_id)
    if guard is None:
        return response
    from core.responses.guardrails import screen_answer

    return await screen_answer(guard, response)


def _stored_target(record: Mapping[str, Any], settings: Settings) -> ResolvedModel:
    """What a stored native response was asked of: its alias when it still resolves, else its OCI model."""
    model = str(record.get("model") or "")
    try:
        return aliases.resolve(str(record.get("alias") or model), settings, runtime.aliases(settings))
    except APIError:  # the alias is gone: the deployment's and the key's policies still apply
        return ResolvedModel(name=model, model_id=model, info=catalog.lookup(model))


async def delete_response(response_id: str, *, owner: str | None, deadline: float | None = None,
                          settings: Settings | None = None) -> dict[str, Any]:
    """``DELETE /v1/responses/{id}``: delete a stored response of this key."""
    settings = settings or runtime.settings()
    store, stored = await _owned(response_id, owner, deadline, settings)
    answer = {"id": response_id, "object": "response", "deleted": True}
    if stored.record.get("kind") == records.NATIVE:
        answer = await native.forward("DELETE", stored.record, f"responses/{response_id}", {}, settings=settings,
                                      deadline=deadline, missing=records.response_not_found(response_id))
    if not await store.delete(response_id, stored.etag, deadline=deadline):
        raise records.response_not_found(response_id)
    return answer


async def list_input_items(response_id: str, query: Mapping[str, str], *, owner: str | None,
                           deadline: float | None = None, settings: Settings | None = None) -> dict[str, Any]:
    """``GET /v1/responses/{id}/input_items``: the response's own input items, newest first by default."""
    limit = integer({"limit": _number(query.get("limit", "20"), "limit")}, "limit", minimum=1, maximum=100) or 20
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise invalid_request("Invalid 'order': expected 'asc' or 'desc'.", param="order", code="invalid_value")
    settings = settings or runtime.settings()
    _, stored = await _owned(response_id, owner, deadline, settings)
    if stored.record.get("kind") == records.NATIVE:
        return await native.forward("GET", stored.record, f"responses/{response_id}/input_items", query,
                                    settings=settings, deadline=deadline,
                                    missing=records.response_not_found(response_id))
    return records.input_item_page(stored.record, limit=limit, order=order, after=query.get("after"))


def _number(text: str, param: str) -> int:
    if not text.strip().isdigit():
        raise invalid_request(f"Invalid '{param}': expected an integer.", param=param, code="invalid_type")
    return int(text)
