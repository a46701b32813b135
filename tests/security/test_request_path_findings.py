"""The request path's findings of the security review, one test each (images and limits have their own files:
test_image_budget.py and tests/unit/test_chat_limits.py)."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
import respx

from adapters.fdk_debug import REDACTED, RedactCredentials, guard, redact
from core.exchange import HTTP, Headers, Request
from handlers.router import dispatch
from tests.conftest import GENAI
from tests.support.runtime import reset_settings

LLAMA = "meta.llama-3.3-70b-instruct"
ENDPOINT = "ocid1.generativeaiendpoint.oc1.us-chicago-1.amaaaaaaotherteam"
ALIASES = {"team-llama": {"model": LLAMA, "endpoint": ENDPOINT, "compartment": "ocid1.compartment.oc1..billed"}}


def chat(model: str, headers: dict | None = None) -> Request:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    return Request(method="POST", path="/v1/chat/completions", body=json.dumps(body).encode(), kind=HTTP,
                   headers=Headers({"content-type": "application/json", **(headers or {})}))


def key(models: str) -> dict[str, str]:
    return {"x-gateway-key-id": "abcdefghijkl", "x-gateway-allowed-models": models}


ANSWER = {"modelId": LLAMA, "chatResponse": {"apiFormat": "GENERIC", "choices": [
    {"index": 0, "finishReason": "stop", "message": {"role": "ASSISTANT", "content": [{"type": "TEXT", "text": "ok"}]}}]}}


async def test_an_allow_list_naming_an_oci_id_does_not_open_its_aliases(gateway_env):
    gateway_env.setenv("MODEL_ALIASES", json.dumps(ALIASES))
    reset_settings()
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(f"{GENAI}/actions/chat").mock(return_value=httpx.Response(200, json=ANSWER))
        refused = await dispatch(chat("team-llama", key(LLAMA)))
        assert refused.status == 403 and json.loads(refused.body)["error"]["code"] == "model_not_allowed"
        assert route.call_count == 0  # refused before OCI: nothing billed to the alias's compartment
        assert (await dispatch(chat(LLAMA, key(LLAMA)))).status == 200
        assert (await dispatch(chat("team-llama", key(f"{LLAMA},team-llama")))).status == 200
    listed = await dispatch(Request(method="GET", path="/v1/models", kind=HTTP, headers=Headers(key(LLAMA))))
    assert "team-llama" not in {m["id"] for m in json.loads(listed.body)["data"]}


@pytest.mark.parametrize("served, status", [(None, 404), ("meta.*", 404), ("meta.*,ocid1.generativeaiendpoint.*", 200),
                                            (ENDPOINT, 200)])
async def test_a_raw_dedicated_endpoint_ocid_is_served_only_when_served_models_names_it(gateway_env, served, status):
    if served:
        gateway_env.setenv("SERVED_MODELS", served)
    reset_settings()
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(f"{GENAI}/actions/chat").mock(return_value=httpx.Response(200, json=ANSWER))
        answer = await dispatch(chat(ENDPOINT))
    assert answer.status == status
    assert route.call_count == (1 if status == 200 else 0)
    if status == 404:
        assert json.loads(answer.body)["error"]["code"] == "model_not_found"


@pytest.mark.parametrize("line", [
    "request headers. gateway: True {'fn-http-h-authorization': 'Bearer SECRET', 'host': 'h'}",
    "{'Authorization': \"Bearer it's SECRET\"}",
    "{'x-api-key': 'SECRET', 'Fn-Http-H-Cookie': 'a=SECRET'}",
    "{'proxy-authorization': ['Basic SECRET']}",
])
def test_credential_header_values_are_redacted(line):
    cleaned = redact(line)
    assert "SECRET" not in cleaned and REDACTED in cleaned


def test_fdk_debug_guard_logs_one_error_and_filters_the_fdk_logger():
    fdk_logger = logging.getLogger("fdk")
    before = list(fdk_logger.filters)
    try:
        assert guard({}) is False and fdk_logger.filters == before
        assert guard({"FDK_DEBUG": "1"}) is True and guard({"FDK_DEBUG": "yes"}) is True
        installed = [f for f in fdk_logger.filters if isinstance(f, RedactCredentials)]
        assert len(installed) == 1  # a second start of the guard adds nothing (and logs no second ERROR)
        record = logging.LogRecord("fdk", logging.DEBUG, __file__, 1, "headers %s",
                                   ({"authorization": "Bearer SECRET"},), None)
        assert installed[0].filter(record) and "SECRET" not in record.getMessage()
    finally:
        fdk_logger.filters[:] = before
        for handler in logging.getLogger().handlers:
            handler.filters[:] = [f for f in handler.filters if not isinstance(f, RedactCredentials)]
