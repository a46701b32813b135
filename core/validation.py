"""Small, fast checks for OpenAI request fields that name the offending ``param``.

Hand-written rather than a schema library on purpose: the chat path runs on every
request of a function that may have a tenth of a CPU, and each failure must become a
400 whose ``param`` points at the exact field (``messages[2].content``).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

from core.errors import APIError, invalid_request

MAX_JSON_DEPTH = 64


def parse_json_object(body: bytes, what: str = "request body") -> dict[str, Any]:
    """Decode a JSON object body; anything else is a 400."""
    if not body or not body.strip():
        raise invalid_request(f"The {what} is empty; send a JSON object.", code="invalid_json")
    try:  # orjson reads what is valid 4x faster; what it refuses is read again below, for the error that names why
        data = _checked(orjson.loads(body), what)
    except orjson.JSONDecodeError:
        return _checked(_parse_refused(body, what), what)
    # A float this large may be an integer over 64 bits, which orjson reads as a float: read the body exactly.
    return _checked(_parse_refused(body, what), what) if _has_wide_float(data) else data


def _checked(data: Any, what: str) -> dict[str, Any]:
    """``data`` if it is a JSON object nested no deeper than MAX_JSON_DEPTH; else a 400."""
    if not isinstance(data, dict):
        raise invalid_request(f"The {what} must be a JSON object, not {type_name(data)}.", code="invalid_json")
    if _depth(data) > MAX_JSON_DEPTH:
        raise invalid_request(f"The {what} is nested too deeply (more than {MAX_JSON_DEPTH} levels).",
                              code="invalid_json")
    return data


def _parse_refused(body: bytes, what: str) -> Any:
    """The standard library's reading of a body orjson refused: integers over 64 bits are JSON it reads; a lone
    surrogate (orjson refuses those, so only this path can meet one) and anything else is a 400 naming why."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid_request(f"The {what} is not valid UTF-8.", code="invalid_json") from None
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise invalid_request(f"The {what} is nested too deeply.", code="invalid_json") from None
    except ValueError as exc:
        raise invalid_request(f"The {what} is not valid JSON: {exc}", code="invalid_json") from None
    if "\\u" in text and _has_lone_surrogate(data):
        raise invalid_request(f"The {what} contains an invalid \\u escape (a lone UTF-16 surrogate).",
                              code="invalid_json")
    return data


_WIDE = 2.0**63
"""The smallest size of a float orjson makes of an integer it cannot hold in 64 bits."""


def _has_wide_float(value: Any) -> bool:
    if isinstance(value, float):
        return abs(value) >= _WIDE
    if isinstance(value, dict):
        return any(_has_wide_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_wide_float(v) for v in value)
    return False


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def _depth(value: Any, level: int = 1) -> int:
    if level > MAX_JSON_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level


_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_lone_surrogate(value: Any) -> bool:
    """JSON may escape a lone surrogate (``"\\ud800"``) that no UTF-8 encoder can send on."""
    if isinstance(value, str):
        return _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def wrong_type(param: str, expected: str, value: Any) -> APIError:
    return invalid_request(f"Invalid type for '{param}': expected {expected}, but got {type_name(value)}.",
                           param=param, code="invalid_type")


def string(data: dict[str, Any], key: str, param: str | None = None, *, required: bool = False,
           non_empty: bool = False) -> str | None:
    param = param or key
    value = data.get(key)
    if value is None:
        if required:
            raise invalid_request(f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")
        return None
    if not isinstance(value, str):
        raise wrong_type(param, "a string", value)
    if non_empty and not value.strip():
        raise invalid_request(f"'{param}' must not be empty.", param=param, code="invalid_value")
    return value


def integer(data: dict[str, Any], key: str, param: str | None = None, *, minimum: int | None = None,
            maximum: int | None = None) -> int | None:
    param = param or key
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise wrong_type(param, "an integer", value)
    _check_range(param, value, minimum, maximum)
    return value


def number(data: dict[str, Any], key: str, param: str | None = None, *, minimum: float | None = None,
           maximum: float | None = None) -> float | None:
    param = param or key
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise wrong_type(param, "a number", value)
    if isinstance(value, float) and not math.isfinite(value):
        raise invalid_request(f"'{param}' must be a finite number.", param=param, code="invalid_value")
    _check_range(param, value, minimum, maximum)
    return value


def boolean(data: dict[str, Any], key: str, param: str | None = None) -> bool | None:
    param = param or key
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise wrong_type(param, "a boolean", value)
    return value


def _check_range(param: str, value: float, minimum: float | None, maximum: float | None) -> None:
    if minimum is not None and value < minimum:
        raise invalid_request(f"Invalid '{param}': {value} is less than the minimum of {minimum}.", param=param,
                              code="invalid_value")
    if maximum is not None and value > maximum:
        raise invalid_request(f"Invalid '{param}': {value} is greater than the maximum of {maximum}.", param=param,
                              code="invalid_value")
