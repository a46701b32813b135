"""Which OpenAI chat parameters each OCI chat format and model can take, and what happens to the rest.

Two passes, both before OCI is called: :func:`apply_model_rules` applies the model's row of
:mod:`core.chat.param_rules` (and what the process learned from OCI's own refusals), then
:func:`apply_param_policy` what the chosen format can express. A parameter either cannot take
is a 400 naming it (``param`` set), unless the operator set ``DROP_UNSUPPORTED_PARAMS`` (like
LiteLLM's ``drop_params``), in which case it is removed and named in the answer's
``x-gateway-dropped-params`` header. ``reasoning_effort`` on a model without that knob is
always dropped that way. Parameters that change nothing a caller can observe (``user``,
``store``...) are dropped silently.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any, Iterable

from core.catalog import COHERE, COHEREV2, GENERIC, ModelInfo
from core.chat.param_rules import NEUTRAL_VALUES, rule_for
from core.chat.request import ChatRequest
from core.errors import invalid_request

REASONING_EFFORT = "reasoning_effort"
TOKEN_LIMITS = frozenset({"max_tokens", "max_completion_tokens"})
"""Learned refusals of these switch the output-limit field rather than dropping a parameter."""

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
    if request.tools and not info.tools:
        return "tools", f"{info.id} does not support tool calling"
    if (request.response_format is not None and request.response_format.type == "json_schema"
            and not info.json_schema and fmt == GENERIC and info.known):
        return "response_format", f"{info.id} does not support JSON schema output"
    return None


def apply_model_rules(request: ChatRequest, info: ModelInfo, *, drop_unsupported: bool,
                      learned: frozenset[str] = frozenset()) -> tuple[ChatRequest, list[str]]:
    """The request without what ``info`` does not take, and the parameters dropped; or a 400 naming one.

    ``learned`` holds OpenAI parameter names OCI itself refused for this model in this process.
    """
    cleared: dict[str, Any] = {}
    dropped: list[str] = []
    removed: list[str] = []
    if _effort_dropped(request, info, drop_unsupported, learned):
        cleared[REASONING_EFFORT] = None
        dropped.append(REASONING_EFFORT)
        removed.append(REASONING_EFFORT)
    refused = rule_for(info).refuses | (learned - TOKEN_LIMITS - {REASONING_EFFORT})
    for param in sorted(p for p in refused if request.raw.get(p) is not None):
        if request.raw[param] != NEUTRAL_VALUES.get(param, object()):
            if not drop_unsupported:
                raise invalid_request(
                    f"'{param}' is not supported by {info.id}: OCI Generative AI refuses it for this model. Remove "
                    "it, or ask the operator to set DROP_UNSUPPORTED_PARAMS=true to have the gateway drop it.",
                    param=param, code="unsupported_parameter")
            dropped.append(param)
        cleared.update(_cleared_fields(param))
        removed.append(param)
    return _without(request, cleared, removed), dropped


def _effort_dropped(request: ChatRequest, info: ModelInfo, drop_unsupported: bool, learned: frozenset[str]) -> bool:
    """Whether ``reasoning_effort`` goes: always on a model without the knob, else when its value is not one."""
    effort = request.reasoning_effort
    efforts = () if REASONING_EFFORT in learned else rule_for(info).efforts
    if effort is None or efforts is None or effort in efforts:
        return False
    if efforts and not drop_unsupported:
        levels = ", ".join(f"'{e.lower()}'" for e in efforts)
        raise invalid_request(f"'reasoning_effort' {effort.lower()!r} is not a level {info.id} has; use one of "
                              f"{levels}.", param=REASONING_EFFORT, code="unsupported_value")
    return True


def apply_param_policy(request: ChatRequest, fmt: str, info: ModelInfo, *,
                       drop_unsupported: bool) -> tuple[ChatRequest, list[str]]:
    """The request without what this format cannot take, and the parameters dropped; or a 400 naming one."""
    cleared: dict[str, Any] = {}
    dropped: list[str] = []
    for param in _unsupported_params(request.raw, SUPPORTED[fmt]):
        if not drop_unsupported:
            raise invalid_request(
                f"'{param}' is not supported by {info.id} (OCI {fmt} format). Remove it, or ask the operator to "
                "set DROP_UNSUPPORTED_PARAMS=true to have the gateway drop it.",
                param=param, code="unsupported_parameter")
        cleared.update(_cleared_fields(param))
        dropped.append(param)
    while (problem := _unsupported_value(_without(request, cleared, dropped), fmt, info)):
        param, reason = problem
        if not drop_unsupported:
            raise invalid_request(f"'{param}' cannot be honoured: {reason}.", param=param,
                                  code="unsupported_parameter")
        cleared.update(_cleared_fields(param))
        dropped.append(param)
    return _without(request, cleared, dropped), dropped


def _unsupported_params(raw: dict[str, Any], supported: frozenset[str]) -> list[str]:
    """The OpenAI parameters the caller sent that this format does not take, in the order sent.

    Unknown extras (e.g. client-specific fields) are ignored like OpenAI-compatible servers do.
    """
    return [param for param, value in raw.items()
            if value is not None and param not in supported and param not in HARMLESS and param in KNOWN]


def _cleared_fields(param: str) -> dict[str, Any]:
    """The ChatRequest fields that hold ``param``, each with its "not sent" value."""
    return {name: _empty(name) for name in _FIELDS.get(param, (param,)) if name in _REQUEST_FIELDS}


def _without(request: ChatRequest, cleared: dict[str, Any], params: Iterable[str] = ()) -> ChatRequest:
    """The request with ``cleared`` fields reset and the OpenAI ``params`` gone from its raw body too."""
    gone = set(params)
    if not cleared and not gone:
        return request
    raw = {key: value for key, value in request.raw.items() if key not in gone}
    return replace(request, **cleared, raw=raw)


def _empty(name: str) -> Any:
    return {"tools": (), "stop": (), "include_usage": False}.get(name)
