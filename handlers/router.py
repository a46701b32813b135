"""One resolver for every way in: routes declared in one place, errors shaped in one place.

* HTTP calls (API Gateway, the local front) are routed by **path suffix**, so
  ``/any/deployment/prefix/v1/chat/completions`` matches ``/v1/chat/completions``
  whatever prefix the API Gateway deployment puts in front.
* Raw invocations (``fn invoke`` with an OpenAI body on stdin) have no method or
  path: they are routed by the **shape** of their JSON body.
* ``GATEWAY_ROLE`` says which jobs a deployed function does; the same image serves
  every role.

Handlers are imported on first use, so a function only pays for the code its
role and route need. Every failure becomes an OpenAI-shaped error response here.
"""

from __future__ import annotations

import importlib
import json
import logging
import re
import uuid
from dataclasses import dataclass, replace
from typing import Any, Awaitable, Callable

from core import logs, runtime
from core.errors import SERVER, APIError, ConfigError, config_error, invalid_request, not_found
from core.policy import key_id_of
from core.settings import Settings
from core.exchange import HTTP, Request, Response

Handler = Callable[[Request], Awaitable[Response]]
DEFAULT_MAX_BODY_BYTES: int = Settings.__dataclass_fields__["max_body_bytes"].default


@dataclass(frozen=True)
class Route:
    method: str
    pattern: tuple[str, ...]  # path segments; "{name}" matches one segment
    module: str
    name: str

    def match(self, segments: list[str]) -> dict[str, str] | None:
        """Match the route against the *tail* of the request path."""
        if len(segments) < len(self.pattern):
            return None
        tail = segments[len(segments) - len(self.pattern):]
        params: dict[str, str] = {}
        for want, got in zip(self.pattern, tail):
            if want.startswith("{"):
                params[want[1:-1]] = got
            elif want != got:
                return None
        return params


def _route(method: str, path: str, module: str, name: str) -> Route:
    return Route(method, tuple(s for s in path.split("/") if s), module, name)


@dataclass(frozen=True)
class Shape:
    """A raw invocation (no HTTP method or path) recognised by its JSON body."""

    name: str
    matches: Callable[[dict[str, Any]], bool]
    module: str


@dataclass(frozen=True)
class Role:
    """What one deployed role answers: HTTP routes, invocation shapes, and the handler for any other invocation."""

    routes: tuple[Route, ...] = ()
    shapes: tuple[Shape, ...] = ()
    fallback: Shape | None = None


def _is_object_event(body: dict[str, Any]) -> bool:
    kind = body.get("eventType")
    return isinstance(kind, str) and kind.startswith("com.oraclecloud.objectstorage.") and isinstance(body.get("data"),
                                                                                                      dict)


# Fields only a Responses API body has (an embeddings body also has "model" and "input").
_RESPONSES_ONLY = frozenset({"instructions", "previous_response_id", "tools", "text", "reasoning", "max_output_tokens",
                             "store", "include", "tool_choice", "stream"})


def _is_responses_body(body: dict[str, Any]) -> bool:
    return "input" in body and not _RESPONSES_ONLY.isdisjoint(body)


# ``fn invoke`` with ``{"doctor": true}``: every role checks what its own grants reach (core.doctor).
DOCTOR = Shape("doctor", lambda body: body.get("doctor") is True, "handlers.doctor")

# Every role in one table. Routes: longer patterns first so suffix matching is unambiguous.
ROLES: dict[str, Role] = {
    "gateway": Role(
        routes=(
            _route("POST", "/v1/vector_stores/{id}/search", "handlers.vector_store_search", "vector_store_search"),
            _route("GET", "/v1/vector_stores/{id}", "handlers.vector_stores", "vector_store"),
            _route("GET", "/v1/vector_stores", "handlers.vector_stores", "vector_stores"),
            _route("POST", "/v1/chat/completions", "handlers.chat", "chat"),
            _route("GET", "/v1/responses/{id}/input_items", "handlers.response_input_items", "response_input_items"),
            _route("POST", "/v1/responses", "handlers.responses", "responses"),
            _route("GET", "/v1/responses/{id}", "handlers.stored_response", "response"),
            _route("DELETE", "/v1/responses/{id}", "handlers.stored_response", "response_delete"),
            _route("GET", "/v1/models/{id}", "handlers.models", "model"),
            _route("POST", "/v1/embeddings", "handlers.embeddings", "embeddings"),
            _route("GET", "/v1/models", "handlers.models", "models"),
            _route("POST", "/v2/rerank", "handlers.rerank", "rerank"),
            _route("POST", "/v1/rerank", "handlers.rerank", "rerank"),
            _route("POST", "/rerank", "handlers.rerank", "rerank"),  # after /v1 and /v2: suffix match
            _route("POST", "/v1/moderations", "handlers.moderations", "moderations"),
            _route("GET", "/health", "handlers.health", "health"),  # suffix match: /health, /v1/health, /x/health
        ),
        shapes=(
            DOCTOR,
            Shape("chat", lambda body: "messages" in body, "handlers.chat"),
            Shape("responses", _is_responses_body, "handlers.responses"),
            Shape("embeddings", lambda body: "input" in body and "messages" not in body, "handlers.embeddings"),
            Shape("rerank", lambda body: "query" in body and "documents" in body, "handlers.rerank"),
        ),
    ),
    "ingest": Role(shapes=(DOCTOR, Shape("ingest", _is_object_event, "handlers.ingest"),
                           Shape("reconcile", lambda body: "gatewayReconcile" in body, "handlers.reconcile"))),
    # The authorizer answers every call with its contract's JSON ({"active": false}), never an OpenAI error:
    # API Gateway reads only that shape.
    "authorizer": Role(
        shapes=(DOCTOR, Shape("authorizer", lambda body: body.get("type") in ("USER_DEFINED", "TOKEN"),
                              "handlers.authorizer")),
        fallback=Shape("authorizer", lambda body: True, "handlers.authorizer"),
    ),
}


def _load(module: str) -> Handler:
    return importlib.import_module(module).handle  # type: ignore[no-any-return]


def error_response(error: APIError, request_id: str = "") -> Response:
    headers = {"content-type": "application/json", **error.headers}
    if request_id:
        headers.setdefault("x-request-id", request_id)
    return Response(error.status, headers, error.body_bytes(), meta={"error_code": error.code})


def resolve_http(role: Role, request: Request) -> tuple[str, Handler, dict[str, str]]:
    segments = [s for s in request.path.split("/") if s]
    allowed: list[str] = []
    for route in role.routes:
        params = route.match(segments)
        if params is None:
            continue
        if route.method == request.method.upper() or (route.method == "GET" and request.method.upper() == "HEAD"):
            return route.name, _load(route.module), params
        allowed.append(route.method)
    if allowed:
        raise APIError(405, f"Method {request.method} is not allowed on {request.path}; use {', '.join(allowed)}.",
                       code="method_not_allowed", headers={"allow": ", ".join(allowed)})
    raise not_found(f"Unknown path {request.path!r}: this gateway serves "
                    f"{', '.join(sorted({'/' + '/'.join(r.pattern) for r in role.routes}))}.",
                    code="unknown_url")


def resolve_invoke(role: Role, request: Request) -> tuple[str, Handler]:
    try:
        body = json.loads(request.body) if request.body.strip() else None
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: a deeply nested JSON bomb
        body = None
    if isinstance(body, dict):
        for shape in role.shapes:
            if shape.matches(body):
                return shape.name, _load(shape.module)
    if role.fallback is not None:
        return role.fallback.name, _load(role.fallback.module)
    raise invalid_request(
        "Could not tell what this invocation asks for: send an OpenAI request body as JSON "
        "(a chat completion with 'messages').", code="unrecognized_invocation",
    )


_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:/-]{1,128}$")


def _safe_request_id(request: Request) -> Request:
    """A request id that can travel in headers and logs; callers may send anything (header injection)."""
    if _SAFE_REQUEST_ID.match(request.request_id or ""):
        return request
    return replace(request, request_id=uuid.uuid4().hex.upper())


async def dispatch(request: Request) -> Response:
    """Answer one call; never raises, never leaks a traceback."""
    watch = logs.Stopwatch()
    request = _safe_request_id(request)
    route_name = "?"
    try:
        _check_body_size(request)
        role = ROLES[runtime.role()]
        if request.kind == HTTP:
            route_name, handler, params = resolve_http(role, request)
            if params:
                request = _with_params(request, params)
        else:
            route_name, handler = resolve_invoke(role, request)
        response = await handler(request)
    except APIError as exc:
        response = error_response(exc, request.request_id)
    except ConfigError as exc:
        response = error_response(config_error(exc), request.request_id)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: log the type, answer a clean 500
        logs.log_event("unhandled_exception", logging.ERROR, route=route_name, request_id=request.request_id,
                       exception=type(exc).__name__)
        response = error_response(
            APIError(500, "The gateway failed unexpectedly; the error was logged"
                          + (f" under request id {request.request_id}." if request.request_id else "."),
                     type=SERVER, code="internal_error"),
            request.request_id,
        )
    if response.status in (502, 504):  # the platform would discard the body
        response.status = 503
    fields: dict[str, Any] = {"key_id": key_id_of(request)}  # per-key usage: an operator sums tokens by key_id
    fields.update({k: v for k, v in response.meta.items() if isinstance(v, (str, int, float, bool))})
    logs.log_event("request", route=route_name, method=request.method if request.kind == HTTP else "INVOKE",
                   status=response.status, latency_ms=watch.ms(), request_id=request.request_id, **fields)
    return response


def _check_body_size(request: Request) -> None:
    """413 above ``MAX_BODY_BYTES`` (the default limit applies while the settings do not parse)."""
    try:
        limit = runtime.settings().max_body_bytes
    except ConfigError:
        limit = DEFAULT_MAX_BODY_BYTES
    if len(request.body) > limit:
        raise APIError(413, f"Request body is {len(request.body)} bytes; the limit is {limit} bytes.",
                       code="request_too_large")


def _with_params(request: Request, params: dict[str, str]) -> Request:
    return replace(request, path_params=params)
