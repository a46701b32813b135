"""Can this process reach an OCI endpoint? Name resolution, then the TCP connection and TLS handshake, each timed.

The doctor reports which step failed, because each has a different fix (a wrong region or no DNS; no route or a
firewall; a proxy that intercepts TLS). The TLS handshake trusts the same CA bundle as the OCI client.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

DNS = "dns"
CONNECT = "connect"
TLS = "tls"
TIMEOUT = "timeout"


@dataclass(frozen=True)
class Probe:
    """What reaching ``host:port`` took; ``failure`` names the step that failed (None: reachable)."""

    host: str
    port: int
    dns_ms: float | None = None
    connect_ms: float | None = None
    failure: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.failure is None


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


async def _resolve(host: str, port: int, timeout: float) -> tuple[str, float]:
    start = time.perf_counter()
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout)
    return str(infos[0][4][0]), _ms(start)


async def _connect(address: str, host: str, port: int, secure: bool, timeout: float) -> float:
    start = time.perf_counter()
    context = None
    if secure:
        import httpx

        context = httpx.create_ssl_context()
    _, writer = await asyncio.wait_for(
        asyncio.open_connection(address, port, ssl=context, server_hostname=host if secure else None), timeout)
    elapsed = _ms(start)
    writer.close()
    try:
        await writer.wait_closed()
    except (OSError, ssl.SSLError):
        pass
    return elapsed


async def probe(url: str, *, timeout: float = 5.0) -> Probe:
    """Resolve and connect to ``url``'s host (TLS for https); never raises."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    try:
        address, dns_ms = await _resolve(host, port, timeout)
    except (socket.gaierror, UnicodeError) as exc:
        return Probe(host, port, failure=DNS, detail=str(exc) or type(exc).__name__)
    except TimeoutError:
        return Probe(host, port, failure=DNS, detail=f"no answer from DNS within {timeout:g} s")
    try:
        connect_ms = await _connect(address, host, port, secure, timeout)
    except ssl.SSLError as exc:
        return Probe(host, port, dns_ms, failure=TLS, detail=getattr(exc, "verify_message", None) or exc.reason
                     or type(exc).__name__)
    except TimeoutError:
        return Probe(host, port, dns_ms, failure=TIMEOUT, detail=f"no connection within {timeout:g} s")
    except OSError as exc:
        return Probe(host, port, dns_ms, failure=CONNECT, detail=exc.strerror or type(exc).__name__)
    return Probe(host, port, dns_ms, connect_ms)
