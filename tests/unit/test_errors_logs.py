"""Upstream error mapping and log hygiene."""

from __future__ import annotations

import json
import logging

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
