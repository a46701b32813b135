"""Parse an OpenAI ``/v1/moderations`` body into the texts to classify (pure).

``input`` is a string (one result), an array of strings (one result each) or an array of
multi-modal parts (one result for all of them). OCI's ``ApplyGuardrails`` moderates text here,
so an ``image_url`` part is a 400 rather than a silent pass. Any ``model`` is accepted and echoed:
OCI has one moderation model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.errors import invalid_request
from core.validation import string, wrong_type

DEFAULT_MODEL = "omni-moderation-latest"


@dataclass(frozen=True)
class ModerationRequest:
    model: str
    texts: tuple[str, ...]
    """One text per result, in order."""


def parse_moderation_request(data: dict[str, Any]) -> ModerationRequest:
    model = (string(data, "model") or "").strip() or DEFAULT_MODEL
    value = data.get("input")
    if value is None:
        raise invalid_request("Missing required parameter: 'input'.", param="input", code="missing_required_parameter")
    if isinstance(value, str):
        return ModerationRequest(model, (value,))
    if not isinstance(value, list) or not value:
        raise wrong_type("input", "a string, an array of strings or an array of content parts", value)
    if isinstance(value[0], str):  # an array of strings: every item must be one
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise wrong_type(f"input[{index}]", "a string", item)
        return ModerationRequest(model, tuple(value))
    return ModerationRequest(model, (_parts_text(value),))


def _parts_text(parts: list[Any]) -> str:
    texts = []
    for index, part in enumerate(parts):
        param = f"input[{index}]"
        if not isinstance(part, dict):
            raise wrong_type(param, "a content part object", part)
        kind = part.get("type")
        if kind == "image_url":
            raise invalid_request(f"'{param}' is an image: this gateway moderates text only (OCI ApplyGuardrails).",
                                  param=f"{param}.type", code="unsupported_content_type")
        if kind != "text":
            raise invalid_request(f"Unsupported content part type {kind!r} in '{param}.type'.", param=f"{param}.type",
                                  code="unsupported_content_type")
        texts.append(string(part, "text", f"{param}.text", required=True) or "")
    return "\n".join(texts)
