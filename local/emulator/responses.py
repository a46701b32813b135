"""OCI's OpenAI-compatible Responses API (``/openai/v1/responses``) for the emulator, deterministically.

What the service does, as documented: the same request signing as the native API; a project OCID in the
``OpenAI-Project`` header on every call ("using projects is required"); only the agentic models (OpenAI
gpt-oss, xAI, Google) are served, never Meta or Cohere; responses are stored unless ``store`` is false, so
``previous_response_id``, ``GET``, ``DELETE`` and ``input_items`` work on them. Errors are OpenAI-shaped
(``{"error": {...}}``). The exact wording and codes of OCI's errors here are not documented: these are the
emulator's own.

Answers follow the emulator's chat rules (:mod:`local.emulator.replies`, :mod:`local.emulator.tools`): the text
is ``"Echo: <last user text>"`` (or the tool outputs the turn answers), a JSON ``text.format`` gets the JSON
document the chat model answers, function tools are called per the ``call:<name>`` directives, and
``stream: true`` sends OpenAI's named events with sequence numbers. The stream's content type carries no charset,
like the service's.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from .replies import Prompt, count_tokens, json_answer, pieces
from .server import route
from .streaming import paced
from .tools import ToolChoice, ToolSpec, plan_calls, strip_directives
from .wire import EmuRequest, EmuResponse

AGENTIC_VENDORS = frozenset({"openai", "xai", "google"})
PROJECT_HEADER = "openai-project"
STREAM_CONTENT_TYPE = "text/event-stream"


@dataclass
class ResponsesState:
    """Stored responses by id: the response, its full input, and the project it was created in."""

    responses: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def put(self, response: dict[str, Any], items: list[dict[str, Any]], project: str) -> None:
        with self._lock:
            self.responses[response["id"]] = {"response": response, "input": items, "project": project}

    def get(self, response_id: str, project: str) -> dict[str, Any] | None:
        with self._lock:
            found = self.responses.get(response_id)
        return found if found is not None and found["project"] == project else None

    def pop(self, response_id: str) -> None:
        with self._lock:
            self.responses.pop(response_id, None)


def _error(status: int, message: str, *, param: str | None = None, code: str | None = None) -> EmuResponse:
    return EmuResponse.json(status, {"error": {"message": message, "type": "invalid_request_error", "param": param,
                                               "code": code}})


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def _items(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": value}]}]
    return [{"type": "message", **item} if "type" not in item else item for item in value or [] if isinstance(item,
                                                                                                           dict)]


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return " ".join(part.get("text", "") for part in content or [] if isinstance(part, dict))


def _source(items: list[dict[str, Any]]) -> tuple[str, bool]:
    """What the model answers: the tool outputs ending the conversation, else the last user text."""
    outputs: list[str] = []
    for item in reversed(items):
        if item.get("type") == "function_call_output":
            outputs.insert(0, str(item.get("output", "")))
            continue
        break
    if outputs:
        return " ".join(outputs), True
    for item in reversed(items):
        if item.get("type") == "message" and item.get("role") == "user":
            return _text(item.get("content")), False
    return "", False


def _choice(value: Any) -> ToolChoice:
    if isinstance(value, dict) and value.get("type") == "function":
        return ToolChoice("function", value.get("name"))
    return ToolChoice(value) if value in ("none", "required") else ToolChoice()


def _output(body: dict[str, Any], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    source, answers_tools = _source(items)
    tools = [ToolSpec(t.get("name") or "", t.get("parameters") or {}) for t in body.get("tools") or []
             if isinstance(t, dict) and t.get("type") == "function"]
    calls = [] if answers_tools else plan_calls(tools, _choice(body.get("tool_choice")), source,
                                                parallel=body.get("parallel_tool_calls") is not False)
    if calls:
        return [{"id": _id("fc"), "type": "function_call", "status": "completed", "call_id": _id("call"),
                 "name": call.name, "arguments": json.dumps(call.arguments)} for call in calls]
    text = _text_answer(body, source)
    return [{"id": _id("msg"), "type": "message", "status": "completed", "role": "assistant",
             "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]}]


def _text_answer(body: dict[str, Any], source: str) -> str:
    """``Echo: <source>``, or, for a JSON ``text.format``, the document the chat model would answer."""
    text = body.get("text") if isinstance(body.get("text"), dict) else {}
    fmt = text.get("format") if isinstance(text.get("format"), dict) else {}
    if fmt.get("type") not in ("json_schema", "json_object"):
        return f"Echo: {strip_directives(source)}"
    schema = fmt.get("schema") if fmt.get("type") == "json_schema" else None
    return json_answer(Prompt(source=source, wants_json=True, json_schema=schema))


def _response(body: dict[str, Any], model: str, output: list[dict[str, Any]], items: list[dict[str, Any]],
              store: bool) -> dict[str, Any]:
    produced = sum(count_tokens(json.dumps(item.get("content") or item.get("arguments") or "")) for item in output)
    prompt = sum(count_tokens(json.dumps(item)) for item in items)
    return {
        "id": _id("resp"), "object": "response", "created_at": int(time.time()), "status": "completed",
        "completed_at": int(time.time()), "error": None, "incomplete_details": None, "model": model,
        "instructions": body.get("instructions"), "output": output, "parallel_tool_calls": True,
        "previous_response_id": body.get("previous_response_id"), "store": store, "temperature": None,
        "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools") or [], "top_p": None,
        "text": {"format": {"type": "text"}}, "metadata": body.get("metadata") or {},
        "usage": {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                  "output_tokens": produced, "output_tokens_details": {"reasoning_tokens": 0},
                  "total_tokens": prompt + produced},
    }


def stream_events(response: dict[str, Any]) -> list[dict[str, Any]]:
    """OpenAI's event sequence for a finished response (text streamed piece by piece)."""
    shell = {**response, "status": "in_progress", "output": [], "usage": None}
    events: list[dict[str, Any]] = [{"type": "response.created", "response": shell},
                                    {"type": "response.in_progress", "response": shell}]
    for index, item in enumerate(response["output"]):
        events.extend(_item_events(index, item))
    events.append({"type": "response.completed", "response": response})
    return [{**event, "sequence_number": n} for n, event in enumerate(events)]


def frames(response: dict[str, Any]) -> list[bytes]:
    """The SSE bytes of a response's stream: ``event:`` and ``data:`` lines, one write per event."""
    return [f"event: {e['type']}\ndata: {json.dumps(e, separators=(',', ':'))}\n\n".encode()
            for e in stream_events(response)]


def _item_events(index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
    where = {"item_id": item["id"], "output_index": index}
    if item["type"] == "function_call":
        return [{"type": "response.output_item.added", "output_index": index, "item": {**item, "arguments": ""}},
                {"type": "response.function_call_arguments.delta", **where, "delta": item["arguments"]},
                {"type": "response.function_call_arguments.done", **where, "arguments": item["arguments"]},
                {"type": "response.output_item.done", "output_index": index, "item": item}]
    text = item["content"][0]["text"]
    empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    events: list[dict[str, Any]] = [
        {"type": "response.output_item.added", "output_index": index,
         "item": {**item, "status": "in_progress", "content": []}},
        {"type": "response.content_part.added", **where, "content_index": 0, "part": empty}]
    events += [{"type": "response.output_text.delta", **where, "content_index": 0, "delta": piece, "logprobs": []}
               for piece in pieces(text)]
    events += [{"type": "response.output_text.done", **where, "content_index": 0, "text": text, "logprobs": []},
               {"type": "response.content_part.done", **where, "content_index": 0, "part": item["content"][0]},
               {"type": "response.output_item.done", "output_index": index, "item": item}]
    return events


def install_responses(emulator: Any) -> ResponsesState:
    """Serve ``/openai/v1/responses`` from ``emulator``; returns the store of responses."""
    state = ResponsesState()

    def project_of(request: EmuRequest) -> str | EmuResponse:
        project = request.headers.get(PROJECT_HEADER, "").strip()
        if not project:
            return _error(400, "A project is required to call the OCI OpenAI-compatible API: send its OCID in the "
                               "OpenAI-Project header.", code="project_required")
        return project

    async def create(host: Any, request: EmuRequest) -> EmuResponse:
        project = project_of(request)
        if isinstance(project, EmuResponse):
            return project
        body = request.json if isinstance(request.json, dict) else {}
        model_id = str(body.get("model") or "")
        model = host.models.get(model_id)
        if model is None:
            return _error(404, f"The model '{model_id}' does not exist.", param="model", code="model_not_found")
        if model.vendor not in AGENTIC_VENDORS:
            return _error(400, f"The model '{model_id}' is not supported with the Responses API.", param="model",
                          code="model_not_supported")
        items = _items(body.get("input"))
        previous_id = body.get("previous_response_id")
        if previous_id:
            previous = state.get(str(previous_id), project)
            if previous is None:
                return _error(400, f"Previous response with id '{previous_id}' not found.",
                              param="previous_response_id", code="previous_response_not_found")
            items = [*previous["input"], *previous["response"]["output"], *items]
        store = body.get("store") is not False
        response = _response(body, model_id, _output(body, items), items, store)
        if store:
            state.put(response, items, project)
        if not body.get("stream"):
            return EmuResponse.json(200, response)
        return EmuResponse(200, b"", {"content-type": STREAM_CONTENT_TYPE},
                           stream=paced(frames(response), host.stream.take(), request.on_stream))

    def stored(request: EmuRequest) -> tuple[dict[str, Any] | None, EmuResponse | None]:
        project = project_of(request)
        if isinstance(project, EmuResponse):
            return None, project
        found = state.get(unquote(request.params["id"]), project)
        if found is None:
            return None, _error(404, f"Response with id '{request.params['id']}' not found.",
                                code="response_not_found")
        return found, None

    async def retrieve(_host: Any, request: EmuRequest) -> EmuResponse:
        found, failure = stored(request)
        return failure or EmuResponse.json(200, found["response"])  # type: ignore[index]

    async def delete(_host: Any, request: EmuRequest) -> EmuResponse:
        found, failure = stored(request)
        if failure is not None:
            return failure
        state.pop(found["response"]["id"])  # type: ignore[index]
        return EmuResponse.json(200, {"id": found["response"]["id"], "object": "response", "deleted": True})  # type: ignore[index]

    async def input_items(_host: Any, request: EmuRequest) -> EmuResponse:
        found, failure = stored(request)
        if failure is not None:
            return failure
        query = dict(parse_qsl(request.query))
        items = [{"id": item.get("id") or _id("msg"), **item} for item in found["input"]]  # type: ignore[index]
        if query.get("order", "desc") == "desc":
            items.reverse()
        page = items[: int(query.get("limit", 20))]
        return EmuResponse.json(200, {"object": "list", "data": page, "has_more": len(items) > len(page),
                                      "first_id": page[0]["id"] if page else None,
                                      "last_id": page[-1]["id"] if page else None})

    emulator.add_route(route("GET", r"/openai/v1/responses/(?P<id>[^/]+)/input_items", input_items,
                             "openai.responses.input_items"))
    emulator.add_route(route("GET", r"/openai/v1/responses/(?P<id>[^/]+)", retrieve, "openai.responses.get"))
    emulator.add_route(route("DELETE", r"/openai/v1/responses/(?P<id>[^/]+)", delete, "openai.responses.delete"))
    emulator.add_route(route("POST", r"/openai/v1/responses", create, "openai.responses.create"))
    return state
