"""OCI request signing as an ``httpx.Auth``, for sync and async clients alike.

``auth_flow`` is a plain generator with no I/O of its own, which httpx drives from both
``Client`` and ``AsyncClient``. It signs each request with the credentials' current key
and, when OCI answers 401 and the credentials were able to reload something
(a rotated resource-principal token), signs again with a fresh date and retries once.
A second 401 goes back to the caller unchanged.
"""

from __future__ import annotations

from typing import Generator

import httpx

from core.oci.credentials import Credentials
from core.oci.signing import sign_request


class OCIAuth(httpx.Auth):
    """Signs requests with OCI HTTP signatures; one retry after a 401 that a refresh may fix."""

    requires_request_body = True  # the body is hashed into x-content-sha256

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        sign_request(request, self.credentials.signing_key())
        response = yield request
        if response.status_code == 401 and self.credentials.refresh():
            sign_request(request, self.credentials.signing_key())
            yield request

    def __repr__(self) -> str:
        return f"OCIAuth({self.credentials!r})"
