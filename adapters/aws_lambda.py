"""AWS Lambda adapter: the same handlers behind ``lambda_handler(event, context)``.

Handler setting: ``adapters.aws_lambda.lambda_handler``. Accepted events:

* API Gateway **REST API** proxy events (payload 1.0: ``httpMethod``, ``path``,
  ``multiValueHeaders``, ``multiValueQueryStringParameters``), and HTTP API events in
  payload format 1.0, which have the same shape;
* API Gateway **HTTP API** events (payload 2.0: ``rawPath``, ``rawQueryString``,
  ``cookies``) and **Lambda Function URL** events, which use the 2.0 shape too;
* a **direct invocation** (``aws lambda invoke``) whose payload is an OpenAI request body,
  routed by its shape exactly like ``fn invoke``: the answer is the OpenAI JSON itself and
  errors arrive in it (``{"error": {...}}``), not as a failed invocation.

The response has the shape the event's source expects (``statusCode``, ``headers``,
``body``, ``isBase64Encoded``): JSON and ``text/event-stream`` bodies as text, anything
else base64. Lambda buffers the response (like OCI Functions), so ``stream: true`` gets
the whole event stream at once, marked ``x-gateway-streaming: buffered``.

One event loop per container, created at import and reused by every invocation: the
pooled OCI client (:func:`core.runtime.client`) is per loop, so a warm container keeps its
connections to OCI open (and a connection that died while the container was frozen is
retried by the client). Each call's deadline is ``context.get_remaining_time_in_millis()``.
Credentials come from the environment as everywhere else: API-key auth with ``OCI_USER``,
``OCI_FINGERPRINT``, ``OCI_TENANCY``, ``OCI_REGION`` and ``OCI_KEY``.

Shutdown: Lambda sends SIGTERM to the runtime before it discards an execution environment
only when an extension is registered; :func:`install_shutdown_handler` (done at import when
running in Lambda) closes the pooled client then, and nothing is lost without it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import signal
import threading
import time
import uuid
from typing import Any, Mapping
from urllib.parse import urlencode

from core import logs, runtime
from core.errors import APIError, invalid_request
from core.exchange import HTTP, INVOKE, Headers, Request, Response
from handlers.router import dispatch, error_response

BUFFERED_STREAM_HEADER = "x-gateway-streaming"
REST_V1 = "rest_v1"  # REST API proxy events and HTTP API payload 1.0
HTTP_V2 = "http_v2"  # HTTP API payload 2.0 and Function URLs
DIRECT = "direct"  # a direct invocation whose payload is the request body
_TEXT_TYPES = ("json", "text/", "event-stream", "xml", "javascript", "x-www-form-urlencoded")


logs.configure(runtime.log_level())  # a bad setting is reported in every call's error response
_LOOP = asyncio.new_event_loop()
"""The container's one event loop: the pooled OCI client lives on it between invocations."""


# ---------------------------------------------------------------------------------------------
# Event -> Request (pure)


def event_kind(event: Any) -> str:
    """Which of the accepted shapes ``event`` is."""
    if isinstance(event, Mapping):
        if event.get("version") == "2.0" and isinstance(event.get("requestContext"), Mapping) \
                and "http" in event["requestContext"]:
            return HTTP_V2
        if "httpMethod" in event and "requestContext" in event:
            return REST_V1
    return DIRECT


def _body(event: Mapping[str, Any]) -> bytes:
    raw = event.get("body")
    if raw is None:
        return b""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise invalid_request("The request body is marked base64 but is not valid base64.",
                                  code="invalid_body") from None
    return raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)


def _v1_headers(event: Mapping[str, Any]) -> Headers:
    """``multiValueHeaders`` joined the way HTTP joins repeated headers; ``headers`` if absent."""
    multi = event.get("multiValueHeaders")
    if isinstance(multi, Mapping) and multi:
        joined = {}
        for name, values in multi.items():
            if isinstance(values, list):
                separator = "; " if name.lower() == "cookie" else ", "
                joined[name] = separator.join(str(v) for v in values)
            elif values is not None:
                joined[name] = str(values)
        return Headers(joined)
    return Headers({k: v for k, v in (event.get("headers") or {}).items() if v is not None})


def _v1_query(event: Mapping[str, Any]) -> str:
    multi = event.get("multiValueQueryStringParameters")
    if isinstance(multi, Mapping) and multi:
        return urlencode([(k, v) for k, values in multi.items() for v in (values or [])])
    single = event.get("queryStringParameters")
    return urlencode(list(single.items())) if isinstance(single, Mapping) else ""


def _v2_headers(event: Mapping[str, Any]) -> Headers:
    headers = {k: v for k, v in (event.get("headers") or {}).items() if v is not None}
    cookies = event.get("cookies")
    if cookies:  # payload 2.0 moves cookies out of the headers
        headers = {k: v for k, v in headers.items() if k.lower() != "cookie"}
        headers["cookie"] = "; ".join(str(c) for c in cookies)
    return Headers(headers)


def deadline_of(context: Any, now: float | None = None) -> float | None:
    """Absolute deadline from ``context.get_remaining_time_in_millis()`` (None without a context)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None
    return (time.time() if now is None else now) + remaining() / 1000.0


def _request_id(headers: Headers, event: Mapping[str, Any], context: Any) -> str:
    context_id = (event.get("requestContext") or {}).get("requestId") if isinstance(event, Mapping) else None
    return (headers.get("opc-request-id") or headers.get("x-request-id") or getattr(context, "aws_request_id", None)
            or context_id or uuid.uuid4().hex.upper())


def to_request(event: Any, context: Any, kind: str | None = None) -> Request:
    """The Lambda event as a :class:`Request` (raises :class:`APIError` for an undecodable body)."""
    kind = kind or event_kind(event)
    deadline = deadline_of(context)
    if kind == REST_V1:
        headers = _v1_headers(event)
        return Request(method=str(event["httpMethod"]).upper(), path=event.get("path") or "/", query=_v1_query(event),
                       headers=headers, body=_body(event), kind=HTTP, deadline=deadline,
                       request_id=_request_id(headers, event, context))
    if kind == HTTP_V2:
        headers = _v2_headers(event)
        http = event["requestContext"]["http"]
        return Request(method=str(http.get("method", "GET")).upper(), path=event.get("rawPath") or http.get("path")
                       or "/", query=event.get("rawQueryString") or "", headers=headers, body=_body(event), kind=HTTP,
                       deadline=deadline, request_id=_request_id(headers, event, context))
    body = event.encode("utf-8") if isinstance(event, str) else json.dumps(event).encode("utf-8")
    return Request(method="POST", path="", headers=Headers({"content-type": "application/json"}), body=body,
                   kind=INVOKE, deadline=deadline, request_id=_request_id(Headers(), {}, context))


# ---------------------------------------------------------------------------------------------
# Response -> Lambda result (pure)


def is_text(content_type: str | None) -> bool:
    """Whether a body of this type goes back as text (else base64)."""
    value = (content_type or "").lower()
    return any(marker in value for marker in _TEXT_TYPES)


def to_lambda_response(response: Response, body: bytes, kind: str) -> Any:
    """The result Lambda expects for ``kind``: a proxy response, or the payload of a direct invocation."""
    headers = {k.lower(): str(v) for k, v in response.headers.items()}
    if response.is_streaming:
        headers[BUFFERED_STREAM_HEADER] = "buffered"
    text: str | None = None
    if is_text(headers.get("content-type")) or not body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
    if kind == DIRECT:
        if text is not None and "json" in headers.get("content-type", ""):
            try:
                return json.loads(text)
            except ValueError:
                pass
        return text if text is not None else base64.b64encode(body).decode("ascii")
    return {
        "statusCode": response.status,
        "headers": headers,
        "body": text if text is not None else base64.b64encode(body).decode("ascii"),
        "isBase64Encoded": text is None,
    }


# ---------------------------------------------------------------------------------------------
# The handler


async def handle_event(event: Any, context: Any) -> Any:
    """Answer one event on the running loop; never raises (errors are OpenAI-shaped responses)."""
    kind = event_kind(event)
    try:
        request = to_request(event, context, kind)
    except APIError as exc:
        response = error_response(exc)
        return to_lambda_response(response, await response.read(), kind)
    response = await dispatch(request)
    body = b"" if request.method == "HEAD" else await response.read()
    return to_lambda_response(response, body, kind)


def lambda_handler(event: Any, context: Any) -> Any:
    """The Lambda entry point (``adapters.aws_lambda.lambda_handler``)."""
    return _LOOP.run_until_complete(handle_event(event, context))


# ---------------------------------------------------------------------------------------------
# Shutdown


def shutdown() -> None:
    """Close the container's pooled client (idempotent; a no-op while an invocation runs)."""
    if _LOOP.is_closed() or _LOOP.is_running():
        return
    _LOOP.run_until_complete(runtime.close_client())


def _sigterm_handler(previous: Any) -> Any:
    def on_sigterm(signum: int, frame: Any) -> None:
        shutdown()
        if callable(previous):
            previous(signum, frame)
        else:
            raise SystemExit(0)

    return on_sigterm


def install_shutdown_handler() -> bool:
    """Close the pooled client on SIGTERM (sent when a Lambda extension is registered); True if installed."""
    if threading.current_thread() is not threading.main_thread():
        return False
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _sigterm_handler(previous))
    return True


def _in_lambda() -> bool:
    import os

    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME") and os.environ.get("AWS_LAMBDA_RUNTIME_API"))


if _in_lambda():
    install_shutdown_handler()
