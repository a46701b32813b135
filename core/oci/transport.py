"""The connections under the OCI client: httpx's own transport (httpcore), configured, plus one guard.

* ``httpx.AsyncHTTPTransport(limits=LIMITS, retries=0)``: a capped pool whose idle connections expire
  after :data:`KEEPALIVE_EXPIRY_SECONDS` (a connection a middlebox dropped silently is never reused
  later than that), and no transport-level retries: :mod:`core.oci.retry` alone decides what is re-sent.
* Proxies come from the environment exactly as httpx reads it (``HTTPS_PROXY``, ``HTTP_PROXY``,
  ``ALL_PROXY``, ``NO_PROXY``), each through httpx's own proxy transport with the same limits.
  httpx ignores the environment whenever a transport is passed in, so the mounts are built here.
* The guard: httpcore hands a connection back to the pool once a response is complete even when more
  bytes already arrived behind it (a second response in the same read, a body longer than its
  ``Content-Length``), and the next request on that connection would read them as its own answer.
  :func:`install_stray_bytes_guard` closes such a connection instead.

* Reads: httpcore asks for at most 64 KiB per read, and anyio splits (copying the rest each time) the up to
  256 KiB asyncio hands it; an embeddings answer is about 2 MB (96 x 1,536 numbers), so
  :func:`install_read_size` lets one read take what asyncio has (:data:`READ_BYTES`): 7 reads instead of 29.

Response headers are bounded by httpcore (100 KiB: :data:`MAX_RESPONSE_HEAD_BYTES`), header values
are validated by h11 before anything is written, and a ``1xx`` interim answer is skipped by h11.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpcore
import httpx

KEEPALIVE_EXPIRY_SECONDS = 20.0
LIMITS = httpx.Limits(max_connections=64, max_keepalive_connections=16, keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS)
MAX_RESPONSE_HEAD_BYTES = 100 * 1024
"""httpcore's cap on an incomplete HTTP/1.1 event (a response head larger than this fails)."""
READ_BYTES = 1024 * 1024
"""The most one read of a response takes (asyncio's socket transport reads at most 256 KiB at a time)."""


def build_transports(limits: httpx.Limits = LIMITS) -> tuple[httpx.AsyncHTTPTransport,
                                                              dict[str, httpx.AsyncHTTPTransport | None]]:
    """The direct pool, and httpx mount patterns for the environment's proxies (``None``: a ``NO_PROXY``
    host, sent directly). Every pool shares one TLS context (trust store per ``SSL_CERT_FILE`` as httpx reads it)."""
    from httpx._utils import get_environment_proxies

    install_stray_bytes_guard()
    install_read_size()
    tls = httpx.create_ssl_context()
    direct = _pool(limits, tls)
    mounts = {pattern: None if url is None else _pool(limits, tls, url)
              for pattern, url in get_environment_proxies().items()}
    return direct, mounts


def _pool(limits: httpx.Limits, tls: ssl.SSLContext, proxy: str | None = None) -> httpx.AsyncHTTPTransport:
    """One pool (direct, or through ``proxy``) that never retries on its own."""
    return httpx.AsyncHTTPTransport(verify=tls, limits=limits, retries=0, proxy=proxy)


def _has_stray_bytes(connection: Any) -> bool:
    """Bytes received past the end of the response just completed (h11's ``trailing_data``)."""
    data, _closed = connection._h11_state.trailing_data
    return bool(data)


def install_stray_bytes_guard() -> None:
    """Make httpcore close, not reuse, an HTTP/1.1 connection that holds bytes past a finished response."""
    connection_class = httpcore.AsyncHTTP11Connection
    release = connection_class._response_closed
    if getattr(release, "stray_bytes_guard", False):
        return

    async def _response_closed(self: Any) -> None:
        if _has_stray_bytes(self):
            await self.aclose()
            return
        await release(self)

    _response_closed.stray_bytes_guard = True  # type: ignore[attr-defined]
    connection_class._response_closed = _response_closed  # type: ignore[method-assign]


def install_read_size() -> None:
    """Let each httpcore read of an HTTP/1.1 response take up to :data:`READ_BYTES`."""
    httpcore.AsyncHTTP11Connection.READ_NUM_BYTES = READ_BYTES
