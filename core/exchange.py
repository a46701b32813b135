"""Transport-neutral request and response values.

Adapters (the fdk entry point in ``func.py``, the local streaming server, an AWS
Lambda adapter) convert whatever they receive into a :class:`Request` and send a
:class:`Response` back; handlers see nothing else, so the same handler serves every
way in.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Iterable, Iterator, Mapping
from urllib.parse import parse_qsl

from core.jsonio import dumps

# How a call reached the function.
HTTP = "http"  # an HTTP request (API Gateway, the local front): method, path, headers are meaningful
INVOKE = "invoke"  # a raw body with no HTTP intent (`fn invoke`, OCI Events): routed by its shape


class Headers(Mapping[str, str]):
    """Case-insensitive, single-valued headers (the fdk collapses duplicates anyway)."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None) -> None:
        self._items: dict[str, str] = {}
        if items is None:
            return
        pairs = items.items() if isinstance(items, Mapping) else items
        for key, value in pairs:
            if isinstance(value, (list, tuple)):  # the fdk merges same-named headers into lists
                value = value[-1] if value else ""
            self._items[str(key).lower()] = str(value)

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._items

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return self._items.get(key.lower(), default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:  # never print values: they may hold credentials
        return f"Headers({sorted(self._items)})"


@dataclass(frozen=True)
class Request:
    """One call into the gateway."""

    method: str = "POST"
    path: str = "/"
    query: str = ""
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    kind: str = HTTP
    deadline: float | None = None
    """Absolute time (``time.time()`` seconds) by which the answer must be sent, or None."""
    request_id: str = ""
    path_params: dict[str, str] = field(default_factory=dict)
    """Values of ``{name}`` segments of the matched route."""

    @property
    def query_params(self) -> dict[str, str]:
        return dict(parse_qsl(self.query, keep_blank_values=True))

    def remaining(self) -> float | None:
        """Seconds left before the deadline (None when the call has none)."""
        return None if self.deadline is None else self.deadline - time.time()


Body = bytes | AsyncIterator[bytes]


@dataclass
class Response:
    """What a handler returns: a status, single-valued headers and a body.

    ``body`` is bytes, or an async iterator of bytes for a streamed answer; an
    adapter that cannot stream (the fdk) collects it with :meth:`read`.
    """

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Body = b""
    meta: dict[str, Any] = field(default_factory=dict)
    """Facts for the request log line (model, token counts); never sent to the caller."""

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> "Response":
        merged = {"content-type": "application/json"}
        merged.update(headers or {})
        return cls(status, merged, dumps(data))

    @property
    def is_streaming(self) -> bool:
        return not isinstance(self.body, (bytes, bytearray))

    async def read(self) -> bytes:
        """The whole body, collecting a stream if need be."""
        if isinstance(self.body, (bytes, bytearray)):
            return bytes(self.body)
        parts = [chunk async for chunk in self.body]
        return b"".join(parts)
