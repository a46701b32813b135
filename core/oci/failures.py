"""How a caller of the OCI client turns a failed call into the OpenAI error its own caller sees.

The client reports facts (:class:`core.oci.client.UpstreamError`); the caller adds what only it
knows (the model asked for, whether the gateway knows that model) and :func:`api_error` maps the
two through :func:`core.errors.from_upstream`, the one mapping of OCI answers.

A final 5xx other than 503 carries ``x-should-retry: false``: the gateway has applied its retry rule
already (retried it, or decided that re-sending could duplicate a generation), so the openai SDK
must not re-send it on its own.
"""

from __future__ import annotations

from core.errors import SERVER, TIMEOUT, APIError, from_upstream
from core.oci.client import UpstreamError, UpstreamOutOfTime, UpstreamRefused, UpstreamStatus, UpstreamUnreachable


def api_error(failure: UpstreamError, *, model: str | None = None, known_model: bool = True) -> APIError:
    """The caller-facing error for ``failure`` (``model``/``known_model``: see :func:`from_upstream`)."""
    if isinstance(failure, UpstreamStatus):
        error = from_upstream(failure.status, failure.body, retry_after=failure.retry_after,
                              request_id=failure.request_id, known_model=known_model, model=model,
                              service=failure.service)
        if failure.status >= 500 and failure.status != 503:
            error.headers.setdefault("x-should-retry", "false")
        return error
    if isinstance(failure, UpstreamUnreachable):
        if failure.timed_out:
            return APIError(503, f"{failure.service} did not answer in time ({failure.reason}).", type=TIMEOUT,
                            code="upstream_timeout")
        return APIError(503, f"Could not reach {failure.service}, or it broke off its answer ({failure.reason}).",
                        type=SERVER, code="upstream_unreachable")
    if isinstance(failure, UpstreamOutOfTime):
        return APIError(503, "The request ran out of time before OCI answered; try again or raise the function "
                             "timeout.", type=TIMEOUT, code="deadline_exceeded")
    assert isinstance(failure, UpstreamRefused)
    return APIError(500, f"The gateway could not send the request: {failure.message}.", type=SERVER,
                    code="upstream_request_invalid")
