"""Parsing OpenAI embeddings bodies: the four input forms, options, and a 400 naming the param for each mistake."""

from __future__ import annotations

import pytest

from core.embeddings.request import IMAGE, MAX_INPUTS, TEXT, TOKENS, parse_embedding_request
from core.errors import APIError

MODEL = "cohere.embed-v4.0"
PNG = "data:image/png;base64,iVBORw0KGgo="


def parse(**fields):
    return parse_embedding_request({"model": MODEL, **fields})


def test_string_input_is_one_text():
    req = parse(input="hello")
    assert [(i.kind, i.text) for i in req.inputs] == [(TEXT, "hello")]
    assert req.encoding_format == "float" and req.dimensions is None and req.input_type is None


def test_list_of_strings_keeps_order_and_positions():
    req = parse(input=["a", "b", "c"])
    assert [i.text for i in req.inputs] == ["a", "b", "c"]
    assert [i.param for i in req.inputs] == ["input[0]", "input[1]", "input[2]"]


def test_flat_token_ids_are_one_input():
    req = parse(input=[9906, 1917])
    assert len(req.inputs) == 1 and req.inputs[0].kind == TOKENS and req.inputs[0].tokens == [9906, 1917]
    assert req.has_tokens


def test_list_of_token_lists_is_one_input_each():
    req = parse(input=[[1, 2], [3]])
    assert [i.tokens for i in req.inputs] == [[1, 2], [3]] and all(i.kind == TOKENS for i in req.inputs)


def test_data_uri_string_is_an_image():
    req = parse(input=["caption", PNG])
    assert [i.kind for i in req.inputs] == [TEXT, IMAGE] and req.has_images


def test_options_are_normalized():
    req = parse(input="x", encoding_format="base64", dimensions=512, input_type="search_query", truncate="start",
                user="u1")
    assert (req.encoding_format, req.dimensions, req.input_type, req.truncate) == ("base64", 512, "SEARCH_QUERY",
                                                                                   "START")


@pytest.mark.parametrize("fields, param, code", [
    ({}, "input", "missing_required_parameter"),
    ({"input": None}, "input", "invalid_value"),
    ({"input": ""}, "input", "invalid_value"),
    ({"input": []}, "input", "invalid_value"),
    ({"input": ["ok", ""]}, "input[1]", "invalid_value"),
    ({"input": 42}, "input", "invalid_type"),
    ({"input": {"text": "x"}}, "input", "invalid_type"),
    ({"input": ["a", 3]}, "input[1]", "invalid_type"),
    ({"input": [[1, 2], "b"]}, "input[1]", "invalid_type"),
    ({"input": [[1], []]}, "input[1]", "invalid_value"),
    ({"input": [["a"]]}, "input[0]", "invalid_type"),
    ({"input": [1.5, 2]}, "input[0]", "invalid_type"),
    ({"input": [True]}, "input[0]", "invalid_type"),
    ({"input": [None]}, "input[0]", "invalid_type"),
    ({"input": ["data:image/png,notbase64"]}, "input[0]", "invalid_image"),
    ({"input": ["x"] * (MAX_INPUTS + 1)}, "input", "too_many_inputs"),
    ({"input": "x", "encoding_format": "int8"}, "encoding_format", "invalid_value"),
    ({"input": "x", "encoding_format": 1}, "encoding_format", "invalid_type"),
    ({"input": "x", "dimensions": 0}, "dimensions", "invalid_value"),
    ({"input": "x", "dimensions": "512"}, "dimensions", "invalid_type"),
    ({"input": "x", "input_type": "documents"}, "input_type", "invalid_value"),
    ({"input": "x", "input_type": "image"}, "input_type", "invalid_value"),
    ({"input": "x", "truncate": "MIDDLE"}, "truncate", "invalid_value"),
])
def test_bad_fields_are_400_naming_the_param(fields, param, code):
    with pytest.raises(APIError) as info:
        parse(**fields)
    assert info.value.status == 400 and info.value.param == param and info.value.code == code


def test_missing_model_is_400():
    with pytest.raises(APIError) as info:
        parse_embedding_request({"input": "x"})
    assert info.value.param == "model" and info.value.code == "missing_required_parameter"
