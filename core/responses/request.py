"""Check a Responses API request against :mod:`core.responses.schema`; every failure is a 400 with its ``param``.

Pure: JSON object in, :class:`~core.responses.schema.CreateRequest` out. msgspec reports where a value is wrong
as a path (``$.input[3].content[0]``); that path becomes the error's ``param`` (``input[3].content[0]``), and
the rest of its report becomes a message in OpenAI's words.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import msgspec

from core.errors import APIError, invalid_request
from core.responses.schema import UNSUPPORTED_FIELDS, CreateRequest, Item

_PATH = re.compile(r" - at `(?:key` in `)?\$(?P<path>[^`]*)`$")
_TYPE_NAMES = {"str": "a string", "int": "an integer", "float": "a number", "bool": "a boolean", "array": "an array",
               "object": "an object", "null": "null"}


def parse_create_request(data: dict[str, Any]) -> CreateRequest:
    """The checked request; unknown parameters, wrong types and unsupported features are 400s."""
    try:
        request = msgspec.convert(_with_message_types(data), CreateRequest)
    except msgspec.ValidationError as exc:
        raise validation_error(str(exc)) from None
    _check_semantics(request)
    return request


def parse_items(items: Any, param: str) -> list[Item]:
    """Stored input or output items (read back from a stored response) as checked items."""
    try:
        return msgspec.convert(_typed_items(items), list[Item])  # type: ignore[arg-type]
    except msgspec.ValidationError as exc:
        raise invalid_request(f"The stored conversation behind '{param}' cannot be read back: {exc}.", param=param,
                              code="invalid_stored_response") from None


def _with_message_types(data: dict[str, Any]) -> dict[str, Any]:
    """Items written as ``{"role", "content"}`` (EasyInputMessage) get their implied ``"type": "message"``."""
    items = data.get("input")
    if not isinstance(items, list):
        return data
    return {**data, "input": _typed_items(items)}


def _typed_items(items: Any) -> Any:
    if not isinstance(items, list):
        return items
    return [{**item, "type": "message"} if isinstance(item, dict) and "type" not in item and "role" in item
            else item for item in items]


def _check_semantics(request: CreateRequest) -> None:
    """What the schema cannot say: features this gateway does not offer, a blank model, input or its absence."""
    for name in UNSUPPORTED_FIELDS:
        if getattr(request, name) is not None:
            raise invalid_request(f"'{name}' is not supported by this gateway; send the conversation in 'input' "
                                  "(or continue it with 'previous_response_id').", param=name,
                                  code="unsupported_parameter")
    if request.background:
        raise invalid_request("Background responses are not supported by this gateway: send 'background': false "
                              "(or leave it out) and wait for the answer, or stream it.", param="background",
                              code="unsupported_parameter")
    if not request.model.strip():
        raise invalid_request("'model' must not be empty.", param="model", code="invalid_value")
    if request.input is None:
        raise invalid_request("Missing required parameter: 'input'.", param="input", code="missing_required_parameter")
    if isinstance(request.input, list) and not request.input and request.previous_response_id is None:
        raise invalid_request("'input' must contain at least one item.", param="input", code="invalid_value")


# --------------------------------------------------------------------------------------------- msgspec -> OpenAI


def validation_error(report: str) -> APIError:
    """An OpenAI 400 from a msgspec validation report (``<what> - at `$.path```)."""
    match = _PATH.search(report)
    path = _param(match.group("path")) if match else ""
    what = report[:match.start()] if match else report
    for pattern, build in _RULES:
        found = pattern.fullmatch(what)
        if found:
            return build(found, path)
    return invalid_request(f"Invalid '{path or 'request body'}': {what}.", param=path or None, code="invalid_value")


def _param(path: str) -> str:
    """``.input[3].content`` -> ``input[3].content``; a map's value (``[...]``) is reported as the map."""
    path = path.split("[...]", 1)[0]
    return path[1:] if path.startswith(".") else path


def _join(path: str, field: str) -> str:
    return f"{path}.{field}" if path else field


def _type_list(text: str) -> str:
    names = [_TYPE_NAMES.get(part.strip(), part.strip()) for part in text.split("|")]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _missing(found: re.Match[str], path: str) -> APIError:
    param = _join(path, found.group(1))
    return invalid_request(f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")


def _unknown(found: re.Match[str], path: str) -> APIError:
    param = _join(path, found.group(1))
    return invalid_request(f"Unknown parameter: '{param}'.", param=param, code="unknown_parameter")


def _wrong_type(found: re.Match[str], path: str) -> APIError:
    return invalid_request(f"Invalid type for '{path}': expected {_type_list(found.group(1))}, but got "
                           f"{_TYPE_NAMES.get(found.group(2), found.group(2))}.", param=path or None,
                           code="invalid_type")


def _bad_value(found: re.Match[str], path: str) -> APIError:
    return invalid_request(f"Invalid value for '{path}': {found.group(1)}.", param=path or None, code="invalid_value")


def _out_of_range(found: re.Match[str], path: str) -> APIError:
    return invalid_request(f"Invalid '{path}': expected {_type_list(found.group(1))} {found.group(2)}.",
                           param=path or None, code="invalid_value")


_RULES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str], str], APIError]], ...] = (
    (re.compile(r"Object missing required field `([^`]+)`"), _missing),
    (re.compile(r"Object contains unknown field `([^`]+)`"), _unknown),
    (re.compile(r"Expected `([^`]+)`, got `([^`]+)`"), _wrong_type),
    (re.compile(r"Invalid (?:enum )?value (.+)"), _bad_value),
    (re.compile(r"Expected `([^`]+)` (.+)"), _out_of_range),
)
