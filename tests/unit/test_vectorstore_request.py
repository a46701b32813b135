"""Vector-store requests checked, list pages cut, and psycopg loaded only where a store is used (pure parts)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import APIError
from core.vectorstores.filters import compile_filters
from core.vectorstores.request import ListRequest, page, parse_list, parse_search


@pytest.mark.parametrize("body,param", [
    ({}, "query"), ({"query": ""}, "query"), ({"query": ["ok", ""]}, "query"),
    ({"query": "x", "max_num_results": 0}, "max_num_results"),
    ({"query": "x", "max_num_results": True}, "max_num_results"),
    ({"query": "x", "ranking_options": {"ranker": "magic"}}, "ranking_options.ranker"),
    ({"query": "x", "ranking_options": {"score_threshold": 1.5}}, "ranking_options.score_threshold"),
    ({"query": "x", "rewrite_query": "yes"}, "rewrite_query"),
    ({"query": "x", "top_k": 3}, "top_k"),
])
def test_bad_search_requests_name_their_parameter(body, param):
    with pytest.raises(APIError) as refused:
        parse_search(body)
    assert refused.value.status == 400 and refused.value.param == param


def test_a_search_request_keeps_what_it_was_given():
    parsed = parse_search({"query": ["a", "b"], "max_num_results": 50, "rewrite_query": True,
                           "ranking_options": {"ranker": "none", "score_threshold": 0.5}})
    assert (parsed.queries, parsed.max_num_results, parsed.ranker, parsed.score_threshold) == (["a", "b"], 50, "none",
                                                                                               0.5)
    assert parse_search({"query": "x"}).score_threshold is None


@pytest.mark.parametrize("filters,param", [
    ({"type": "eq", "key": "", "value": "x"}, "filters.key"),
    ({"type": "gt", "key": "k", "value": True}, "filters.value"),
    ({"type": "in", "key": "k", "value": []}, "filters.value"),
    ({"type": "and", "filters": []}, "filters.filters"),
    ({"type": "or", "filters": [{"type": "eq", "key": "k", "value": float("nan")}]}, "filters.filters[0].value"),
])
def test_bad_filters_name_their_place(filters, param):
    with pytest.raises(APIError) as refused:
        compile_filters(filters, "c.attributes")
    assert refused.value.param == param


def test_filter_keys_and_values_are_parameters_never_sql():
    condition = compile_filters({"type": "eq", "key": "x'); DROP TABLE t; --", "value": "'; --"}, "c.attributes")
    assert "DROP" not in condition.sql and condition.params == ["x'); DROP TABLE t; --", '"\'; --"']


def test_list_pages_follow_after_and_before():
    items = [{"id": f"vs_{n}"} for n in range(5)]
    first = page(items, ListRequest(limit=2))
    assert [i["id"] for i in first["data"]] == ["vs_0", "vs_1"] and first["has_more"] is True
    rest = page(items, ListRequest(limit=10, after="vs_1"))
    assert [i["id"] for i in rest["data"]] == ["vs_2", "vs_3", "vs_4"] and rest["has_more"] is False
    assert [i["id"] for i in page(items, ListRequest(limit=2, before="vs_3"))["data"]] == ["vs_1", "vs_2"]
    with pytest.raises(APIError):
        parse_list({"limit": "0"})


def test_only_a_store_user_loads_psycopg():
    probe = ("import sys, handlers.chat, handlers.embeddings, handlers.models, core.ingest.pipeline, "
             "core.ingest.reconcile, handlers.vector_stores; print('psycopg' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.stdout.strip() == "False"  # the vector-store handler imports its service, which loads it lazily
