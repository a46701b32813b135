"""Parse and check an OpenAI embeddings request into a normalized value.

Pure: JSON object in, :class:`EmbeddingRequest` out, or a 400 whose ``param`` names the
offending field. OpenAI's four ``input`` forms are settled here:

* ``"text"``                     -> one text input
* ``["a", "b"]``                 -> text inputs (a ``data:image/...;base64,`` string is an image)
* ``[1, 2, 3]``                  -> one token-id input
* ``[[1, 2], [3]]``              -> token-id inputs (LangChain's default)

Token ids are kept as ids here; :mod:`core.embeddings.prepare` decodes them, so the
tokenizer is only loaded once a request is known to be valid and to need it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.errors import invalid_request
from core.validation import integer, string, type_name, wrong_type

TEXT = "text"
TOKENS = "tokens"
IMAGE = "image"

MAX_INPUTS = 2048
"""OpenAI's own limit on inputs per request; split into 96-input OCI calls downstream."""

ENCODING_FORMATS = ("float", "base64")
INPUT_TYPES = ("SEARCH_DOCUMENT", "SEARCH_QUERY", "CLASSIFICATION", "CLUSTERING", "IMAGE")
TRUNCATE_MODES = ("NONE", "START", "END")


@dataclass(frozen=True)
class EmbeddingInput:
    """One input: text, token ids (``tokens``, not yet decoded) or an image data URI (``text``)."""

    kind: str
    text: str = ""
    tokens: list[int] | None = None
    param: str = "input"
    """Where the input sits in the request (``input`` or ``input[3]``), for error messages."""


@dataclass(frozen=True)
class EmbeddingRequest:
    model: str
    inputs: tuple[EmbeddingInput, ...]
    encoding_format: str = "float"
    dimensions: int | None = None
    input_type: str | None = None
    truncate: str | None = None
    user: str | None = None

    @property
    def has_images(self) -> bool:
        return any(i.kind == IMAGE for i in self.inputs)

    @property
    def has_tokens(self) -> bool:
        return any(i.kind == TOKENS for i in self.inputs)


def is_image_uri(text: str) -> bool:
    return text[:11].lower() == "data:image/"


def parse_embedding_request(data: dict[str, Any]) -> EmbeddingRequest:
    """Validate an OpenAI ``/v1/embeddings`` body (alias defaults already merged in)."""
    model = (string(data, "model", required=True, non_empty=True) or "").strip()
    inputs = parse_input(data.get("input"), present="input" in data)
    encoding_format = string(data, "encoding_format") or "float"
    if encoding_format not in ENCODING_FORMATS:
        raise invalid_request(f"Invalid 'encoding_format': {encoding_format!r}; use 'float' or 'base64'.",
                              param="encoding_format", code="invalid_value")
    dimensions = integer(data, "dimensions", minimum=1)
    input_type = _enum(data, "input_type", INPUT_TYPES)
    truncate = _enum(data, "truncate", TRUNCATE_MODES)
    if input_type == "IMAGE" and not any(i.kind == IMAGE for i in inputs):
        raise invalid_request("'input_type' 'image' needs image inputs (data:image/...;base64,... strings).",
                              param="input_type", code="invalid_value")
    return EmbeddingRequest(model=model, inputs=inputs, encoding_format=encoding_format, dimensions=dimensions,
                            input_type=input_type, truncate=truncate, user=string(data, "user"))


def _enum(data: dict[str, Any], key: str, allowed: tuple[str, ...]) -> str | None:
    value = string(data, key)
    if value is None:
        return None
    upper = value.strip().upper()
    if upper not in allowed:
        raise invalid_request(f"Invalid '{key}': {value!r}; use one of {', '.join(a.lower() for a in allowed)}.",
                              param=key, code="invalid_value")
    return upper


def parse_input(value: Any, *, present: bool = True) -> tuple[EmbeddingInput, ...]:
    """The ``input`` field in any of OpenAI's four forms."""
    if value is None:
        raise invalid_request("Missing required parameter: 'input'." if not present else "'input' must not be null.",
                              param="input", code="missing_required_parameter" if not present else "invalid_value")
    if isinstance(value, str):
        return (_text(value, "input"),)
    if not isinstance(value, list):
        raise wrong_type("input", "a string, an array of strings, an array of token ids or an array of token-id "
                                  "arrays", value)
    if not value:
        raise invalid_request("'input' must not be an empty array.", param="input", code="invalid_value")
    if len(value) > MAX_INPUTS:
        raise invalid_request(f"'input' has {len(value)} entries; the maximum is {MAX_INPUTS}.", param="input",
                              code="too_many_inputs")
    first = value[0]
    if isinstance(first, str):
        out = []
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise _mixed(index, "a string", item)
            out.append(_text(item, f"input[{index}]"))
        return tuple(out)
    if _is_token(first):
        return (_tokens(value, "input"),)
    if isinstance(first, list):
        out = []
        for index, item in enumerate(value):
            if not isinstance(item, list):
                raise _mixed(index, "an array of token ids", item)
            out.append(_tokens(item, f"input[{index}]"))
        return tuple(out)
    raise wrong_type("input[0]", "a string, a token id or an array of token ids", first)


def _is_token(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value: str, param: str) -> EmbeddingInput:
    if value == "":
        raise invalid_request(f"'{param}' must not be an empty string.", param=param, code="invalid_value")
    if is_image_uri(value):
        header = value[: value.find(",")] if "," in value else value
        if ";base64" not in header.lower() or "," not in value or value.endswith(","):
            raise invalid_request(f"'{param}' looks like an image but is not a base64 data URI "
                                  "(data:image/png;base64,...).", param=param, code="invalid_image")
        return EmbeddingInput(IMAGE, text=value, param=param)
    return EmbeddingInput(TEXT, text=value, param=param)


def _tokens(value: list[Any], param: str) -> EmbeddingInput:
    """Token ids, checked for shape here; each id's type and range are checked while decoding."""
    if not value:
        raise invalid_request(f"'{param}' must not be an empty array of token ids.", param=param,
                              code="invalid_value")
    if not _is_token(value[0]) or not _is_token(value[-1]):
        bad = value[0] if not _is_token(value[0]) else value[-1]
        raise invalid_request(f"Invalid '{param}': expected token ids (integers), got {type_name(bad)}.",
                              param=param, code="invalid_type")
    return EmbeddingInput(TOKENS, tokens=value, param=param)


def _mixed(index: int, expected: str, value: Any) -> Exception:
    return invalid_request(f"Invalid 'input[{index}]': expected {expected} like the other entries, got "
                           f"{type_name(value)}. Do not mix input forms in one request.",
                           param=f"input[{index}]", code="invalid_type")
