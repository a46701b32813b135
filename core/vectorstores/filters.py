"""OpenAI's attribute filters, checked and turned into one SQL condition over a ``jsonb`` column (pure).

A comparison is ``{"type": "eq"|"ne"|"gt"|"gte"|"lt"|"lte"|"in"|"nin", "key", "value"}``; a compound is
``{"type": "and"|"or", "filters": [...]}``. Keys and values travel as query parameters, never as SQL text:
the condition is made of fixed fragments only. Values compare as JSON values: ``eq 5`` matches the number 5,
not the string "5"; ordering comparisons only match an attribute of the value's own type.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from core.errors import invalid_request

MAX_DEPTH = 8
MAX_COMPARISONS = 64
MAX_KEY_CHARS = 64
MAX_STRING_CHARS = 512
MAX_LIST_ITEMS = 100
_ORDER = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
COMPARISONS = ("eq", "ne", *_ORDER, "in", "nin")
COMPOUNDS = ("and", "or")


@dataclass
class Condition:
    """SQL text with ``%s`` placeholders, and their values in order."""

    sql: str = "TRUE"
    params: list[Any] = field(default_factory=list)


def compile_filters(value: Any, column: str, *, param: str = "filters") -> Condition:
    """The condition for ``value`` (None: no filter), or a 400 naming the offending ``param`` path."""
    if value is None:
        return Condition()
    counter = [0]
    return _node(value, column, param, 0, counter)


def _node(value: Any, column: str, param: str, depth: int, counter: list[int]) -> Condition:
    if not isinstance(value, dict):
        raise invalid_request(f"'{param}' must be a comparison or compound filter object.", param=param,
                              code="invalid_filter")
    kind = value.get("type")
    if kind in COMPOUNDS:
        return _compound(value, kind, column, param, depth, counter)
    if kind in COMPARISONS:
        counter[0] += 1
        if counter[0] > MAX_COMPARISONS:
            raise invalid_request(f"'filters' may hold at most {MAX_COMPARISONS} comparisons.", param=param,
                                  code="invalid_filter")
        return _comparison(value, kind, column, param)
    raise invalid_request(f"'{param}.type' must be one of {', '.join(COMPARISONS + COMPOUNDS)}.",
                          param=f"{param}.type", code="invalid_filter")


def _compound(value: dict[str, Any], kind: str, column: str, param: str, depth: int,
              counter: list[int]) -> Condition:
    items = value.get("filters")
    if not isinstance(items, list) or not items:
        raise invalid_request(f"'{param}.filters' must be a non-empty array of filters.", param=f"{param}.filters",
                              code="invalid_filter")
    if depth >= MAX_DEPTH:
        raise invalid_request(f"'filters' may nest at most {MAX_DEPTH} levels.", param=param, code="invalid_filter")
    parts = [_node(item, column, f"{param}.filters[{i}]", depth + 1, counter) for i, item in enumerate(items)]
    joiner = " AND " if kind == "and" else " OR "
    return Condition("(" + joiner.join(p.sql for p in parts) + ")", [v for p in parts for v in p.params])


def _comparison(value: dict[str, Any], kind: str, column: str, param: str) -> Condition:
    key = value.get("key")
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_CHARS:
        raise invalid_request(f"'{param}.key' must be a string of 1 to {MAX_KEY_CHARS} characters.",
                              param=f"{param}.key", code="invalid_filter")
    target = value.get("value")
    attribute = f"({column} -> %s)"
    if kind in ("in", "nin"):
        items = _list_value(target, f"{param}.value")
        test = f"COALESCE(%s::jsonb @> {attribute}, false)"
        return Condition(test if kind == "in" else f"NOT {test}", [json.dumps(items), key])
    scalar = _scalar_value(target, f"{param}.value")
    if kind == "eq":
        return Condition(f"{attribute} = %s::jsonb", [key, json.dumps(scalar)])
    if kind == "ne":
        return Condition(f"{attribute} IS DISTINCT FROM %s::jsonb", [key, json.dumps(scalar)])
    if isinstance(scalar, bool):
        raise invalid_request(f"'{param}.value' must be a number or a string for '{kind}'.",
                              param=f"{param}.value", code="invalid_filter")
    kind_of = "string" if isinstance(scalar, str) else "number"
    return Condition(f"(jsonb_typeof({attribute}) = %s AND {attribute} {_ORDER[kind]} %s::jsonb)",
                     [key, kind_of, key, json.dumps(scalar)])


def _scalar_value(value: Any, param: str) -> str | int | float | bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and math.isfinite(value):
        return value
    if isinstance(value, str) and len(value) <= MAX_STRING_CHARS:
        return value
    raise invalid_request(f"'{param}' must be a string of at most {MAX_STRING_CHARS} characters, a finite number "
                          "or a boolean.", param=param, code="invalid_filter")


def _list_value(value: Any, param: str) -> list[Any]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_LIST_ITEMS:
        raise invalid_request(f"'{param}' must be an array of 1 to {MAX_LIST_ITEMS} strings or numbers for "
                              "'in'/'nin'.", param=param, code="invalid_filter")
    items = [_scalar_value(item, f"{param}[{i}]") for i, item in enumerate(value)]
    if any(isinstance(item, bool) for item in items):
        raise invalid_request(f"'{param}' may hold strings and numbers only.", param=param, code="invalid_filter")
    return items
