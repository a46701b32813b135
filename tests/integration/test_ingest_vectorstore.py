"""Ingestion into a vector store on a real PostgreSQL with pgvector, through the real fdk into func.py: versions
replace each other, deletes mirror, repeats and late events change nothing, and the JSONL parts rebuild it."""

from __future__ import annotations

import json

import psycopg
import pytest

from core.vectorstores.ids import chunk_table, file_id
from tests.integration.ingest_world import FIXTURES, INPUT, MODEL, event, letter_of, manifest_of, upload


@pytest.fixture
def vector_ingest(vector_store_url, ingest_factory):  # the database outlives the function
    deliver = ingest_factory({"VECTOR_STORE_URL": vector_store_url})
    deliver.url = vector_store_url  # type: ignore[attr-defined]
    return deliver


def live(url: str, name: str) -> list[tuple[str, int, str]]:
    """(eTag, chunk, text) of the object's live rows, in chunk order."""
    with psycopg.connect(url) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", [chunk_table(f"vs_{INPUT}")]).fetchone()[0]
        if exists is None:
            return []
        return [tuple(r) for r in conn.execute(
            f"SELECT c.etag, c.chunk, c.text FROM {chunk_table(f'vs_{INPUT}')} c JOIN vector_store_files f "
            "ON f.store_id = %s AND f.object = c.object AND f.etag = c.etag WHERE c.object = %s ORDER BY c.chunk",
            [f"vs_{INPUT}", name]).fetchall()]


def all_rows(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT count(*) FROM {chunk_table(f'vs_{INPUT}')}").fetchone()[0]


def test_an_upload_becomes_live_rows_with_its_model_and_metadata(vector_ingest, store):
    etag = store.put(INPUT, "guide.txt", (FIXTURES / "guide.txt").read_bytes(), "text/plain",
                     metadata={"team": "harbour"})

    answer = vector_ingest(event("createobject", "guide.txt", etag))

    assert answer["status"] == "embedded"
    rows = live(vector_ingest.url, "guide.txt")
    assert [r[1] for r in rows] == list(range(answer["chunks"])) and {r[0] for r in rows} == {etag}
    with psycopg.connect(vector_ingest.url) as conn:
        model, dims = conn.execute("SELECT model, dimensions FROM vector_stores WHERE id = %s",
                                   [f"vs_{INPUT}"]).fetchone()
        attributes = conn.execute(f"SELECT attributes FROM {chunk_table(f'vs_{INPUT}')} WHERE chunk = 0").fetchone()[0]
        record = conn.execute("SELECT file_id, status, chunks FROM vector_store_files").fetchone()
    assert (model, dims) == (MODEL, answer["dimensions"])
    assert attributes == {"bucket": INPUT, "object": "guide.txt", "eTag": etag, "chunk": 0, "team": "harbour"}
    assert record == (file_id(INPUT, "guide.txt"), "completed", answer["chunks"])


def test_a_new_version_replaces_the_rows_and_late_or_repeated_events_change_nothing(vector_ingest, store):
    old = upload(store, "doc.txt", b"The first version speaks of ships.\n", "text/plain")
    assert vector_ingest(event("createobject", "doc.txt", old))["status"] == "embedded"
    new = upload(store, "doc.txt", b"The second version speaks of lighthouses.\n\nAnd of the harbour.\n", "text/plain")

    assert vector_ingest(event("updateobject", "doc.txt", new))["status"] == "embedded"
    after_update = live(vector_ingest.url, "doc.txt")
    assert {r[0] for r in after_update} == {new} and all_rows(vector_ingest.url) == len(after_update)

    assert vector_ingest(event("createobject", "doc.txt", old))["status"] == "superseded"  # out of order
    assert vector_ingest(event("updateobject", "doc.txt", new))["status"] == "unchanged"  # redelivered
    assert live(vector_ingest.url, "doc.txt") == after_update and all_rows(vector_ingest.url) == len(after_update)


def test_a_delete_removes_the_rows_only_when_the_object_is_gone(vector_ingest, store):
    etag = upload(store, "doc.txt", b"Soon deleted.\n", "text/plain")
    assert vector_ingest(event("createobject", "doc.txt", etag))["status"] == "embedded"

    assert vector_ingest(event("deleteobject", "doc.txt", None))["status"] == "stale_delete"  # still there
    assert live(vector_ingest.url, "doc.txt")

    store.remove(INPUT, "doc.txt")
    assert vector_ingest(event("deleteobject", "doc.txt", None))["status"] == "removed"
    assert live(vector_ingest.url, "doc.txt") == [] and all_rows(vector_ingest.url) == 0


def test_a_failing_database_leaves_the_jsonl_and_the_reconciliation_rebuilds_the_rows(vector_store_url, ingest_factory,
                                                                                       store, tmp_path):
    broken = ingest_factory({"VECTOR_STORE_URL": f"postgresql://postgres@/postgres?host={tmp_path}"})
    etag = upload(store, "guide.txt", (FIXTURES / "guide.txt").read_bytes(), "text/plain")

    answer = broken(event("createobject", "guide.txt", etag))

    assert answer["status"] == "embedded" and "vector store" in answer["vectorStore"]
    assert manifest_of(store, "guide.txt")["status"] == "complete"
    assert letter_of(store, "guide.txt")["reason"] == "store_failed"
    healthy = ingest_factory({"VECTOR_STORE_URL": vector_store_url})
    reconciled = healthy({"gatewayReconcile": {}})
    assert reconciled["counts"] == {"synced": 1}
    assert len(live(vector_store_url, "guide.txt")) == answer["chunks"]
    assert letter_of(store, "guide.txt") is None


def test_a_store_of_another_model_refuses_new_vectors_and_names_the_reembedding(vector_store_url, ingest_factory,
                                                                               store):
    first = ingest_factory({"VECTOR_STORE_URL": vector_store_url})
    etag = upload(store, "a.txt", b"Embedded with the first model.\n", "text/plain")
    assert first(event("createobject", "a.txt", etag))["status"] == "embedded"
    other = ingest_factory({"VECTOR_STORE_URL": vector_store_url, "INGEST_EMBEDDING_MODEL": "short-vectors",
                            "MODEL_ALIASES": json.dumps({"short-vectors": {"model": "cohere.embed-v4.0",
                                                                           "params": {"dimensions": 256}}})})
    etag_b = upload(store, "b.txt", b"Would be embedded with another model.\n", "text/plain")

    answer = other(event("createobject", "b.txt", etag_b))

    assert answer["status"] == "failed" and answer["reason"] == "store_model_mismatch"
    assert "--reembed" in letter_of(store, "b.txt")["message"] and live(vector_store_url, "b.txt") == []
    assert json.loads(json.dumps(live(vector_store_url, "a.txt")))  # the store's own rows stay searchable
