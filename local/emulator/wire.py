"""The emulator's own request/response values and OCI's error shape.

Service modules (``genai``, later Object Storage) take an :class:`EmuRequest` and return an
:class:`EmuResponse`; only ``server`` speaks ASGI. A response either has a complete ``body`` or
an async ``stream`` of chunks (room for SSE without touching the handlers' contract).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Mapping

AUTH_FAILED_MESSAGE = "The required information to complete authentication was not provided or was incorrect."
SECRET_HEADERS = frozenset({"authorization", "x-security-token", "opc-obo-token"})


@dataclass
class EmuRequest:
    """One HTTP request as the emulator sees it. Header names are lower-case."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    json: Any = None
    params: dict[str, str] = field(default_factory=dict)  # filled by the route's path pattern
    # Told (chunks sent, chunks total) while a streamed response is written; set by the server.
    on_stream: Callable[[int, int], None] | None = None

    @property
    def target(self) -> str:
        """``(request-target)`` path part: raw path plus ``?query`` exactly as sent."""
        return f"{self.path}?{self.query}" if self.query else self.path

    @property
    def request_id(self) -> str:
        """The caller's ``opc-request-id``, else a fresh one in OCI's upper-hex style."""
        rid = self.headers.get("opc-request-id")
        if not rid:
            rid = uuid.uuid4().hex.upper()
            self.headers["opc-request-id"] = rid
        return rid

    def __repr__(self) -> str:
        return f"EmuRequest({self.method} {self.target}, {len(self.body)} bytes)"


@dataclass
class EmuResponse:
    """A response to send. ``stream`` (if set) is sent chunk by chunk instead of ``body``."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    stream: AsyncIterator[bytes] | None = None

    @classmethod
    def json(cls, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> "EmuResponse":
        data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return cls(status, data, {"content-type": "application/json", **(headers or {})})


class OciError(Exception):
    """Raised by service code to answer with OCI's error shape; ``server`` turns it into a response."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self, headers: Mapping[str, str] | None = None) -> "EmuResponse":
        return oci_error(self.status, self.code, self.message, headers)


class NotFound(OciError):
    """OCI's 404 for anything the caller may not see or that does not exist."""

    def __init__(self, what: str) -> None:
        message = f"Authorization failed or requested resource not found: {what}."
        super().__init__(404, "NotAuthorizedOrNotFound", message)


def oci_error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> EmuResponse:
    """OCI's error body: exactly ``{"code", "message"}`` (what the SDK's ServiceError reads)."""
    return EmuResponse.json(status, {"code": code, "message": message}, headers)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers safe to print or serve over the control API."""
    return {k: ("<redacted>" if k in SECRET_HEADERS else v) for k, v in headers.items()}
