"""OCI's own Responses API errors, as the caller sees them."""

from __future__ import annotations

import json

from core.responses import records
from core.responses.native import passed_on


def test_openai_shaped_errors_pass_on_unchanged():
    error = passed_on(400, json.dumps({"error": {"message": "Bad tool", "type": "invalid_request_error",
                                                 "param": "tools[0]", "code": "invalid_tool"}}).encode())
    assert (error.status, error.message, error.param, error.code) == (400, "Bad tool", "tools[0]", "invalid_tool")


def test_oci_shaped_errors_get_the_usual_mapping():
    gone = records.response_not_found("resp_1")
    body = json.dumps({"code": "NotAuthorizedOrNotFound", "message": "nope"}).encode()
    assert passed_on(404, body, missing=gone) is gone  # a forwarded GET of a response OCI no longer has
    unknown = passed_on(404, body, model="my-alias", known_model=False)
    assert unknown.code == "model_not_found" and "'my-alias'" in unknown.message
    garbage = passed_on(422, b"<html>")
    assert garbage.status == 400 and "<html>" in garbage.message
