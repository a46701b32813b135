"""Which OpenAI chat parameters each OCI chat format can take, and what happens to the rest.

A parameter a format cannot honour is a 400 naming it (``param`` set), unless the
operator set ``DROP_UNSUPPORTED_PARAMS`` (like LiteLLM's ``drop_params``), in which
case it is removed before translation. Parameters that change nothing a caller can
observe (``user``, ``store``...) are always dropped silently.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from core.catalog import COHERE, COHEREV2, GENERIC, ModelInfo
from core.chat.request import ChatRequest
from core.errors import invalid_request

# Accepted and dropped without a word: they have no OCI equivalent and no visible effect.
HARMLESS = frozenset({"user", "store", "service_tier", "max_retries", "safety_identifier", "prompt_cache_key"})

# Always translated (when the value is representable) by every format.
_CORE = frozenset({
    "model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "stop", "stream",
    "stream_options", "seed", "frequency_penalty", "presence_penalty", "tools", "response_format", "n", "top_k",
})

SUPPORTED: dict[str, frozenset[str]] = {
    GENERIC: _CORE | {"tool_choice", "parallel_tool_calls", "logprobs", "top_logprobs", "logit_bias",
                      "reasoning_effort", "metadata", "verbosity", "prediction", "web_search_options"},
    COHERE: _CORE | {"tool_choice", "parallel_tool_calls", "metadata"},
    COHEREV2: _CORE | {"tool_choice", "parallel_tool_calls", "logprobs", "reasoning_effort", "metadata"},
}

# Everything the OpenAI chat API defines that some format might not take.
KNOWN = frozenset().union(*SUPPORTED.values()) | HARMLESS | {"functions", "function_call", "modalities", "audio"}

# ChatRequest field(s) cleared when a parameter is dropped.
_FIELDS: dict[str, tuple[str, ...]] = {
    "tools": ("tools", "tool_choice", "tool_choice_name"), "tool_choice": ("tool_choice", "tool_choice_name"),
    "logprobs": ("logprobs", "top_logprobs"), "stream_options": ("include_usage",),
}
_REQUEST_FIELDS = frozenset(f.name for f in fields(ChatRequest))


def _unsupported_value(request: ChatRequest, fmt: str, info: ModelInfo) -> tuple[str, str] | None:
    """A supported parameter whose *value* this format or model cannot honour: (param, reason)."""
    return _format_cannot(request, fmt) or _model_cannot(request, fmt, info)


def _format_cannot(request: ChatRequest, fmt: str) -> tuple[str, str] | None:
    """A value the chat format itself has no way to express."""
    if request.n is not None and request.n > 1 and fmt != GENERIC:
        return "n", "Cohere models return one choice per request"
    if fmt == COHERE:
        if request.tool_choice in ("required", "function"):
            return "tool_choice", "Cohere Command R/R+ (COHERE format) cannot be forced to call a tool"
        if request.parallel_tool_calls is False:
            return "parallel_tool_calls", "Cohere Command R/R+ always may call tools in parallel"
    if fmt == COHEREV2 and request.top_logprobs:
        return "top_logprobs", "COHEREV2 returns the chosen tokens' log probabilities only"
    return None


def _model_cannot(request: ChatRequest, fmt: str, info: ModelInfo) -> tuple[str, str] | None:
    """A value the format could carry but this model does not support."""
    if request.reasoning_effort is not None and not info.reasoning and info.known:
        return "reasoning_effort", f"{info.id} is not a reasoning model"
    if request.tools and not info.tools:
        return "tools", f"{info.id} does not support tool calling"
    if (request.response_format is not None and request.response_format.type == "json_schema"
            and not info.json_schema and fmt == GENERIC and info.known):
        return "response_format", f"{info.id} does not support JSON schema output"
    return None


def apply_param_policy(request: ChatRequest, fmt: str, info: ModelInfo, *, drop_unsupported: bool) -> ChatRequest:
    """Return the request with parameters this format cannot take removed, or raise a 400 naming one."""
    cleared: dict[str, Any] = {}
    for param in _unsupported_params(request.raw, SUPPORTED[fmt]):
        if not drop_unsupported:
            raise invalid_request(
                f"'{param}' is not supported by {info.id} (OCI {fmt} format). Remove it, or ask the operator to "
                "set DROP_UNSUPPORTED_PARAMS=true to have the gateway drop it.",
                param=param, code="unsupported_parameter")
        cleared.update(_cleared_fields(param))
    while (problem := _unsupported_value(_without(request, cleared), fmt, info)):
        param, reason = problem
        if not drop_unsupported:
            raise invalid_request(f"'{param}' cannot be honoured: {reason}.", param=param,
                                  code="unsupported_parameter")
        cleared.update(_cleared_fields(param))
    return _without(request, cleared)


def _unsupported_params(raw: dict[str, Any], supported: frozenset[str]) -> list[str]:
    """The OpenAI parameters the caller sent that this format does not take, in the order sent.

    Unknown extras (e.g. client-specific fields) are ignored like OpenAI-compatible servers do.
    """
    return [param for param, value in raw.items()
            if value is not None and param not in supported and param not in HARMLESS and param in KNOWN]


def _cleared_fields(param: str) -> dict[str, Any]:
    """The ChatRequest fields that hold ``param``, each with its "not sent" value."""
    return {name: _empty(name) for name in _FIELDS.get(param, (param,)) if name in _REQUEST_FIELDS}


def _without(request: ChatRequest, cleared: dict[str, Any]) -> ChatRequest:
    return replace(request, **cleared) if cleared else request


def _empty(name: str) -> Any:
    return {"tools": (), "stop": (), "include_usage": False}.get(name)
