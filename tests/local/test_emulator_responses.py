"""The emulator's ``/openai/v1/responses``: signed like every OCI call, a project required, agentic models only,
stored responses with GET/DELETE/input_items, and a stream the openai SDK's event models accept."""

from __future__ import annotations

import json

from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from local.emulator.responses import frames
from tests.local.test_emulator import (  # noqa: F401 - fixtures shared with the emulator's main tests
    emu, http, post, private_key, server, sign, signer)

PROJECT = {"OpenAI-Project": "ocid1.generativeaiproject.oc1.us-chicago-1.p"}
PATH = "/openai/v1/responses"


def call(http, signer, method: str, path: str, headers: dict | None = None):
    signed = sign(signer, method, f"{http.base_url}{path}", b"", {**PROJECT, **(headers or {})})
    return http.request(method, path, headers=signed)


def test_answers_agentic_models_and_keeps_them(emu, http, signer):
    created = post(http, signer, PATH, {"model": "openai.gpt-oss-120b", "input": "hi there"}, headers=PROJECT)
    assert created.status_code == 200, created.text
    response = Response.model_validate(created.json())
    assert response.output_text == "Echo: hi there" and response.store is True
    assert call(http, signer, "GET", f"{PATH}/{response.id}").json() == created.json()
    items = call(http, signer, "GET", f"{PATH}/{response.id}/input_items").json()
    assert [i["type"] for i in items["data"]] == ["message"]
    follow = post(http, signer, PATH, {"model": "xai.grok-4", "input": "again", "previous_response_id": response.id},
                  headers=PROJECT)
    assert follow.json()["output"][0]["content"][0]["text"] == "Echo: again"
    assert call(http, signer, "DELETE", f"{PATH}/{response.id}").json()["deleted"] is True
    assert call(http, signer, "GET", f"{PATH}/{response.id}").status_code == 404


def test_refuses_what_oci_refuses(emu, http, signer):
    no_project = post(http, signer, PATH, {"model": "openai.gpt-oss-120b", "input": "x"})
    assert no_project.status_code == 400 and no_project.json()["error"]["code"] == "project_required"
    meta = post(http, signer, PATH, {"model": "meta.llama-3.3-70b-instruct", "input": "x"}, headers=PROJECT)
    assert meta.status_code == 400 and meta.json()["error"]["code"] == "model_not_supported"
    unsigned = http.post(PATH, json={"model": "openai.gpt-oss-120b", "input": "x"}, headers=PROJECT)
    assert unsigned.status_code == 401
    other_project = post(http, signer, PATH, {"model": "openai.gpt-oss-120b", "input": "x"}, headers=PROJECT)
    response_id = other_project.json()["id"]
    elsewhere = sign(signer, "GET", f"{http.base_url}{PATH}/{response_id}", b"", {"OpenAI-Project": "ocid1.other"})
    assert http.get(f"{PATH}/{response_id}", headers=elsewhere).status_code == 404


def test_tool_calls_and_stream_events(emu, http, signer):
    tool = {"type": "function", "name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
    answer = post(http, signer, PATH, {"model": "openai.gpt-oss-120b", "input": "weather in Oslo", "tools": [tool],
                                       "stream": True}, headers=PROJECT)
    assert answer.headers["content-type"] == "text/event-stream"  # no charset, like the service
    events = [json.loads(line[6:]) for line in answer.text.splitlines() if line.startswith("data: ")]
    adapter = TypeAdapter(ResponseStreamEvent)
    for event in events:
        adapter.validate_python(event)
    final = events[-1]["response"]
    assert final["output"][0]["type"] == "function_call" and json.loads(final["output"][0]["arguments"]) == {
        "city": "Oslo"}
    assert answer.content == b"".join(frames(emu.responses.responses[final["id"]]["response"]))
