"""Native pass-through: an alias sends ``/v1/responses`` to OCI's own ``/openai/v1/responses`` (the emulator's),
signed, with the project OCID, answers and events passed through unchanged; the key's allow-list still applies,
usage is logged from ``response.completed``, and stored responses are reachable only by the key that made them."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from local.emulator.responses import frames
from tests.contract.conftest import chat_calls

pytestmark = pytest.mark.integration

PROJECT = "ocid1.generativeaiproject.oc1.us-chicago-1.amaaaaaaproject"
ALIASES = {"oss-native": {"model": "openai.gpt-oss-120b", "responses": "native"},
           "oss-bridged": "openai.gpt-oss-120b"}
WEATHER = {"type": "function", "name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


@pytest.fixture
def native_front(gateway_front_factory, emulator):
    emulator.objectstorage.create_bucket("responses")
    return gateway_front_factory({"MODEL_ALIASES": json.dumps(ALIASES), "OCI_GENAI_PROJECT_ID": PROJECT,
                                  "RESPONSES_BUCKET": "emulatorns/responses"})


def client_for(front, key_id: str, allowed: str = "*") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{front.url}/v1", api_key="sk-anything", max_retries=0,
                         default_headers={"X-Gateway-Key-Id": key_id, "X-Gateway-Allowed-Models": allowed})


def native_calls(emulator, method: str = "POST") -> list:
    calls = [r for r in emulator.requests if r.path.startswith("/openai/v1/responses") and r.method == method]
    assert all(c.verified for c in calls), [c.verify_reason for c in calls]
    return calls


def owner_record(emulator, response_id: str) -> dict | None:
    found = emulator.objectstorage.get("responses", f"responses/{response_id}.json")
    return json.loads(found.data) if found else None


def test_create_is_forwarded_signed_with_the_project(native_front, emulator):
    alice = client_for(native_front, "key-alice")
    response = alice.responses.create(model="oss-native", input="hello native", tools=[WEATHER], tool_choice="none")
    assert response.output_text == "Echo: hello native" and response.model == "openai.gpt-oss-120b"
    [call] = native_calls(emulator)
    assert call.headers["openai-project"] == PROJECT
    assert call.json["model"] == "openai.gpt-oss-120b" and call.json["store"] is True
    assert call.json["tools"] == [WEATHER]  # forwarded as sent: OCI runs its own tools
    assert chat_calls(emulator) == []  # not bridged
    assert owner_record(emulator, response.id) == {"version": 1, "kind": "native", "id": response.id,
                                                   "owner": "key-alice", "model": "openai.gpt-oss-120b",
                                                   "region": None, "alias": "oss-native"}


def test_events_pass_through_unchanged(native_front, emulator):
    alice = client_for(native_front, "key-alice")
    with alice.responses.stream(model="oss-native", input="stream me please") as stream:
        types = []
        for event in stream:
            if event.type == "response.created":  # the owner is recorded before the id reaches the caller
                assert owner_record(emulator, event.response.id)["owner"] == "key-alice"
            types.append(event.type)
        final = stream.get_final_response()
    assert types[0] == "response.created" and types[-1] == "response.completed"
    assert final.output_text == "Echo: stream me please"
    with httpx.stream("POST", f"{native_front.url}/v1/responses", timeout=30,
                      headers={"X-Gateway-Key-Id": "key-alice", "X-Gateway-Allowed-Models": "*"},
                      json={"model": "oss-native", "input": "compare me", "stream": True}) as answer:
        events = [json.loads(line[len("data: "):]) for line in answer.iter_lines() if line.startswith("data: ")]
    kept = emulator.responses.responses[events[-1]["response"]["id"]]["response"]
    assert events[-1] == {"type": "response.completed", "response": kept, "sequence_number": len(events) - 1}


def test_raw_stream_bytes_are_oci_bytes(native_front, emulator):
    with httpx.stream("POST", f"{native_front.url}/v1/responses", timeout=30,
                      headers={"X-Gateway-Key-Id": "key-alice", "X-Gateway-Allowed-Models": "*"},
                      json={"model": "oss-native", "input": "bytes", "stream": True}) as answer:
        body = b"".join(answer.iter_bytes())
    first = json.loads(body.split(b"\n")[1][len(b"data: "):])
    sent = emulator.responses.responses[first["response"]["id"]]["response"]
    assert body == b"".join(frames(sent))  # exactly what OCI wrote


def test_stored_native_responses_are_forwarded_for_their_owner_only(native_front, emulator):
    alice, bob = client_for(native_front, "key-alice"), client_for(native_front, "key-bob")
    first = alice.responses.create(model="oss-native", input="alice asks")
    for attempt in (lambda: bob.responses.retrieve(first.id), lambda: bob.responses.delete(first.id),
                    lambda: bob.responses.input_items.list(first.id)):
        with pytest.raises(openai.NotFoundError):
            attempt()
    with pytest.raises(openai.BadRequestError) as continued:
        bob.responses.create(model="oss-native", input="and?", previous_response_id=first.id)
    assert continued.value.body["code"] == "previous_response_not_found"
    assert len(native_calls(emulator)) == 1 and native_calls(emulator, "GET") == []  # bob reached nothing
    assert alice.responses.retrieve(first.id).output_text == "Echo: alice asks"
    assert [item.type for item in alice.responses.input_items.list(first.id).data] == ["message"]
    second = alice.responses.create(model="oss-native", input="alice again", previous_response_id=first.id)
    assert native_calls(emulator)[-1].json["previous_response_id"] == first.id
    assert second.output_text == "Echo: alice again"
    emulator.responses.pop(second.id)  # expired at OCI
    with pytest.raises(openai.NotFoundError) as gone:
        alice.responses.retrieve(second.id)
    assert gone.value.body["code"] == "response_not_found"
    alice.responses.delete(first.id)
    assert owner_record(emulator, first.id) is None and first.id not in emulator.responses.responses
    assert [c.method for c in emulator.requests if c.path.startswith("/openai/v1/responses/")] == [
        "GET", "GET", "GET", "DELETE"]


def test_native_and_bridged_conversations_do_not_mix(native_front, emulator):
    alice = client_for(native_front, "key-alice")
    bridged = alice.responses.create(model="oss-bridged", input="bridged")
    native = alice.responses.create(model="oss-native", input="native")
    for model, previous in (("oss-native", bridged.id), ("oss-bridged", native.id)):
        with pytest.raises(openai.BadRequestError) as caught:
            alice.responses.create(model=model, input="next", previous_response_id=previous)
        assert caught.value.body["code"] == "previous_response_elsewhere"


def test_allow_list_applies_before_forwarding(native_front, emulator):
    limited = client_for(native_front, "key-limited", allowed="meta.*")
    with pytest.raises(openai.PermissionDeniedError):
        limited.responses.create(model="oss-native", input="x")
    assert native_calls(emulator) == []


def test_oci_errors_are_passed_on(gateway_front_factory, emulator):
    front = gateway_front_factory({"MODEL_ALIASES": json.dumps(ALIASES)})  # no project OCID configured
    with pytest.raises(openai.BadRequestError) as caught:
        client_for(front, "key-alice").responses.create(model="oss-native", input="x")
    assert caught.value.body["code"] == "project_required" and "OpenAI-Project" in caught.value.body["message"]


def test_usage_is_logged_and_models_say_which_path(native_front, emulator):
    alice = client_for(native_front, "key-alice")
    response = alice.responses.create(model="oss-native", input="count my tokens")
    with alice.responses.stream(model="oss-native", input="and these too") as stream:
        streamed = stream.get_final_response()
    lines = [json.loads(line) for line in native_front.pool.log_text().splitlines() if line.startswith("{")]
    logged = [(line.get("prompt_tokens"), line.get("completion_tokens")) for line in lines
              if line.get("event") in ("request", "stream_end") and line.get("model") == "oss-native"]
    assert (response.usage.input_tokens, response.usage.output_tokens) in logged
    assert (streamed.usage.input_tokens, streamed.usage.output_tokens) in logged
    models = {m.id: m for m in alice.models.list()}
    assert models["oss-native"].capabilities["responses"] == "native"  # type: ignore[attr-defined]
    assert models["oss-bridged"].capabilities["responses"] == "bridge"  # type: ignore[attr-defined]
    assert models["meta.llama-3.3-70b-instruct"].capabilities["responses"] == "bridge"  # type: ignore[attr-defined]
