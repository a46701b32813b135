"""The one HTTP client to OCI: pooled, signed, deadline-aware, and the only place that retries.

* One ``httpx.AsyncClient`` per event loop (:mod:`core.runtime` keeps them), reused across
  invocations: a warm function keeps its connections to OCI open.
* Every request is signed by :class:`core.oci.auth.OCIAuth` (which re-signs once after
  a 401 with refreshed credentials).
* Retries on 429, 5xx (not 501) and connection failures, with exponential backoff
  and full jitter, honouring ``Retry-After``, and never past the caller's deadline.
  Nothing else in the code base retries.
* Timeouts derive from the invocation deadline, so the gateway answers with its
  own error before the platform kills the call.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any, AsyncIterator, Mapping

import httpx

from core import logs
from core.errors import SERVER, TIMEOUT, APIError, ConfigError, config_error, from_upstream
from core.settings import Settings

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_BACKOFF_BASE = 0.25
_BACKOFF_CAP = 8.0


def new_request_id() -> str:
    """An ``opc-request-id`` in OCI's style (32 upper-case hex characters)."""
    return uuid.uuid4().hex.upper()


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_delay(attempt: int, retry_after: float | None, rng: random.Random = random._inst) -> float:  # type: ignore[attr-defined]
    """Full-jitter exponential backoff; ``Retry-After`` sets the floor."""
    delay = rng.uniform(0, min(_BACKOFF_CAP, _BACKOFF_BASE * (2 ** attempt)))
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


@dataclass
class UpstreamResponse:
    """A successful (2xx) OCI answer."""

    status: int
    headers: httpx.Headers
    body: bytes
    request_id: str

    def json(self) -> Any:
        import json

        return json.loads(self.body)


class OCIClient:
    """Signed, retrying calls to OCI services for one event loop."""

    def __init__(self, settings: Settings, credentials: Any, *, transport: httpx.AsyncBaseTransport | None = None,
                 sleep: Any = asyncio.sleep) -> None:
        from core.oci.auth import OCIAuth

        self.settings = settings
        self.credentials = credentials
        self._sleep = sleep
        if transport is None:
            from core.oci.http11 import Transport

            transport = Transport()
        self._http = httpx.AsyncClient(
            auth=OCIAuth(credentials),
            transport=transport,
            # Never advertise zstd/br upstream: the runtime has no decoder for them.
            headers={"accept-encoding": "gzip, deflate", "user-agent": "oci-genai-gateway/0.1"},
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=16, keepalive_expiry=60),
            timeout=httpx.Timeout(settings.oci_timeout_seconds, connect=10.0),
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def _attempt_timeout(self, deadline: float | None) -> float:
        """Seconds the next attempt may take, or raise when the deadline leaves no room."""
        limit = self.settings.oci_timeout_seconds
        if deadline is None:
            return limit
        remaining = deadline - time.time() - self.settings.deadline_margin_seconds
        if remaining <= 0.05:
            raise APIError(503, "The request ran out of time before OCI answered; try again or raise the "
                                "function timeout.", type=TIMEOUT, code="deadline_exceeded")
        return min(limit, remaining)

    async def request(self, method: str, url: str, **kwargs: Any) -> UpstreamResponse:
        """Send one logical request with retries; a non-2xx final answer raises :class:`APIError`.

        ``ok_statuses`` lists non-2xx statuses the caller handles itself (e.g. 304/404/412 for
        conditional Object Storage reads); they are returned instead of raised.
        """
        result = await self._send(method, url, stream=False, **kwargs)
        assert isinstance(result, UpstreamResponse)
        return result

    async def open_stream(self, method: str, url: str, **kwargs: Any) -> "UpstreamStream":
        """Like :meth:`request`, but returns once a 2xx status arrives, with the body still to be read.

        Retries happen only before the first byte; the caller must ``aclose()`` the stream. A status in
        ``ok_statuses`` (e.g. 404/412 for a conditional read) also comes back as a stream: check ``.status``.
        """
        result = await self._send(method, url, stream=True, **kwargs)
        assert isinstance(result, UpstreamStream)
        return result

    async def _send(
        self,
        method: str,
        url: str,
        *,
        stream: bool,
        json_body: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        deadline: float | None = None,
        request_id: str | None = None,
        model: str | None = None,
        known_model: bool = True,
        service: str = "OCI Generative AI",
        ok_statuses: tuple[int, ...] = (),
        accept: str = "application/json",
    ) -> "UpstreamResponse | UpstreamStream":
        if json_body is not None:
            import json

            content = json.dumps(json_body, ensure_ascii=False, separators=(",", ":")).encode()
        send_headers = {"opc-request-id": request_id or new_request_id(), "accept": accept}
        if content is not None:
            send_headers["content-type"] = "application/json"
        send_headers.update(headers or {})
        attempt = 0
        while True:
            timeout = self._attempt_timeout(deadline)
            watch = logs.Stopwatch()
            try:
                outgoing = self._http.build_request(method, url, content=content, headers=send_headers,
                                                    timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)))
                response = await self._http.send(outgoing, stream=True)
            except httpx.TimeoutException:
                raise APIError(503, f"{service} did not answer in time ({timeout:.0f} s).", type=TIMEOUT,
                               code="upstream_timeout") from None
            except httpx.TransportError as exc:
                retry_after = None
                failure: APIError | None = APIError(
                    503, f"Could not reach {service} ({type(exc).__name__}).", type=SERVER, code="upstream_unreachable"
                )
                status = 0
            except ConfigError as exc:  # credentials failed to load/refresh while signing
                raise config_error(exc) from None
            else:
                status = response.status_code
                upstream_id = response.headers.get("opc-request-id", send_headers["opc-request-id"])
                logs.log_event("upstream", logging.DEBUG, service=service, status=status, latency_ms=watch.ms(),
                               attempt=attempt, opc_request_id=upstream_id)
                if stream and (200 <= status < 300 or status in ok_statuses):
                    return UpstreamStream(response, upstream_id)
                try:
                    body = await response.aread()
                except httpx.TimeoutException:
                    raise APIError(503, f"{service} did not finish answering in time ({timeout:.0f} s).",
                                   type=TIMEOUT, code="upstream_timeout") from None
                except httpx.TransportError as exc:
                    raise APIError(503, f"{service} broke off its answer ({type(exc).__name__}).", type=SERVER,
                                   code="upstream_unreachable") from None
                finally:
                    await response.aclose()
                if 200 <= status < 300 or status in ok_statuses:
                    return UpstreamResponse(status, response.headers, body, upstream_id)
                retry_after = response.headers.get("retry-after")
                failure = None
                if status not in RETRY_STATUSES:
                    raise from_upstream(status, body, retry_after=retry_after, request_id=upstream_id,
                                        known_model=known_model, model=model, service=service)
            # A retryable failure: back off if budget and deadline allow.
            wait = backoff_delay(attempt, parse_retry_after(retry_after))
            out_of_time = deadline is not None and (
                time.time() + wait + 0.1 > deadline - self.settings.deadline_margin_seconds
            )
            if attempt >= self.settings.oci_max_retries or out_of_time:
                if failure is not None:
                    raise failure
                error = from_upstream(status, body, retry_after=retry_after, request_id=upstream_id,
                                      known_model=known_model, model=model, service=service)
                if status >= 500 and status != 503:
                    error.headers.setdefault("x-should-retry", "false")  # we already retried
                raise error
            logs.log_event("upstream_retry", logging.INFO, service=service, status=status, attempt=attempt + 1,
                           wait_ms=round(wait * 1000))
            attempt += 1
            await self._sleep(wait)


class StreamBroken(Exception):
    """The connection failed while a streamed answer was being read; the message names the failure's type."""


class UpstreamStream:
    """An open 2xx streaming answer from OCI. Iterate :meth:`chunks`; always :meth:`aclose`."""

    def __init__(self, response: httpx.Response, request_id: str) -> None:
        self.response = response
        self.request_id = request_id
        self.status = response.status_code
        self.headers = response.headers

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives; a broken connection raises :class:`StreamBroken`."""
        try:
            async for chunk in self.response.aiter_raw():
                yield chunk
        except httpx.HTTPError as exc:
            raise StreamBroken(type(exc).__name__) from None

    async def aclose(self) -> None:
        await self.response.aclose()
