"""Stored responses through the emulator's Object Storage: a ``previous_response_id`` chain with the openai SDK,
``GET``/``DELETE``/``input_items`` for the owner, and a second API key refused everywhere."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.contract.conftest import CHAT_MODEL, chat_calls

pytestmark = pytest.mark.integration

BUCKET = "responses"
NAMESPACE = "emulatorns"


@pytest.fixture
def store_front(gateway_front_factory, emulator):
    emulator.objectstorage.create_bucket(BUCKET)
    return gateway_front_factory({"RESPONSES_BUCKET": f"{NAMESPACE}/{BUCKET}"})


def client_for(front, key_id: str) -> openai.OpenAI:
    # API Gateway sets both headers from the authorizer's context (OVERWRITE); the local front passes them on.
    return openai.OpenAI(base_url=f"{front.url}/v1", api_key="sk-anything", max_retries=0,
                         default_headers={"X-Gateway-Key-Id": key_id, "X-Gateway-Allowed-Models": "*"})


def stored(emulator, response_id: str) -> dict | None:
    found = emulator.objectstorage.get(BUCKET, f"responses/{response_id}.json")
    return json.loads(found.data) if found else None


def upstream_messages(emulator) -> list[tuple[str, str]]:
    messages = chat_calls(emulator)[-1].json["chatRequest"]["messages"]
    return [(m["role"], "".join(p.get("text", "") for p in m.get("content", []))) for m in messages]


def test_previous_response_id_chain_for_the_owner(store_front, emulator):
    alice = client_for(store_front, "key-alice")
    first = alice.responses.create(model=CHAT_MODEL, instructions="Be brief.", input="first question")
    assert first.store is True and stored(emulator, first.id)["owner"] == "key-alice"
    second = alice.responses.create(model=CHAT_MODEL, input="second question", previous_response_id=first.id,
                                    instructions="Be terse.")
    assert second.previous_response_id == first.id and second.output_text == "Echo: second question"
    assert upstream_messages(emulator) == [("SYSTEM", "Be terse."), ("USER", "first question"),
                                           ("ASSISTANT", "Echo: first question"), ("USER", "second question")]
    third = alice.responses.create(model=CHAT_MODEL, input="third", previous_response_id=second.id)
    assert [role for role, _ in upstream_messages(emulator)] == ["USER", "ASSISTANT", "USER", "ASSISTANT", "USER"]
    record = stored(emulator, third.id)
    assert record["input_start"] == 4 and len(record["input"]) == 5  # the whole conversation: one read continues it
    assert alice.responses.retrieve(third.id).output_text == "Echo: third"
    items = alice.responses.input_items.list(third.id)
    assert [item.type for item in items.data] == ["message"] and items.data[0].content[0].text == "third"


def test_a_second_key_cannot_read_continue_or_delete(store_front, emulator):
    alice, bob = client_for(store_front, "key-alice"), client_for(store_front, "key-bob")
    secret = alice.responses.create(model=CHAT_MODEL, input="alice's secret")
    with pytest.raises(openai.BadRequestError) as continued:
        bob.responses.create(model=CHAT_MODEL, input="what did she say?", previous_response_id=secret.id)
    assert continued.value.body["param"] == "previous_response_id"
    assert continued.value.body["code"] == "previous_response_not_found"
    for attempt in (lambda: bob.responses.retrieve(secret.id), lambda: bob.responses.delete(secret.id),
                    lambda: bob.responses.input_items.list(secret.id)):
        with pytest.raises(openai.NotFoundError):
            attempt()
    assert len(chat_calls(emulator)) == 1 and stored(emulator, secret.id) is not None
    alice.responses.delete(secret.id)
    assert stored(emulator, secret.id) is None
    with pytest.raises(openai.NotFoundError):
        alice.responses.retrieve(secret.id)


def test_store_false_keeps_nothing(store_front, emulator):
    alice = client_for(store_front, "key-alice")
    response = alice.responses.create(model=CHAT_MODEL, input="ephemeral", store=False)
    assert response.store is False and stored(emulator, response.id) is None
    with pytest.raises(openai.NotFoundError):
        alice.responses.retrieve(response.id)


def test_store_default_can_be_off(gateway_front_factory, emulator):
    emulator.objectstorage.create_bucket(BUCKET)
    front = gateway_front_factory({"RESPONSES_BUCKET": f"{NAMESPACE}/{BUCKET}", "RESPONSES_STORE_DEFAULT": "false"})
    alice = client_for(front, "key-alice")
    unsaid = alice.responses.create(model=CHAT_MODEL, input="x")
    asked = alice.responses.create(model=CHAT_MODEL, input="y", store=True)
    assert (unsaid.store, asked.store) == (False, True)
    assert stored(emulator, unsaid.id) is None and stored(emulator, asked.id)["response"]["id"] == asked.id


def test_streamed_response_is_stored_before_it_completes(store_front, emulator):
    alice = client_for(store_front, "key-alice")
    with alice.responses.stream(model=CHAT_MODEL, input="streamed question") as stream:
        for event in stream:
            if event.type == "response.completed":
                assert stored(emulator, event.response.id)["response"]["status"] == "completed"
        final = stream.get_final_response()
    follow = alice.responses.create(model=CHAT_MODEL, input="next", previous_response_id=final.id)
    assert upstream_messages(emulator)[:2] == [("USER", "streamed question"), ("ASSISTANT", "Echo: streamed question")]
    assert follow.output_text == "Echo: next"


def test_tool_round_trip_across_stored_responses(store_front, emulator):
    alice = client_for(store_front, "key-alice")
    tool = {"type": "function", "name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
    first = alice.responses.create(model=CHAT_MODEL, input="weather in Lima", tools=[tool])
    [call] = first.output
    second = alice.responses.create(model=CHAT_MODEL, tools=[tool], previous_response_id=first.id, input=[
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}])
    assert second.output_text == "Echo: sunny"
    assert [role for role, _ in upstream_messages(emulator)] == ["USER", "ASSISTANT", "TOOL"]


def test_without_a_bucket_store_is_accepted_and_nothing_kept(front, emulator):
    alice = client_for(front, "key-alice")
    response = alice.responses.create(model=CHAT_MODEL, input="x", store=True)
    assert response.store is False
    assert [r for r in emulator.requests if "/n/" in r.path] == []
    with pytest.raises(openai.NotFoundError):
        alice.responses.retrieve(response.id)
    answer = httpx.delete(f"{front.url}/v1/responses/{response.id}")
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "response_not_found"


def test_stored_response_queries_are_checked(store_front, emulator):
    alice = client_for(store_front, "key-alice")
    response = alice.responses.create(model=CHAT_MODEL, input="x")
    headers = {"X-Gateway-Key-Id": "key-alice", "X-Gateway-Allowed-Models": "*"}
    for path, param in ((f"/v1/responses/{response.id}?stream=true", "stream"),
                        (f"/v1/responses/{response.id}/input_items?limit=0", "limit"),
                        (f"/v1/responses/{response.id}/input_items?limit=ten", "limit"),
                        (f"/v1/responses/{response.id}/input_items?order=sideways", "order")):
        answer = httpx.get(f"{store_front.url}{path}", headers=headers)
        assert answer.status_code == 400 and answer.json()["error"]["param"] == param, answer.text
    wrong_method = httpx.post(f"{store_front.url}/v1/responses/{response.id}", headers=headers, json={})
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "GET, DELETE"


def test_long_token_subjects_are_owners_in_full(store_front, emulator):
    # JWT mode puts the token's subject in X-Gateway-Key-Id; log lines cut it to 64 characters, ownership must not.
    prefix = "user:" + "x" * 70
    alice, mallory = client_for(store_front, prefix + "-alice"), client_for(store_front, prefix + "-mallory")
    secret = alice.responses.create(model=CHAT_MODEL, input="mine")
    assert stored(emulator, secret.id)["owner"] == prefix + "-alice"
    with pytest.raises(openai.NotFoundError):
        mallory.responses.retrieve(secret.id)
    assert alice.responses.retrieve(secret.id).id == secret.id
