"""Upstream error mapping and log hygiene."""

from __future__ import annotations

import json
import logging

import pytest

from core import logs
from core.errors import APIError, from_upstream, upstream_message


def test_502_and_504_are_never_answered():
    assert APIError(502, "x").status == 503 and APIError(504, "x").status == 503


def test_nested_json_message_unwrapped():
    code, message = upstream_message(json.dumps({"code": "400", "message": json.dumps(
        {"code": "Client specified an invalid argument", "error": "Invalid request content: Invalid function schema."})}))
    assert code == "400" and message == "Invalid request content: Invalid function schema."


def test_plain_text_and_garbage_bodies():
    assert upstream_message(b"<html>oops</html>") == (None, "<html>oops</html>")
    assert upstream_message(b"") == (None, None)
    assert from_upstream(500, b"\xff\xfe").status == 500


def test_tool_call_id_mismatch_keeps_ocis_words():
    err = from_upstream(400, json.dumps({"code": "400", "message": "Invalid parameter: 'toolCallId' of 'call_1' not "
                                         "found in 'toolCalls' of previous message."}))
    assert err.status == 400 and "toolCallId" in err.message


def test_log_lines_are_json_and_drop_secret_fields(capsys):
    logs.configure("INFO")
    logs.log_event("request", route="chat", status=200, prompt_tokens=5, authorization="Bearer sk-live",
                   private_key="-----BEGIN", token="ST$abc", messages=[{"content": "a prompt"}])
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["event"] == "request" and record["prompt_tokens"] == 5 and record["status"] == 200
    for forbidden in ("sk-live", "BEGIN", "ST$abc", "a prompt"):
        assert forbidden not in line


def test_noisy_libraries_quieted():
    logging.getLogger("httpcore").setLevel(logging.DEBUG)
    logs.configure("INFO")
    assert logging.getLogger("httpcore").level == logging.WARNING
    assert logging.getLogger("httpx").level == logging.WARNING


@pytest.mark.parametrize("status, kwargs, expected", [
    (400, {}, (400, "invalid_request_error", "NotValid", {})),
    (422, {}, (400, "invalid_request_error", "NotValid", {})),
    (401, {}, (500, "server_error", "gateway_auth_failed", {"x-should-retry": "false"})),
    (403, {"known_model": False}, (503, "server_error", "gateway_not_authorized", {"x-should-retry": "false"})),
    (404, {"model": "m"}, (404, "not_found_error", "model_not_found", {})),
    (404, {}, (404, "not_found_error", "NotValid", {})),
    (413, {}, (413, "invalid_request_error", "request_too_large", {})),
    (429, {"retry_after": "3"}, (429, "rate_limit_error", "rate_limit_exceeded", {"retry-after": "3"})),
    (409, {}, (409, "invalid_request_error", "NotValid", {})),
    (501, {}, (500, "server_error", "NotValid", {})),
    (502, {"retry_after": "3"}, (503, "server_error", "upstream_unavailable", {"retry-after": "3"})),
    (503, {}, (503, "server_error", "upstream_unavailable", {})),
])
def test_upstream_status_mapping(status, kwargs, expected):
    err = from_upstream(status, json.dumps({"code": "NotValid", "message": "why"}), **kwargs)
    assert (err.status, err.type, err.code, err.headers) == expected


def test_not_authorized_or_not_found_depends_on_whether_the_gateway_knows_the_model():
    body = json.dumps({"code": "NotAuthorizedOrNotFound", "message": "no"})
    assert from_upstream(404, body, known_model=True, request_id="r1").code == "gateway_not_authorized"
    assert "(opc-request-id r1)" in from_upstream(404, body, known_model=True, request_id="r1").message
    unknown = from_upstream(404, body, known_model=False, model="m")
    assert (unknown.status, unknown.code, unknown.param) == (404, "model_not_found", "model")


@pytest.mark.parametrize("message, param", [
    ("Model does not support parameter reasoningEffort", "reasoning_effort"),
    ("Model xai.grok-4.3 does not support parameter presencePenalty.", "presence_penalty"),
    ("Invalid request: model does not support the parameter 'stopSequences'", "stop"),
    ("Model does not support parameter maxTokens", "max_tokens"),
    ("Model does not support parameter chatRequest.someNewField", "some_new_field"),
])
def test_oci_refusing_a_parameter_names_the_openai_parameter(message, param):
    err = from_upstream(400, json.dumps({"code": "400", "message": message}))
    assert (err.status, err.param, err.code) == (400, param, "unsupported_parameter")
    assert message.rstrip(".") in err.message  # OCI's words stay


def test_oci_404_naming_the_model_is_model_not_found_even_for_a_known_model():
    body = json.dumps({"code": "NotAuthorizedOrNotFound", "message": "Entity with key cohere.command-a-vision not found"})
    err = from_upstream(404, body, known_model=True, model="cohere.command-a-vision")
    assert (err.status, err.code, err.param) == (404, "model_not_found", "model")
    assert "cohere.command-a-vision" in err.message and "IAM" not in err.message
    # OCI's generic answer stays the operator's IAM problem.
    iam = json.dumps({"code": "NotAuthorizedOrNotFound", "message": "Authorization failed or requested resource not "
                                                                    "found."})
    assert from_upstream(404, iam, known_model=True, model="cohere.command-a-vision").code == "gateway_not_authorized"


def test_a_format_mismatch_has_its_own_code():
    body = json.dumps({"code": "400", "message": "Chat request type does not match serving model."})
    assert from_upstream(400, body).code == "chat_format_mismatch"


def test_a_429_always_tells_the_caller_when_to_retry_and_reads_as_one_sentence():
    err = from_upstream(429, json.dumps({"code": "TooManyRequests", "message": "Too many requests for the tenant."}))
    assert err.headers == {"retry-after": "2"}
    assert "tenant. Retry later." in err.message and ".." not in err.message
    assert from_upstream(429, "{}", retry_after="7").headers == {"retry-after": "7"}
