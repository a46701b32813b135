"""The ``file_search`` tool as the bridge plans it: checked settings, tool choice, the query, the context message,
the output item and citations, and its stream events (pure parts; the search itself is in the contract tests)."""

from __future__ import annotations

import pytest

from core.catalog import lookup
from core.errors import APIError
from core.responses.bridge import chat_plan
from core.responses.events import EventWriter
from core.responses.file_search import CONTEXT_SHARE, FileSearchRun, context, fitted, newest_query, with_search
from core.responses.output import response_shell
from core.responses.request import parse_create_request
from core.responses.tools import plan_tools

LLAMA = lookup("meta.llama-3.3-70b-instruct")
RESULTS = [{"file_id": "file-a", "filename": "a.txt", "score": 0.9, "attributes": {"chunk": 0},
            "content": [{"type": "text", "text": "alpha text"}]},
           {"file_id": "file-b", "filename": "b.txt", "score": 0.5, "attributes": {"chunk": 2},
            "content": [{"type": "text", "text": "beta text"}]},
           {"file_id": "file-a", "filename": "a.txt", "score": 0.4, "attributes": {"chunk": 1},
            "content": [{"type": "text", "text": "more alpha"}]}]
RUN = FileSearchRun("fs_1", ["what is alpha"], RESULTS)


def tools_of(tools: list, choice=None, *, runs: bool = True):
    request = parse_create_request({"model": "m", "input": "hi", "tools": tools,
                                    **({"tool_choice": choice} if choice is not None else {})})
    return plan_tools(request.tools, request.tool_choice, file_search=runs)


def search_tool(**fields) -> dict:
    return {"type": "file_search", "vector_store_ids": ["vs_docs"], **fields}


def test_the_tool_is_planned_not_skipped_when_the_gateway_has_stores():
    plan = tools_of([search_tool(max_num_results=3, ranking_options={"ranker": "none", "score_threshold": 0.2})])
    assert plan.skipped == () and plan.chat_tools == ()
    search = plan.file_search
    assert (search.vector_store_ids, search.max_num_results, search.ranker, search.score_threshold) == \
        (("vs_docs",), 3, "none", 0.2)
    assert tools_of([search_tool()], runs=False).skipped == ("file_search",)
    assert tools_of([search_tool()]).file_search.max_num_results == 10


@pytest.mark.parametrize(("tool", "param"), [
    (search_tool(vector_store_ids=[]), "tools[0].vector_store_ids"),
    (search_tool(vector_store_ids=["vs_a", "vs_b", "vs_c"]), "tools[0].vector_store_ids"),
    (search_tool(ranking_options={"ranker": "bm25"}), "tools[0].ranking_options.ranker"),
    (search_tool(ranking_options={"score_threshold": 1.5}), "tools[0].ranking_options.score_threshold"),
    (search_tool(max_num_results=0), "tools[0].max_num_results"),
])
def test_bad_settings_are_a_400_naming_their_place(tool, param):
    with pytest.raises(APIError) as caught:
        tools_of([tool])
    assert caught.value.status == 400 and caught.value.param == param


def test_tool_choice_and_a_second_search_tool():
    assert tools_of([search_tool()], {"type": "file_search"}).choice is None  # forced: the gateway always searches
    assert tools_of([search_tool()], "required").choice is None
    assert tools_of([search_tool()], "none").file_search is None
    with pytest.raises(APIError) as caught:
        tools_of([search_tool(), search_tool()])
    assert caught.value.param == "tools[1]"
    with pytest.raises(APIError):
        tools_of([search_tool()], {"type": "file_search"}, runs=False)


def test_the_query_is_the_newest_user_message():
    request = parse_create_request({"model": "m", "input": [
        {"role": "user", "content": "old question"}, {"role": "assistant", "content": "answer"},
        {"role": "user", "content": [{"type": "input_text", "text": "new"}, {"type": "input_text", "text": "one"}]},
        {"type": "function_call_output", "call_id": "c", "output": "42"}]})
    assert newest_query(list(request.input)) == "new\none"
    assert newest_query(list(parse_create_request({"model": "m", "input": [
        {"role": "assistant", "content": "only me"}]}).input)) is None


def test_the_context_follows_the_instructions_and_numbers_the_chunks():
    request = parse_create_request({"model": "m", "instructions": "Be brief.", "input": "what is alpha",
                                    "tools": [search_tool()]})
    tools = plan_tools(request.tools, request.tool_choice, file_search=True)
    messages = chat_plan(request, [], tools, LLAMA, context=context(RUN)).body["messages"]
    assert [m["role"] for m in messages] == ["system", "system", "user"]
    assert "[1] a.txt\nalpha text\n\n[2] b.txt\nbeta text\n\n[3] a.txt\nmore alpha" in messages[1]["content"]
    assert "no passages" in context(FileSearchRun("fs_2", ["q"], []))


def test_the_output_item_comes_first_and_each_given_file_is_cited_once():
    response = {"output": [{"type": "message", "content": [{"type": "output_text", "text": "Alpha.",
                                                            "annotations": []}]}]}
    hidden = with_search(response, RUN, with_results=False)
    assert hidden["output"][0] == {"id": "fs_1", "type": "file_search_call", "status": "completed",
                                   "queries": ["what is alpha"], "results": None}
    assert hidden["output"][1]["content"][0]["annotations"] == [
        {"type": "file_citation", "file_id": "file-a", "filename": "a.txt", "index": 6},
        {"type": "file_citation", "file_id": "file-b", "filename": "b.txt", "index": 6}]
    shown = with_search(response, RUN, with_results=True)["output"][0]["results"]
    assert shown[1] == {"file_id": "file-b", "filename": "b.txt", "score": 0.5, "attributes": {"chunk": 2},
                        "text": "beta text"}
    assert with_search(response, None, with_results=True) is response


def test_stream_events_announce_the_search_then_the_cited_message():
    raw = {"model": "m", "input": "what is alpha", "tools": [search_tool()]}
    shell = response_shell(parse_create_request(raw), raw, response_id="resp_1", model="m", store=False)
    writer = EventWriter(shell, {}, found=RUN, with_results=True)

    events = writer.start() + writer.feed({"choices": [{"index": 0, "delta": {"content": "Alpha."}}]})
    events += writer.feed({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}) + writer.finish()

    kinds = [e["type"] for e in events]
    assert kinds[2:7] == ["response.output_item.added", "response.file_search_call.in_progress",
                          "response.file_search_call.searching", "response.file_search_call.completed",
                          "response.output_item.done"]
    assert events[2]["item"]["status"] == "in_progress" and events[2]["item"]["results"] is None
    assert events[6]["item"]["results"][0]["file_id"] == "file-a"
    added = [e for e in events if e["type"] == "response.output_text.annotation.added"]
    assert [e["annotation_index"] for e in added] == [0, 1] and {e["output_index"] for e in added} == {1}
    assert kinds.index("response.output_text.annotation.added") < kinds.index("response.output_text.done")
    final = events[-1]["response"]
    assert [item["type"] for item in final["output"]] == ["file_search_call", "message"]
    assert len(final["output"][1]["content"][0]["annotations"]) == 2


def test_passages_beyond_the_models_share_of_context_are_left_out_best_first():
    long = [{"file_id": f"file-{n}", "filename": f"{n}.txt", "score": 1 - n / 100,
             "content": [{"type": "text", "text": "w" * 9_000}]} for n in range(50)]
    run = FileSearchRun("fs_1", ["q"], long)

    small = fitted(run, 32_000)  # a quarter of 32k tokens at 3 characters a token: 24,000 characters
    large = fitted(run, 1_000_000)

    assert [r["file_id"] for r in small.results] == ["file-0", "file-1"]
    assert len(context(small)) <= 32_000 // CONTEXT_SHARE * 3
    assert large is run
    assert fitted(FileSearchRun("fs_2", ["q"], [{**long[0], "content": [{"type": "text", "text": "w" * 10**6}]}]),
                  8_000).results  # the best passage is always given
