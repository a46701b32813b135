"""OCI request signing as an ``httpx.Auth``, for sync and async clients alike.

Both flows sign each request with the credentials' current key and, when OCI answers 401 and
the credentials were able to reload something (a rotated resource-principal token), sign again
with a fresh date and send once more. A second 401 goes back to the caller unchanged.

The async flow (the gateway's) never blocks the event loop on credentials: when a key is due for
renewal (an instance-principal or workload-identity token exchange over the network, a
resource-principal file re-read under a lock) or a 401 asks for a refresh, the work runs in a
worker thread, and concurrent requests on the loop wait for that one run instead of starting
their own. A key that needs nothing is read inline (no thread hop on the hot path).
"""

from __future__ import annotations

import asyncio
from typing import AsyncGenerator, Callable, Generator, TypeVar

import httpx

from core.oci.credentials import Credentials
from core.oci.signing import SigningKey, sign_request

T = TypeVar("T")


class OCIAuth(httpx.Auth):
    """Signs requests with OCI HTTP signatures; one retry after a 401 that a refresh may fix."""

    requires_request_body = True  # the body is hashed into x-content-sha256

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        self._running: dict[str, asyncio.Future[object]] = {}
        """The credential work in flight on this client's loop, by kind ("key", "refresh")."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        sign_request(request, self.credentials.signing_key())
        response = yield request
        if response.status_code == 401 and self.credentials.refresh():
            sign_request(request, self.credentials.signing_key())
            yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        sign_request(request, await self._signing_key())
        response = yield request
        if response.status_code == 401 and await self._shared("refresh", self.credentials.refresh):
            sign_request(request, await self._signing_key())
            yield request

    async def _signing_key(self) -> SigningKey:
        if refresh_due(self.credentials):
            return await self._shared("key", self.credentials.signing_key)
        return self.credentials.signing_key()

    async def _shared(self, kind: str, work: Callable[[], T]) -> T:
        """``work()`` in a worker thread, one run at a time per kind; concurrent callers await the same run."""
        running = self._running.get(kind)
        if running is None:
            running = asyncio.ensure_future(asyncio.to_thread(work))
            self._running[kind] = running
            running.add_done_callback(lambda done: self._finished(kind, done))
        return await asyncio.shield(running)  # type: ignore[return-value]

    def _finished(self, kind: str, done: asyncio.Future[object]) -> None:
        self._running.pop(kind, None)
        if not done.cancelled():
            done.exception()  # retrieved here too: every waiter may have been cancelled

    def __repr__(self) -> str:
        return f"OCIAuth({self.credentials!r})"


def refresh_due(credentials: Credentials) -> bool:
    """Whether reading the key now would renew it (network or file work); False for fixed keys."""
    due = getattr(credentials, "refresh_due", None)
    return bool(due()) if due is not None else False
