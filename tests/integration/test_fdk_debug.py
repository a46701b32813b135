"""FDK_DEBUG=1 in a deployed function: one ERROR at start, and the fdk's header dump carries no credential."""

from __future__ import annotations

import json

import pytest

from tests.support.logs import events_in as events

pytestmark = pytest.mark.integration

LLAMA = "meta.llama-3.3-70b-instruct"
KEY = "ocigw_abcdefghijkl_ThisIsTheCallersSecretThatMustNeverBeLogged0123"


def test_fdk_debug_logs_one_error_and_no_credential(gateway_factory, emulator):
    proc = gateway_factory({"FDK_DEBUG": "1"})
    body = json.dumps({"model": LLAMA, "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 5}).encode()
    for headers in ({"authorization": f"Bearer {KEY}"}, {"x-api-key": KEY}, {"cookie": f"session={KEY}"}):
        answer = proc.call_http("POST", "/v1/chat/completions", {"content-type": "application/json", **headers}, body)
        assert answer.status == 200, answer.body
    text = proc.log_text()
    assert "request headers" in text and "<redacted>" in text  # the fdk's debug dump is on, and was cleaned
    assert KEY not in text
    assert len(events(text, "fdk_debug_enabled")) == 1 and events(text, "fdk_debug_enabled")[0]["level"] == "error"


def test_without_fdk_debug_there_is_no_error(gateway_factory, emulator):
    proc = gateway_factory()
    body = json.dumps({"model": LLAMA, "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 5}).encode()
    assert proc.call_http("POST", "/v1/chat/completions", {"content-type": "application/json",
                                                           "authorization": f"Bearer {KEY}"}, body).status == 200
    text = proc.log_text()
    assert not events(text, "fdk_debug_enabled") and "request headers" not in text and KEY not in text
