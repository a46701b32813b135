"""From a checked OpenAI request to OCI's ``ChatDetails``, and from OCI's ``ChatResult`` back.

This is where the per-model decisions are made, once: which API format (GENERIC,
COHERE, COHEREV2), which parameters survive (:mod:`core.chat.params`), the output
token default and ceiling, whether images are allowed, and on-demand vs dedicated
serving. The format modules below it only translate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from core.aliases import DEDICATED, ResolvedModel
from core.catalog import COHERE, COHEREV2, GENERIC, ModelInfo
from core.chat.param_rules import MAX_COMPLETION_TOKENS, MAX_TOKENS, rule_for
from core.chat.params import TOKEN_LIMITS, apply_model_rules, apply_param_policy
from core.chat.request import ChatRequest
from core.errors import invalid_request

_DATA_URI = re.compile(r"^data:image/(png|jpe?g|gif|webp|bmp|tiff?);base64,[A-Za-z0-9+/=\s]+$", re.IGNORECASE)


@dataclass(frozen=True)
class ChatPlan:
    """One upstream chat call: OCI's ``ChatDetails``, the API format used, and what was dropped to get there."""

    details: dict[str, Any]
    api_format: str
    dropped: tuple[str, ...] = field(default=())
    """OpenAI parameters removed before sending, for ``x-gateway-dropped-params``."""


def choose_format(request: ChatRequest, info: ModelInfo) -> str:
    """GENERIC for every non-Cohere model; COHERE v1 unless the request needs COHEREV2 and the model has it."""
    if info.api_format != COHERE:
        return info.api_format or GENERIC
    from core.chat.cohere import needs_v2

    reason = needs_v2(request)
    if reason is None:
        return COHERE
    if info.cohere_v2:
        return COHEREV2
    raise invalid_request(f"{info.id} cannot take this request: {reason}.", code="unsupported_for_model")


def _check_images(request: ChatRequest, info: ModelInfo) -> None:
    for i, message in enumerate(request.messages):
        for j, part in enumerate(message.parts):
            if part.type != "image":
                continue
            param = f"messages[{i}].content[{j}].image_url.url"
            if info.known and not info.vision:
                raise invalid_request(f"{info.id} does not accept images. Use a vision model such as "
                                      "meta.llama-4-maverick-17b-128e-instruct-fp8.", param=param,
                                      code="image_not_supported")
            if part.url.lower().startswith(("http://", "https://")):
                # Reached only when IMAGE_URL_FETCH is off: otherwise the handler inlined every URL already.
                raise invalid_request("Image URLs are not fetched by this gateway (IMAGE_URL_FETCH is off); send the "
                                      "image inline as a data URI (data:image/png;base64,...).", param=param,
                                      code="image_url_not_supported")
            if not _DATA_URI.match(part.url):
                raise invalid_request("Invalid image: expected a base64 data URI such as data:image/png;base64,....",
                                      param=param, code="invalid_image")


def _max_tokens(request: ChatRequest, target: ResolvedModel) -> int:
    info = target.info
    if request.max_tokens is None:
        return min(info.default_max_tokens, info.max_output_tokens)
    if target.serving_mode != DEDICATED and info.known and request.max_tokens > info.max_output_tokens:
        raise invalid_request(f"'{request.max_tokens_param}' is {request.max_tokens}, above {info.id}'s maximum of "
                              f"{info.max_output_tokens} output tokens.", param=request.max_tokens_param,
                              code="invalid_value")
    return request.max_tokens


def max_tokens_field(info: ModelInfo, learned: frozenset[str] = frozenset()) -> str:
    """The field OCI takes the output limit in for this model: the table's, or the other one once OCI refused it."""
    field_name = rule_for(info).max_tokens_field
    refused = {"max_tokens": MAX_TOKENS, "max_completion_tokens": MAX_COMPLETION_TOKENS}
    if any(refused[param] == field_name for param in learned & TOKEN_LIMITS):
        return MAX_COMPLETION_TOKENS if field_name == MAX_TOKENS else MAX_TOKENS
    return field_name


def build_chat_details(request: ChatRequest, target: ResolvedModel, compartment_id: str, *,
                       drop_unsupported: bool, learned: frozenset[str] = frozenset()) -> ChatPlan:
    """OCI's ``ChatDetails`` body for this request and target, the API format used and the dropped parameters.

    ``target`` comes from :func:`core.aliases.resolve` (lifecycle and model kind already checked);
    ``learned`` holds the parameters OCI itself refused for this model in this process.
    """
    info = target.info
    request, dropped = apply_model_rules(request, info, drop_unsupported=drop_unsupported, learned=learned)
    fmt = choose_format(request, info)
    request, format_dropped = apply_param_policy(request, fmt, info, drop_unsupported=drop_unsupported)
    _check_images(request, info)
    max_tokens = _max_tokens(request, target)
    if fmt == GENERIC:
        from core.chat.generic import to_generic_chat_request

        chat_request = to_generic_chat_request(request, info, max_tokens=max_tokens,
                                               max_tokens_field=max_tokens_field(info, learned))
    elif fmt == COHERE:
        from core.chat.cohere import to_cohere_chat_request

        chat_request = to_cohere_chat_request(request, info, max_tokens=max_tokens)
    else:
        from core.chat.cohere_v2 import to_cohere_v2_chat_request

        chat_request = to_cohere_v2_chat_request(request, info, max_tokens=max_tokens)
    if request.stream:
        # Usage is always asked for: the gateway logs it, and forwards it only when the caller asked.
        chat_request["isStream"] = True
        chat_request["streamOptions"] = {"isIncludeUsage": True}
    details = {
        "compartmentId": compartment_id,
        "servingMode": target.serving_mode_body(),
        "chatRequest": chat_request,
    }
    return ChatPlan(details, fmt, tuple(dropped + format_dropped))


def completion_from_result(result: dict[str, Any], fmt: str, *, model: str, response_id: str) -> dict[str, Any]:
    """OpenAI ``chat.completion`` from OCI's ``ChatResult``, whichever format answered."""
    answered = ((result.get("chatResponse") or {}).get("apiFormat")) or fmt
    if answered == COHERE:
        from core.chat.cohere import from_cohere_chat_response

        return from_cohere_chat_response(result, model=model, response_id=response_id)
    if answered == COHEREV2:
        from core.chat.cohere_v2 import from_cohere_v2_chat_response

        return from_cohere_v2_chat_response(result, model=model, response_id=response_id)
    from core.chat.generic import from_generic_chat_response

    return from_generic_chat_response(result, model=model, response_id=response_id)
