"""The request path's JSON (orjson): the same compact UTF-8 text the standard library wrote, and what it refuses."""

from __future__ import annotations

import json

import pytest

from core import jsonio


@pytest.mark.parametrize("value", [
    {"text": "é ✓ \u2028", "n": 1, "f": 0.5, "none": None, "nested": [{"a": True}]},
    {"seed": 2 ** 70},  # wider than 64 bits: orjson refuses it, the standard library writes it
    {1: "a non-string key"},
])
def test_dumps_matches_the_standard_library(value):
    assert jsonio.dumps(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def test_loads_takes_bytes_and_str_and_raises_value_errors():
    assert jsonio.loads(b'{"a":[1,2]}') == jsonio.loads('{"a":[1,2]}') == {"a": [1, 2]}
    for bad in (b"{", b'{"a": NaN}', b'"\\ud800"'):
        with pytest.raises(ValueError):
            jsonio.loads(bad)
