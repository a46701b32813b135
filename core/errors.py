"""Errors a caller can see, in OpenAI's shape, and the mapping of OCI's errors onto them.

Every failure that leaves the gateway is an :class:`APIError`: an HTTP status plus
``{"error": {"message", "type", "param", "code"}}``. Handlers raise it; the router
turns it into a response. Nothing else (no traceback, no repr of an exception)
reaches a caller.

Two rules shape the upstream mapping:

* The gateway's own credentials failing (OCI 401, or 404 NotAuthorizedOrNotFound
  for a model the gateway knows) is the operator's problem, not the caller's: a
  401 would make the openai SDK blame the caller's API key. Those become 500/503
  with a message that says what to check.
* The handler never answers 502 or 504: OCI Functions discards the body of those
  (the platform treats them as its own failures). Upstream gateway errors become 503.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

# OpenAI error "type" values clients switch on.
INVALID_REQUEST = "invalid_request_error"
AUTHENTICATION = "authentication_error"
PERMISSION = "permission_error"
NOT_FOUND = "not_found_error"
RATE_LIMIT = "rate_limit_error"
SERVER = "server_error"
UPSTREAM = "upstream_error"
TIMEOUT = "timeout_error"


class ConfigError(Exception):
    """The deployment is misconfigured (bad setting, missing or malformed credential).

    The message names the setting and never contains a secret value.
    """


class APIError(Exception):
    """A failure to report to the caller as an OpenAI error response."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = INVALID_REQUEST,
        param: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        if status in (502, 504):  # the platform throws these bodies away
            status = 503
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def body_bytes(self) -> bytes:
        return json.dumps(self.body(), ensure_ascii=False).encode()

    def __repr__(self) -> str:
        return f"APIError({self.status}, {self.message!r}, code={self.code!r})"


def invalid_request(message: str, param: str | None = None, code: str | None = "invalid_request") -> APIError:
    return APIError(400, message, type=INVALID_REQUEST, param=param, code=code)


def not_found(message: str, code: str = "not_found", param: str | None = None) -> APIError:
    return APIError(404, message, type=NOT_FOUND, param=param, code=code)


def model_not_found(model: str) -> APIError:
    return APIError(
        404,
        f"The model '{model}' does not exist or is not served by this gateway. If it exists in OCI Generative AI, "
        "the gateway's IAM policy may not allow it in this region/compartment.",
        type=NOT_FOUND,
        param="model",
        code="model_not_found",
    )


def model_unknown_to_oci(model: str, detail: str) -> APIError:
    """OCI itself answered that it has no such model (in this region)."""
    return APIError(404, f"OCI Generative AI does not serve the model '{model}' in this region ({detail}).",
                    type=NOT_FOUND, param="model", code="model_not_found")


def config_error(exc: ConfigError) -> APIError:
    return APIError(
        500, f"Gateway misconfigured: {exc}. The operator must fix the function configuration.",
        type=SERVER, code="gateway_misconfigured",
    )


def upstream_message(body: bytes | str | None) -> tuple[str | None, str | None]:
    """Pull (code, message) out of an OCI error body.

    OCI answers ``{"code": ..., "message": ...}``; the message is sometimes itself a
    JSON document (``{"code":..., "error": "Invalid request content: ..."}``): unwrap it.
    """
    if body is None:
        return None, None
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        return None, (text.strip()[:500] or None)
    if not isinstance(data, dict):
        return None, str(data)[:500]
    code = data.get("code")
    message = _unwrap_json_message(data.get("message"))
    if message is not None and not isinstance(message, str):
        message = json.dumps(message)
    return (str(code) if code is not None else None), message


def _unwrap_json_message(message: Any) -> Any:
    """A message that is itself a JSON object, replaced by its ``error`` or ``message`` (three levels at most)."""
    for _ in range(3):
        inner = _json_object(message)
        if inner is None:
            break
        message = inner.get("error") or inner.get("message") or message
        if isinstance(message, dict):
            message = message.get("message") or json.dumps(message)
    return message


def _json_object(value: Any) -> dict[str, Any] | None:
    """The object a string holding a JSON object decodes to; None for anything else."""
    if not isinstance(value, str) or not value.lstrip().startswith("{"):
        return None
    try:
        decoded = json.loads(value)
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else None


@dataclass(frozen=True)
class _UpstreamFailure:
    """One OCI error response and what the gateway knows about the call that got it."""

    status: int
    code: str | None
    detail: str
    service: str
    request_note: str
    """`` (opc-request-id ...)`` to append to operator-facing messages, or ``""``."""
    retry_after: str | None
    known_model: bool
    model: str | None


def _retry_after_headers(failure: _UpstreamFailure) -> dict[str, str]:
    return {"retry-after": failure.retry_after} if failure.retry_after else {}


UNSUPPORTED_PARAMETER = re.compile(r"does not support (?:the )?parameter[:\s]+'?\"?([A-Za-z_.]+)")
"""OCI's 400 for a parameter a model does not take: 'Model ... does not support parameter reasoningEffort'."""
FORMAT_MISMATCH = "Chat request type does not match serving model"
"""OCI's 400 when a dedicated endpoint hosts a model of another chat format (a Cohere model sent GENERIC)."""

OCI_PARAMETERS = {
    "reasoningEffort": "reasoning_effort", "thinking": "reasoning_effort", "presencePenalty": "presence_penalty",
    "frequencyPenalty": "frequency_penalty", "stop": "stop", "stopSequences": "stop", "topK": "top_k", "topP": "top_p",
    "seed": "seed", "logProbs": "logprobs", "isLogProbsEnabled": "logprobs", "maxTokens": "max_tokens",
    "maxCompletionTokens": "max_completion_tokens", "temperature": "temperature", "numGenerations": "n",
    "logitBias": "logit_bias", "responseFormat": "response_format", "tools": "tools", "toolChoice": "tool_choice",
    "toolsChoice": "tool_choice", "isParallelToolCalls": "parallel_tool_calls", "verbosity": "verbosity",
    "prediction": "prediction", "webSearchOptions": "web_search_options", "metadata": "metadata",
    "serviceTier": "service_tier",
}
"""OCI's chat field names and the OpenAI parameter each one carries."""


def openai_parameter(oci_field: str) -> str:
    """The OpenAI name of an OCI chat field (``reasoningEffort`` -> ``reasoning_effort``)."""
    name = oci_field.strip(".").rsplit(".", 1)[-1]
    return OCI_PARAMETERS.get(name) or re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _rejected(failure: _UpstreamFailure) -> APIError:
    found = UNSUPPORTED_PARAMETER.search(failure.detail)
    if found:
        param = openai_parameter(found.group(1))
        return APIError(400, f"{failure.service} rejected the request: {failure.detail} (OpenAI parameter "
                             f"'{param}').", param=param, code="unsupported_parameter")
    if FORMAT_MISMATCH.lower() in failure.detail.lower():
        return APIError(400, f"{failure.service} rejected the request: {failure.detail}", code="chat_format_mismatch")
    return APIError(400, f"{failure.service} rejected the request: {failure.detail}",
                    code=failure.code or "upstream_bad_request")


def _credentials_refused(failure: _UpstreamFailure) -> APIError:
    return APIError(
        500,
        f"{failure.service} did not accept the gateway's credentials ({failure.detail}). The operator should check "
        f"the function's credentials (resource principal, dynamic group, API key){failure.request_note}.",
        type=SERVER, code="gateway_auth_failed",
        headers={"x-should-retry": "false"},
    )


def _not_authorized(failure: _UpstreamFailure) -> APIError:
    return APIError(
        503,
        f"{failure.service} refused the gateway ({failure.code or failure.status}: {failure.detail}). The operator "
        "should check the IAM policy (e.g. 'allow dynamic-group <group> to use generative-ai-family in compartment "
        f"<c>'), the compartment and that the model is offered in this region{failure.request_note}.",
        type=SERVER, code="gateway_not_authorized",
        headers={"x-should-retry": "false"},
    )


def _names_the_model(failure: _UpstreamFailure) -> bool:
    """OCI's 404 says the model itself is missing ('Entity with key <id> not found'), not who may see it."""
    detail = failure.detail.lower()
    return failure.model is not None and ("entity with key" in detail or failure.model.lower() in detail)


def _not_found(failure: _UpstreamFailure) -> APIError:
    if _names_the_model(failure):
        return model_unknown_to_oci(failure.model or "?", failure.detail)
    # Any other NotAuthorizedOrNotFound on a model the gateway knows is an IAM problem, not a missing model.
    if failure.code == "NotAuthorizedOrNotFound":
        return _not_authorized(failure) if failure.known_model else model_not_found(failure.model or "?")
    if failure.model is not None:
        return model_not_found(failure.model)
    return APIError(404, f"{failure.service}: {failure.detail}", type=NOT_FOUND, code=failure.code or "not_found")


def _too_large(failure: _UpstreamFailure) -> APIError:
    return APIError(413, f"{failure.service}: request too large: {failure.detail}", code="request_too_large")


# Seconds a throttled caller is told to wait when OCI named none (the gateway has already retried with backoff).
DEFAULT_RETRY_AFTER = "2"


def _throttled(failure: _UpstreamFailure) -> APIError:
    return APIError(
        429, f"{failure.service} is throttling requests: {failure.detail.rstrip('.')}. Retry later.",
        type=RATE_LIMIT, code="rate_limit_exceeded",
        headers={"retry-after": failure.retry_after or DEFAULT_RETRY_AFTER},
    )


def _client_error(failure: _UpstreamFailure) -> APIError:
    return APIError(failure.status, f"{failure.service}: {failure.detail}", code=failure.code or "upstream_error")


def _failed(failure: _UpstreamFailure) -> APIError:
    return APIError(500, f"{failure.service} failed: {failure.detail}{failure.request_note}", type=SERVER,
                    code=failure.code or "upstream_error")


def _unavailable(failure: _UpstreamFailure) -> APIError:
    return APIError(
        503, f"{failure.service} is unavailable ({failure.status}): {failure.detail}{failure.request_note}",
        type=SERVER, code="upstream_unavailable", headers=_retry_after_headers(failure),
    )


_BY_STATUS: dict[int, Callable[[_UpstreamFailure], APIError]] = {
    400: _rejected,
    401: _credentials_refused,
    403: _not_authorized,
    404: _not_found,
    413: _too_large,
    422: _rejected,
    429: _throttled,
    500: _failed,
    501: _failed,
}
"""OCI statuses with their own mapping; any other 4xx is a client error and anything else unavailability."""


def from_upstream(
    status: int,
    body: bytes | str | None,
    *,
    retry_after: str | None = None,
    request_id: str | None = None,
    known_model: bool = True,
    model: str | None = None,
    service: str = "OCI Generative AI",
) -> APIError:
    """Map an OCI error response to the error the caller should see."""
    code, message = upstream_message(body)
    failure = _UpstreamFailure(
        status=status, code=code, detail=message or "no message", service=service,
        request_note=f" (opc-request-id {request_id})" if request_id else "",
        retry_after=retry_after, known_model=known_model, model=model,
    )
    default = _client_error if 400 <= status < 500 else _unavailable
    return _BY_STATUS.get(status, default)(failure)
