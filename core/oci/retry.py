"""When a call to OCI is sent again, and after how long: the one retry rule of the code base.

A request is re-sent only when OCI cannot have acted on it, or when acting twice is harmless:

* ``GET``/``HEAD`` (Object Storage reads, Vault): after 429, 500, 502, 503, 504 and after any
  transport failure except one raised before sending (an invalid header value).
* Every other method (chat, embeddings, PUT, DELETE): after 429, 502 or 503, or when the request never
  reached OCI: ``ConnectError``, ``ConnectTimeout``, ``PoolTimeout``, ``ProxyError``. Never after
  ``ReadError``, ``ReadTimeout``, ``WriteError`` or ``RemoteProtocolError`` (OCI may have received it and
  be generating), nor after 500 or 504 (the generation may have run and been billed).

Waits are full-jitter exponential backoff with ``Retry-After`` as the floor; the loop in
:mod:`core.oci.client` also stops when the next attempt could not finish before the caller's deadline.
"""

from __future__ import annotations

import email.utils
import random
import time

import httpx

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD"})
IDEMPOTENT_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RESEND_STATUSES = frozenset({429, 502, 503})
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)
"""Failures that happen before OCI received a byte of the request: safe to send again, whatever the method."""
REFUSED_LOCALLY = (httpx.LocalProtocolError, httpx.UnsupportedProtocol)
"""The request itself is malformed (e.g. a CR/LF in a header value): sending it again cannot help."""

BACKOFF_BASE_SECONDS = 0.25
BACKOFF_CAP_SECONDS = 8.0


def status_retryable(method: str, status: int) -> bool:
    """Whether an answer with ``status`` lets the same request go out again."""
    return status in (IDEMPOTENT_RETRY_STATUSES if method in IDEMPOTENT_METHODS else RESEND_STATUSES)


def error_retryable(method: str, error: Exception) -> bool:
    """Whether a transport failure lets the same request go out again."""
    if isinstance(error, REFUSED_LOCALLY):
        return False
    return method in IDEMPOTENT_METHODS or isinstance(error, NOT_SENT_ERRORS)


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
    delay = rng.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * (2 ** attempt)))
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay
