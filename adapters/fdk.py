"""OCI Functions (fdk) adapter: the fdk's context and body in, the handlers' answer out.

Adapts the fdk's context to a transport-neutral :class:`core.exchange.Request` and
the handler's :class:`core.exchange.Response` back. No business logic lives here;
routing, errors and everything else are in ``handlers/`` and ``core/``. ``func.py``
(the entry point ``fdk func.py handler`` names) re-exports :func:`handler`.
"""

from __future__ import annotations

import io
import os
from datetime import datetime, timezone
from typing import Any

from adapters import fdk_debug
from core import logs, runtime
from core.exchange import HTTP, INVOKE, Headers, Request
from handlers.router import dispatch


logs.configure(runtime.log_level())  # a bad setting is logged just below and in every call's error response
if os.environ.get("FN_LISTENER"):  # started by Fn (or the local runner), not imported by a test or a tool
    from core.health import report_at_startup

    report_at_startup()
fdk_debug.guard(os.environ)

BUFFERED_STREAM_HEADER = "x-gateway-streaming"


def _deadline(raw: Any) -> float | None:
    """``Fn-Deadline`` (RFC 3339) as epoch seconds; the fdk gives naive local time when the header is absent."""
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.astimezone()
    return value.astimezone(timezone.utc).timestamp()


def to_request(ctx: Any, data: io.BytesIO | None) -> Request:
    """The fdk context and body as a :class:`Request`."""
    body = data.getvalue() if data is not None else b""
    method = ctx.Method()
    all_headers = Headers(ctx.Headers() or {})
    request_id = all_headers.get("opc-request-id") or ctx.CallID() or ""
    deadline = _deadline(ctx.Deadline())
    if method:  # Fn-Intent: httprequest (API Gateway, HTTP trigger)
        url = ctx.RequestURL() or "/"
        path, _, query = url.partition("?")
        if "://" in path:  # open-source Fn sends a full URL, OCI API Gateway only path and query
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        headers = dict(ctx.HTTPHeaders() or {})
        if "content-type" in all_headers:  # passed unprefixed, not as Fn-Http-H-Content-Type
            headers.setdefault("content-type", all_headers["content-type"])
        return Request(method=method.upper(), path=path, query=query, headers=Headers(headers), body=body, kind=HTTP,
                       deadline=deadline, request_id=request_id)
    return Request(method="POST", path="", headers=all_headers, body=body, kind=INVOKE, deadline=deadline,
                   request_id=request_id)


async def handler(ctx: Any, data: io.BytesIO | None = None) -> Any:
    from fdk import response as fdk_response

    request = to_request(ctx, data)
    response = await dispatch(request)
    streaming = response.is_streaming
    body = await response.read()  # before the headers: a stream may add reports to them while it runs
    headers = dict(response.headers)
    if streaming:
        # Functions cannot stream: the whole event stream is collected and sent at once.
        headers[BUFFERED_STREAM_HEADER] = "buffered"
    return fdk_response.Response(ctx, response_data=body, headers=headers, status_code=_socket_status(request, response))


def _socket_status(request: Request, response: Any) -> int:
    """The status for the fdk. Fn passes on only 200, 502 and 504 for a raw invocation: an ingest event whose
    failure nothing recorded must reach OCI as a failed invocation (502), or it would look handled."""
    if request.kind == INVOKE and response.status >= 500 and runtime.role() == "ingest":
        return 502
    return int(response.status)

