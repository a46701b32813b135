"""Stored response records: ownership, the conversation a continuation reads, listed input items."""

from __future__ import annotations

import pytest
from openai.types.responses import ResponseItem
from pydantic import TypeAdapter

from core.errors import APIError
from core.responses import records
from core.responses.request import parse_items

RESPONSE = {"id": "resp_1", "output": [{"id": "msg_9", "type": "message", "role": "assistant", "status": "completed",
                                        "content": [{"type": "output_text", "text": "Echo: hi", "annotations": []}]}]}


def test_a_record_holds_the_whole_conversation():
    history = [{"id": "msg_0", "type": "message", "role": "user", "content": [{"type": "input_text", "text": "a"}]}]
    new = records.input_items({"input": "hi"})
    record = records.bridged_record(RESPONSE, history, new, "key-a")
    assert record["input_start"] == 1 and record["input"][1]["content"] == [{"type": "input_text", "text": "hi"}]
    conversation = records.history(record)
    assert [item["id"] for item in conversation] == ["msg_0", new[0]["id"], "msg_9"]
    assert len(parse_items(conversation, "previous_response_id")) == 3  # it reads back as input


def test_ownership_is_exact():
    record = records.bridged_record(RESPONSE, [], [], "key-a")
    assert records.owned(record, "key-a")
    assert not records.owned(record, "key-b") and not records.owned(record, None)
    assert records.owned(records.bridged_record(RESPONSE, [], [], None), None)
    assert not records.owned({**record, "version": 99}, "key-a") and not records.owned("junk", "key-a")


def test_input_items_are_listed_with_ids_and_typed_parts():
    items = records.input_items({"input": [
        {"role": "user", "content": "question"},
        {"role": "assistant", "content": "answer", "id": "msg_keep"},
        {"type": "function_call_output", "call_id": "c1", "output": "42"}]})
    assert [item["id"][:4] for item in items] == ["msg_", "msg_", "fco_"] and items[1]["id"] == "msg_keep"
    assert items[0]["content"] == [{"type": "input_text", "text": "question"}]
    assert items[1]["content"] == [{"type": "output_text", "text": "answer"}]
    adapter = TypeAdapter(ResponseItem)
    adapter.validate_python({**items[0], "status": "completed"})  # the SDK's own item model
    adapter.validate_python({**items[2], "status": "completed"})


def test_input_item_pages():
    new = records.input_items({"input": [{"role": "user", "content": str(i), "id": f"m{i}"} for i in range(5)]})
    record = records.bridged_record(RESPONSE, [{"id": "old"}], new, None)
    page = records.input_item_page(record, limit=2, order="desc", after=None)
    assert [i["id"] for i in page["data"]] == ["m4", "m3"] and page["has_more"] is True
    page = records.input_item_page(record, limit=2, order="desc", after="m3")
    assert [i["id"] for i in page["data"]] == ["m2", "m1"] and (page["first_id"], page["last_id"]) == ("m2", "m1")
    page = records.input_item_page(record, limit=10, order="asc", after=None)
    assert [i["id"] for i in page["data"]] == ["m0", "m1", "m2", "m3", "m4"] and page["has_more"] is False


@pytest.mark.parametrize("bad", ["../etc/passwd", "resp 1", "", "x" * 201, "a/b"])
def test_ids_that_cannot_name_an_object(bad):
    with pytest.raises(APIError) as caught:
        records.checked_id(bad)
    assert caught.value.status == 404
    with pytest.raises(APIError) as caught:
        records.checked_id(bad, "previous_response_id")
    assert caught.value.status == 400 and caught.value.param == "previous_response_id"
    assert records.checked_id("resp_abc-1.2") == "resp_abc-1.2"
