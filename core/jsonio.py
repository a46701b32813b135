"""JSON for the request path: orjson, chosen in docs/decisions.md ("JSON on the request path").

``dumps`` gives compact UTF-8 bytes (what ``json.dumps(..., ensure_ascii=False, separators=(",", ":"))``
gives, encoded); ``loads`` takes bytes or str. orjson refuses integers wider than 64 bits, which a
caller may legitimately send (e.g. a ``seed``): those documents go through the standard library.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

JSONDecodeError = orjson.JSONDecodeError
"""Raised by :func:`loads`; a subclass of ``ValueError`` (and of ``json.JSONDecodeError``)."""


def dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    return orjson.loads(data)
