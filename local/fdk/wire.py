"""The Fn agent's side of the fdk contract: request bytes for ``POST /call`` and the answer parsed (pure).

One ``POST /call`` per invocation with ``Fn-*`` headers on a unix socket, as OCI Functions' agent sends
it; every call sends ``Connection: close`` (an fdk connection left idle after a response makes the fdk
spin a CPU, and Fn holds at most one connection per container anyway).
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterable, Iterator, Mapping, Sequence

DEFAULT_TIMEOUT_S = 300.0  # OCI Functions' maximum sync timeout; what the front uses unless told otherwise
FUNCTION_FAILED_BODY = b'{"message":"function failed"}'
TIMED_OUT_BODY = b'{"message":"Timed out"}'
HTTP_PREFIX = "fn-http-h-"

# Headers the fdk adds to every response; they stay on the socket (Fn drops them on the way out).
_FDK_ONLY_HEADERS = ("fn-fdk-version", "fn-fdk-runtime")


class FdkStartError(RuntimeError):
    """The fdk process exited, or never became ready; the message carries its stderr tail."""


class FdkCallError(ConnectionError):
    """The unix-socket exchange failed (process gone, connection reset, malformed answer)."""


# ---------------------------------------------------------------------------------------------
# Pure helpers: request building and response parsing
# ---------------------------------------------------------------------------------------------


def new_call_id() -> str:
    """A 26-character upper-case id shaped like Fn's ULID call ids."""
    return uuid.uuid4().hex[:26].upper()


def rfc3339_deadline(seconds_from_now: float, *, now: datetime | None = None) -> str:
    """Fn-Deadline as Go's ``time.RFC3339`` in UTC, e.g. ``2030-01-01T00:00:00Z``."""
    base = now or datetime.now(timezone.utc)
    return (base + timedelta(seconds=seconds_from_now)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _clean(value: str) -> str:
    """Header values must not smuggle extra header lines in."""
    if "\r" in value or "\n" in value:
        raise ValueError("header values must not contain CR or LF")
    return value


def build_call_request(headers: Sequence[tuple[str, str]], body: bytes) -> bytes:
    """The bytes of one ``POST /call`` on the fdk socket, closing the connection afterwards."""
    lines = ["POST /call HTTP/1.1", "Host: localhost", "Connection: close", f"Content-Length: {len(body)}"]
    for name, value in headers:
        lowered = name.lower()
        if lowered in ("host", "connection", "content-length", "transfer-encoding"):
            continue  # framing is ours to decide
        lines.append(f"{_clean(name)}: {_clean(str(value))}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def http_call_headers(
    method: str,
    path_and_query: str,
    client_headers: Iterable[tuple[str, str]] | Mapping[str, str],
    *,
    body_content_type: str | None,
    deadline_s: float,
    call_id: str,
    request_id: str,
) -> list[tuple[str, str]]:
    """Headers API Gateway -> Fn puts on an HTTP-intent call.

    ``client_headers`` are the client's own headers; each becomes ``Fn-Http-H-<Name>`` except
    ``Content-Type``, which travels unprefixed.
    """
    out = [
        ("Fn-Call-Id", call_id),
        ("Fn-Deadline", rfc3339_deadline(deadline_s)),
        ("Fn-Intent", "httprequest"),
        ("Fn-Invoke-Type", "sync"),
        ("Fn-Http-Method", method.upper()),
        ("Fn-Http-Request-Url", path_and_query),
        ("opc-request-id", request_id),
    ]
    pairs = client_headers.items() if isinstance(client_headers, Mapping) else client_headers
    for name, value in pairs:
        if name.lower() == "content-type":
            continue
        out.append(("Fn-Http-H-" + name, value))
    if body_content_type is not None:
        out.append(("Content-Type", body_content_type))
    return out


def invoke_call_headers(
    *, content_type: str | None, deadline_s: float, call_id: str, request_id: str, intent: str | None = None,
    invoke_type: str = "sync",
) -> list[tuple[str, str]]:
    """Headers of a plain ``fn invoke`` (or OCI Events with ``intent='cloudevent'``): no Fn-Http-*."""
    out = [
        ("Fn-Call-Id", call_id),
        ("Fn-Deadline", rfc3339_deadline(deadline_s)),
        ("Fn-Invoke-Type", invoke_type),
        ("opc-request-id", request_id),
    ]
    if intent:
        out.append(("Fn-Intent", intent))
    if content_type is not None:
        out.append(("Content-Type", content_type))
    return out


@dataclass(frozen=True)
class RawResponse:
    """What came back on the unix socket, before any Fn / API Gateway mapping."""

    status: int
    headers: list[tuple[str, str]]  # names lower-cased, in wire order
    body: bytes

    def header(self, name: str, default: str | None = None) -> str | None:
        """Last value of a header (the fdk never emits duplicates we care about)."""
        wanted = name.lower()
        found = default
        for key, value in self.headers:
            if key == wanted:
                found = value
        return found


def parse_http_response(data: bytes) -> RawResponse:
    """Parse a complete HTTP/1.1 response read until the peer closed (or Content-Length was met)."""
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        raise FdkCallError(f"incomplete response from the fdk ({len(data)} bytes)")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise FdkCallError("malformed status line from the fdk")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    raw = RawResponse(int(parts[1]), headers, rest)
    length = raw.header("content-length")
    if length is not None and length.isdigit():
        want = int(length)
        if len(rest) < want:
            raise FdkCallError(f"truncated body from the fdk ({len(rest)} of {want} bytes)")
        raw = RawResponse(raw.status, headers, rest[:want])
    return raw


def body_complete(buffer: bytes | bytearray) -> bool:
    """True once a buffered response holds its full Content-Length body (lets us stop reading)."""
    head, sep, rest = buffer.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return len(rest) >= int(value.strip())
    return False


@dataclass(frozen=True)
class HttpResult:
    """One call's outcome as a client would see it.

    Iterates as ``(status, headers, body)`` so ``status, headers, body = proc.call_http(...)``
    works; ``socket_status`` and ``raw`` keep what the fdk really sent, for tests.
    """

    status: int
    headers: dict[str, str]
    body: bytes
    socket_status: int
    raw: RawResponse | None = field(default=None, repr=False)

    def __iter__(self) -> Iterator[object]:
        return iter((self.status, self.headers, self.body))

    def json(self) -> object:
        return json.loads(self.body)


def map_gateway_response(raw: RawResponse) -> HttpResult:
    """Map a socket response to what an API Gateway client gets (502/504 bodies replaced, as OCI does).

    Socket 200: status from ``Fn-Http-Status``, headers from ``Fn-Http-H-*`` plus ``Content-Type``
    and ``Fn-Call-Id``; everything else is dropped. Socket 502/504 (and anything else the agent
    would treat as a failure): the function's body and headers are thrown away.
    """
    if raw.status == 504:
        return HttpResult(504, {"content-type": "application/json"}, TIMED_OUT_BODY, raw.status, raw)
    if raw.status != 200:
        return HttpResult(502, {"content-type": "application/json"}, FUNCTION_FAILED_BODY, raw.status, raw)
    headers: dict[str, str] = {}
    for name, value in raw.headers:
        if name.startswith(HTTP_PREFIX):
            headers[name[len(HTTP_PREFIX):]] = value
    for name in ("content-type", "fn-call-id"):
        value = raw.header(name)
        if value is not None:
            headers[name] = value
    status_text = raw.header("fn-http-status")
    status = int(status_text) if status_text and status_text.isdigit() else 200
    return HttpResult(status, headers, raw.body, raw.status, raw)


def map_invoke_response(raw: RawResponse) -> HttpResult:
    """``fn invoke``'s view: the socket status and headers as sent (minus fdk bookkeeping)."""
    headers = {name: value for name, value in raw.headers if name not in _FDK_ONLY_HEADERS}
    return HttpResult(raw.status, headers, raw.body, raw.status, raw)


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def _split_content_type(
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None,
) -> tuple[list[tuple[str, str]], str | None]:
    pairs = list(headers.items() if isinstance(headers, Mapping) else (headers or []))
    content_type = None
    for name, value in pairs:
        if name.lower() == "content-type":
            content_type = value
    return pairs, content_type


def http_request_bytes(
    method: str,
    path_and_query: str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None,
    body: bytes | str,
    deadline_s: float,
    call_id: str | None,
    request_id: str | None,
) -> bytes:
    pairs, content_type = _split_content_type(headers)
    fn_headers = http_call_headers(
        method,
        path_and_query,
        pairs,
        body_content_type=content_type,
        deadline_s=deadline_s,
        call_id=call_id or new_call_id(),
        request_id=request_id or secrets.token_hex(16),
    )
    return build_call_request(fn_headers, _as_bytes(body))


def invoke_request_bytes(
    body: bytes | str,
    content_type: str | None,
    deadline_s: float,
    intent: str | None,
    call_id: str | None,
    request_id: str | None,
    invoke_type: str = "sync",
) -> bytes:
    fn_headers = invoke_call_headers(
        content_type=content_type,
        deadline_s=deadline_s,
        call_id=call_id or new_call_id(),
        request_id=request_id or secrets.token_hex(16),
        intent=intent,
        invoke_type=invoke_type,
    )
    return build_call_request(fn_headers, _as_bytes(body))
