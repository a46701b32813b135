"""The one HTTP client to OCI: pooled, signed, deadline-aware, and the only place that retries.

* One ``httpx.AsyncClient`` per event loop (:mod:`core.runtime` keeps them), reused across
  invocations, over httpx's own transport (:mod:`core.oci.transport`).
* Every request is signed by :class:`core.oci.auth.OCIAuth` (which re-signs once after
  a 401 with refreshed credentials).
* :meth:`OCIClient._attempt` sends once and returns an outcome; :meth:`OCIClient._call` applies
  :mod:`core.oci.retry` around it, with backoff honouring ``Retry-After`` and never past the
  caller's deadline. Nothing else in the code base retries.
* The client reports what happened (an answer's status, headers and body, or a transport failure)
  as :class:`UpstreamError`; it knows nothing of models or OpenAI errors: callers map failures
  (:mod:`core.oci.failures`).
* A caller may send a *changed* request after an answer (e.g. a parameter dropped after a 400): that
  is a new call, with its own attempts, not a retry.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Mapping

import httpx

from core import logs
from core.oci import retry
from core.jsonio import dumps, loads
from core.oci.transport import LIMITS, MAX_RESPONSE_HEAD_BYTES, build_transports
from core.settings import Settings

GENAI = "OCI Generative AI"
CONNECT_TIMEOUT_SECONDS = 10.0
MIN_ATTEMPT_SECONDS = 0.05
PARSED_URLS_KEPT = 256


def new_request_id() -> str:
    """An ``opc-request-id`` in OCI's style (32 upper-case hex characters)."""
    return uuid.uuid4().hex.upper()


class UpstreamError(Exception):
    """A call to OCI that ended without a usable answer, after the retry rule was applied."""

    def __init__(self, message: str, *, service: str, attempts: int) -> None:
        super().__init__(message)
        self.message = message
        self.service = service
        self.attempts = attempts


class UpstreamStatus(UpstreamError):
    """OCI answered with a status the caller did not list as an answer."""

    def __init__(self, status: int, body: bytes, headers: httpx.Headers, request_id: str, *, service: str,
                 attempts: int, retryable: bool) -> None:
        super().__init__(f"{service} answered HTTP {status}", service=service, attempts=attempts)
        self.status = status
        self.body = body
        self.headers = headers
        self.request_id = request_id
        self.retryable = retryable
        """Whether the retry rule allowed sending the same request again (the budget or deadline ran out)."""

    @property
    def retry_after(self) -> str | None:
        return self.headers.get("retry-after")


class UpstreamUnreachable(UpstreamError):
    """No complete answer: the connection failed or timed out (``reason`` is safe to show)."""

    def __init__(self, reason: str, *, timed_out: bool, service: str, attempts: int) -> None:
        super().__init__(f"{service} could not be reached or broke off ({reason})", service=service,
                         attempts=attempts)
        self.reason = reason
        self.timed_out = timed_out


class UpstreamRefused(UpstreamError):
    """The request could not be sent at all (e.g. a header value with a CR/LF); nothing left the process."""


class UpstreamOutOfTime(UpstreamError):
    """The caller's deadline (or the call's budget) left no time for (another) attempt."""


def describe(error: Exception) -> str:
    """A transport failure in words that carry no address or data: its type, and a limit it hit."""
    name = type(error).__name__
    if isinstance(error, httpx.RemoteProtocolError) and "Receive buffer too long" in str(error):
        return f"{name}: response headers over the {MAX_RESPONSE_HEAD_BYTES // 1024} KiB limit"
    return name


@dataclass
class UpstreamResponse:
    """An OCI answer the caller accepts (2xx, or a status it listed)."""

    status: int
    headers: httpx.Headers
    body: bytes
    request_id: str

    def json(self) -> Any:
        return loads(self.body)


@dataclass(frozen=True)
class _Request:
    """One logical request: what every attempt sends."""

    method: str
    url: str
    content: bytes | None
    headers: dict[str, str]
    finish_by: float | None
    """Epoch seconds by which every attempt and wait must be over (the deadline less its margin, or a budget)."""
    service: str
    ok_statuses: tuple[int, ...]
    stream: bool
    answered: Callable[[], None] | None = None
    """Called when an attempt's accepted status arrives, before its body is read (a concurrency slot frees)."""

    @property
    def request_id(self) -> str:
        return self.headers["opc-request-id"]

    def accepts(self, status: int) -> bool:
        return 200 <= status < 300 or status in self.ok_statuses


@dataclass
class _Outcome:
    """What one attempt got: an answer (body read, or left open for a stream) or a transport failure."""

    status: int = 0
    headers: httpx.Headers = field(default_factory=httpx.Headers)
    body: bytes = b""
    request_id: str = ""
    response: httpx.Response | None = None
    error: Exception | None = None


class OCIClient:
    """Signed, retrying calls to OCI services for one event loop."""

    def __init__(self, settings: Settings, credentials: Any, *, transport: httpx.AsyncBaseTransport | None = None,
                 limits: httpx.Limits = LIMITS, sleep: Any = asyncio.sleep) -> None:
        from core.oci.auth import OCIAuth

        self.settings = settings
        self.credentials = credentials
        self._sleep = sleep
        self._urls: dict[str, httpx.URL] = {}
        """Parsed URLs by text: parsing one costs httpx about 70 µs, and a warm function calls the same few."""
        mounts = None
        if transport is None:
            transport, mounts = build_transports(limits)
        self._http = httpx.AsyncClient(
            auth=OCIAuth(credentials),
            transport=transport,
            mounts=mounts,
            # Never advertise zstd/br upstream: the runtime has no decoder for them.
            headers={"accept-encoding": "gzip, deflate", "user-agent": "oci-genai-gateway/0.1"},
            timeout=httpx.Timeout(settings.oci_timeout_seconds, connect=CONNECT_TIMEOUT_SECONDS),
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(self, method: str, url: str, **kwargs: Any) -> UpstreamResponse:
        """Send one logical request with retries; an answer outside 2xx and ``ok_statuses`` raises.

        ``ok_statuses`` lists non-2xx statuses the caller handles itself (e.g. 304/404/412 for
        conditional Object Storage reads). ``answered`` is called as soon as an accepted status arrives, with
        the body still to come. Failures raise :class:`UpstreamError`.
        """
        outcome = await self._call(self._prepare(method, url, stream=False, **kwargs))
        return UpstreamResponse(outcome.status, outcome.headers, outcome.body, outcome.request_id)

    async def open_stream(self, method: str, url: str, **kwargs: Any) -> "UpstreamStream":
        """Like :meth:`request`, but returns once an accepted status arrives, with the body still to be read.

        Retries happen only before the first byte; the caller must ``aclose()`` the stream.
        """
        outcome = await self._call(self._prepare(method, url, stream=True, **kwargs))
        assert outcome.response is not None
        return UpstreamStream(outcome.response, outcome.request_id)

    def _prepare(self, method: str, url: str, *, stream: bool, json_body: Any = None, content: bytes | None = None,
                 headers: Mapping[str, str] | None = None, deadline: float | None = None,
                 budget: float | None = None, request_id: str | None = None, service: str = GENAI,
                 ok_statuses: tuple[int, ...] = (), accept: str = "application/json",
                 answered: Callable[[], None] | None = None) -> _Request:
        """``deadline``: the invocation's end (epoch seconds); ``budget``: seconds this call may take in all."""
        if json_body is not None:
            content = dumps(json_body)
        send_headers = {"opc-request-id": request_id or new_request_id(), "accept": accept}
        if content is not None:
            send_headers["content-type"] = "application/json"
        send_headers.update(headers or {})
        ends = [deadline - self.settings.deadline_margin_seconds] if deadline is not None else []
        if budget is not None:
            ends.append(time.time() + budget)
        return _Request(method.upper(), url, content, send_headers, min(ends, default=None), service, ok_statuses,
                        stream, answered)

    async def _call(self, request: _Request) -> _Outcome:
        """Attempts until one is accepted or the retry rule, the budget or the deadline says stop."""
        attempt = 0
        while True:
            outcome = await self._attempt(request, attempt)
            if outcome.error is None and request.accepts(outcome.status):
                return outcome
            retryable = self._retryable(request, outcome)
            wait = self._wait_before_retry(request, outcome, attempt) if retryable else None
            if wait is None:
                raise _failure(request, outcome, attempts=attempt + 1, retryable=retryable)
            logs.log_event("upstream_retry", logging.INFO, service=request.service, status=outcome.status,
                           error=describe(outcome.error) if outcome.error else None, attempt=attempt + 1,
                           wait_ms=round(wait * 1000))
            attempt += 1
            await self._sleep(wait)

    @staticmethod
    def _retryable(request: _Request, outcome: _Outcome) -> bool:
        if outcome.error is not None:
            return retry.error_retryable(request.method, outcome.error)
        return retry.status_retryable(request.method, outcome.status)

    def _wait_before_retry(self, request: _Request, outcome: _Outcome, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None when the budget or the deadline is spent."""
        if attempt >= self.settings.oci_max_retries:
            return None
        wait = retry.backoff_delay(attempt, retry.parse_retry_after(outcome.headers.get("retry-after")))
        if request.finish_by is not None and time.time() + wait + 0.1 > request.finish_by:
            return None
        return wait

    def _attempt_timeout(self, request: _Request, attempts: int) -> float:
        """Seconds the next attempt may take, or raise when the deadline leaves no room."""
        limit = self.settings.oci_timeout_seconds
        if request.finish_by is None:
            return limit
        remaining = request.finish_by - time.time()
        if remaining <= MIN_ATTEMPT_SECONDS:
            raise UpstreamOutOfTime(f"the deadline left no time to call {request.service}", service=request.service,
                                    attempts=attempts)
        return min(limit, remaining)

    def _parsed(self, url: str) -> httpx.URL:
        found = self._urls.get(url)
        if found is None:
            if len(self._urls) >= PARSED_URLS_KEPT:
                self._urls.clear()
            found = self._urls[url] = httpx.URL(url)
        return found

    async def _attempt(self, request: _Request, attempt: int) -> _Outcome:
        """Send the request once; read the body unless it is an accepted stream."""
        timeout = self._attempt_timeout(request, attempt)
        try:
            outgoing = self._http.build_request(
                request.method, self._parsed(request.url), content=request.content, headers=request.headers,
                timeout=httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT_SECONDS, timeout)))
        except (UnicodeEncodeError, ValueError, httpx.InvalidURL):
            raise UpstreamRefused(f"the request to {request.service} has a header or URL that is not valid HTTP",
                                  service=request.service, attempts=attempt) from None
        watch = logs.Stopwatch()
        try:
            response = await self._http.send(outgoing, stream=True)
        except httpx.RequestError as exc:  # transport failures, and a body that fails to decode
            return _Outcome(error=exc)
        request_id = response.headers.get("opc-request-id", request.request_id)
        logs.log_event("upstream", logging.DEBUG, service=request.service, status=response.status_code,
                       latency_ms=watch.ms(), attempt=attempt, opc_request_id=request_id)
        if request.answered is not None and request.accepts(response.status_code):
            request.answered()
        if request.stream and request.accepts(response.status_code):
            return _Outcome(response.status_code, response.headers, request_id=request_id, response=response)
        try:
            body = await response.aread()
        except httpx.RequestError as exc:  # transport failures, and a body that fails to decode
            return _Outcome(response.status_code, response.headers, request_id=request_id, error=exc)
        finally:
            await response.aclose()
        return _Outcome(response.status_code, response.headers, body, request_id)


def _failure(request: _Request, outcome: _Outcome, *, attempts: int, retryable: bool) -> UpstreamError:
    """The exception that reports a final outcome."""
    error = outcome.error
    if error is None:
        return UpstreamStatus(outcome.status, outcome.body, outcome.headers, outcome.request_id,
                              service=request.service, attempts=attempts, retryable=retryable)
    if isinstance(error, retry.REFUSED_LOCALLY):
        return UpstreamRefused(f"the request to {request.service} is not valid HTTP ({describe(error)})",
                               service=request.service, attempts=attempts)
    return UpstreamUnreachable(describe(error), timed_out=isinstance(error, httpx.TimeoutException),
                               service=request.service, attempts=attempts)


class StreamBroken(Exception):
    """The connection failed while a streamed answer was being read; the message names the failure's type."""


class UpstreamStream:
    """An open streaming answer from OCI. Iterate :meth:`chunks`; always :meth:`aclose`."""

    def __init__(self, response: httpx.Response, request_id: str) -> None:
        self.response = response
        self.request_id = request_id
        self.status = response.status_code
        self.headers = response.headers

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives, content-decoded (gzip/deflate); a broken connection raises :class:`StreamBroken`."""
        try:
            async for chunk in self.response.aiter_bytes():
                yield chunk
        except httpx.HTTPError as exc:
            raise StreamBroken(describe(exc)) from None

    async def aclose(self) -> None:
        await self.response.aclose()
