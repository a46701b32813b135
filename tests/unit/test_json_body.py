"""Request bodies: orjson reads what is valid, the standard library reads what orjson refuses, and the result is
the standard library's reading in every case (values, and the 400 for what is not a JSON object)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import APIError
from core.validation import MAX_JSON_DEPTH, parse_json_object

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=8), json_values, max_size=5), st.booleans())
def test_any_json_object_reads_as_the_standard_library_reads_it(document, ascii_only):
    body = json.dumps(document, ensure_ascii=ascii_only).encode()  # integers of any width, \\u escapes or not
    assert parse_json_object(body) == json.loads(body)


@pytest.mark.parametrize("body, needle", [
    (b"not json", "not valid JSON"),
    (b"[1, 2]", "must be a JSON object, not an array"),
    (b"\xff\xfe{}", "not valid UTF-8"),
    (b'{"t": NaN}', "NaN is not allowed"),
    (b'{"t": -Infinity}', "-Infinity is not allowed"),
    (b'{"a": 1} trailing', "not valid JSON"),
    (b'{"s": "\\ud800"}', "lone UTF-16 surrogate"),
    (b'{"k": ' + b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH + b"}", f"more than {MAX_JSON_DEPTH} levels"),
    (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
    (b"   ", "is empty"),
])
def test_what_is_not_a_json_object_is_a_400_saying_why(body, needle):
    with pytest.raises(APIError) as info:
        parse_json_object(body)
    assert info.value.status == 400 and info.value.code == "invalid_json"
    assert needle in info.value.message


def test_wide_integers_and_escapes_are_kept_exactly():
    body = b'{"seed": 123456789012345678901234567890, "s": "caf\\u00e9 \\ud83d\\ude00", "f": 1e400, "z": -0.0}'
    data = parse_json_object(body)
    assert data["seed"] == 123456789012345678901234567890 and data["s"] == "café 😀"
    assert data["f"] == float("inf") and str(data["z"]) == "-0.0"


@pytest.mark.parametrize("literal", [b"-9223372036854775809", b"18446744073709551616", b"9" * 40])
def test_integers_over_64_bits_stay_integers(literal):
    data = parse_json_object(b'{"seed": ' + literal + b', "xs": [1.5e19, ' + literal + b"]}")
    assert data["seed"] == int(literal) and isinstance(data["seed"], int)
    assert data["xs"] == [1.5e19, int(literal)]


def test_nesting_orjson_reads_is_judged_before_anything_walks_it():
    deep = b'{"k": ' + b"[" * 1000 + b"1.0e30" + b"]" * 1000 + b"}"  # within orjson's 1,024, past Python's 1,000
    with pytest.raises(APIError) as info:
        parse_json_object(deep)
    assert info.value.status == 400 and f"more than {MAX_JSON_DEPTH} levels" in info.value.message
