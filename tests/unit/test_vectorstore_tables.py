"""The vector-store tables on a real PostgreSQL with pgvector: versions, their order, deletes, models, filters."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from core.settings import Settings
from core.vectorstores import database
from core.vectorstores.filters import compile_filters
from core.vectorstores.store import (ALREADY_LIVE, COMMITTED, INCOMPLETE, STALE, ChunkRow, StoreModelMismatch,
                                     VectorTables)

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
async def tables(vector_store_url):
    db = await database.open_database(Settings.from_env({"VECTOR_STORE_URL": vector_store_url}), lambda: None)
    yield VectorTables(db)
    await db.close()


def rows(name: str, etag: str, count: int, when: datetime, *, lean: float = 0.0, **attributes) -> list[ChunkRow]:
    return [ChunkRow(name, etag, i, when, f"{name} {etag} chunk {i}", [1.0, lean + i / 10, 0.5, 0.25],
                     {"object": name, "eTag": etag, "chunk": i, **attributes}) for i in range(count)]


async def live_texts(tables: VectorTables, store) -> list[str]:
    hits = await tables.search(store, [1.0, 0.0, 0.5, 0.25], 50, compile_filters(None, "c.attributes"))
    return sorted(h.text for h in hits)


async def test_a_version_becomes_live_in_one_commit_and_a_repeat_changes_nothing(tables):
    store = await tables.ensure_store("vs_docs", "ns", "docs", "m-small", "oci.m-small", 4)
    await tables.begin(store.id, "a.txt", "file-a")
    await tables.add_chunks(store, rows("a.txt", "e1", 3, T0))
    assert await live_texts(tables, store) == []  # written, not yet live
    assert (await tables.counts([store.id]))[store.id].in_progress == 1

    assert await tables.commit(store, "a.txt", "file-a", "e1", T0, 3, 300) == COMMITTED
    await tables.add_chunks(store, rows("a.txt", "e1", 3, T0))  # a redelivered window: no duplicates
    assert await tables.commit(store, "a.txt", "file-a", "e1", T0, 3, 300) == ALREADY_LIVE
    assert await live_texts(tables, store) == [f"a.txt e1 chunk {i}" for i in range(3)]
    counts = (await tables.counts([store.id]))[store.id]
    assert (counts.completed, counts.in_progress, counts.total, counts.usage_bytes) == (1, 0, 1, 300)


async def test_a_new_version_replaces_the_rows_and_an_older_one_never_comes_back(tables):
    store = await tables.ensure_store("vs_docs", "ns", "docs", "m-small", None, 4)
    await tables.add_chunks(store, rows("a.txt", "old", 2, T0))
    assert await tables.commit(store, "a.txt", "file-a", "old", T0, 2, 10) == COMMITTED
    await tables.add_chunks(store, rows("a.txt", "new", 4, T0 + timedelta(seconds=5)))
    assert await tables.commit(store, "a.txt", "file-a", "new", T0 + timedelta(seconds=5), 4, 20) == COMMITTED
    assert await live_texts(tables, store) == [f"a.txt new chunk {i}" for i in range(4)]

    # The old version's run passed its HEAD check just before the new one committed: it must not win now.
    await tables.add_chunks(store, rows("a.txt", "old", 2, T0))
    assert await tables.commit(store, "a.txt", "file-a", "old", T0, 2, 10) == STALE
    assert await live_texts(tables, store) == [f"a.txt new chunk {i}" for i in range(4)]
    assert await tables.live_version(store.id, "a.txt") == ("new", 4)


async def test_a_version_with_a_chunk_missing_is_not_made_live(tables):
    store = await tables.ensure_store("vs_docs", "ns", "docs", "m-small", None, 4)
    await tables.add_chunks(store, rows("a.txt", "e1", 3, T0)[:2])
    assert await tables.commit(store, "a.txt", "file-a", "e1", T0, 3, 10) == INCOMPLETE
    assert await live_texts(tables, store) == []


async def test_a_delete_removes_the_rows_unless_a_version_as_new_is_live(tables):
    store = await tables.ensure_store("vs_docs", "ns", "docs", "m-small", None, 4)
    await tables.add_chunks(store, rows("a.txt", "e1", 2, T0))
    await tables.commit(store, "a.txt", "file-a", "e1", T0, 2, 10)
    assert await tables.remove(store.id, "a.txt", before=T0 - timedelta(seconds=1)) is False  # re-uploaded since
    assert len(await live_texts(tables, store)) == 2
    assert await tables.remove(store.id, "a.txt", before=T0 + timedelta(seconds=1)) is True
    assert await live_texts(tables, store) == [] and await tables.counts([store.id]) == {}


async def test_a_store_keeps_its_model_and_dimensions(tables):
    store = await tables.ensure_store("vs_docs", "ns", "docs", "cohere.embed-english-v3.0", None, 4)
    assert (store.model, store.dimensions) == ("cohere.embed-english-v3.0", 4)
    with pytest.raises(StoreModelMismatch) as refused:
        await tables.ensure_store("vs_docs", "ns", "docs", "cohere.embed-v4.0", None, 1536)
    assert refused.value.status == 409 and "--reembed" in refused.value.message
    with pytest.raises(StoreModelMismatch):
        await tables.ensure_store("vs_docs", "ns", "docs", "cohere.embed-english-v3.0", None, 8)


async def test_filters_select_by_attribute_value_and_type(tables):
    store = await tables.ensure_store("vs_docs", "ns", "docs", "m-small", None, 4)
    for name, team, year in (("a.txt", "sales", "2024"), ("b.txt", "ops", "2025"), ("c.txt", "sales", "2026")):
        await tables.add_chunks(store, rows(name, "e", 2, T0, team=team, year=year))
        await tables.commit(store, name, "f-" + name, "e", T0, 2, 1)

    async def objects(filters) -> list[str]:
        hits = await tables.search(store, [1.0, 0.0, 0.5, 0.25], 50, compile_filters(filters, "c.attributes"))
        return sorted({h.object for h in hits})

    assert await objects({"type": "eq", "key": "team", "value": "sales"}) == ["a.txt", "c.txt"]
    assert await objects({"type": "ne", "key": "team", "value": "sales"}) == ["b.txt"]
    assert await objects({"type": "gte", "key": "year", "value": "2025"}) == ["b.txt", "c.txt"]
    assert await objects({"type": "in", "key": "year", "value": ["2024", "2026"]}) == ["a.txt", "c.txt"]
    assert await objects({"type": "nin", "key": "team", "value": ["ops"]}) == ["a.txt", "c.txt"]
    assert await objects({"type": "and", "filters": [{"type": "eq", "key": "team", "value": "sales"},
                                                     {"type": "lt", "key": "chunk", "value": 1}]}) == ["a.txt", "c.txt"]
    assert await objects({"type": "eq", "key": "year", "value": 2024}) == []  # a number is not the string "2024"
    assert await objects({"type": "or", "filters": [{"type": "eq", "key": "object", "value": "b.txt"},
                                                    {"type": "eq", "key": "missing", "value": "x"}]}) == ["b.txt"]


async def test_search_ranks_by_cosine_similarity(tables):
    store = await tables.ensure_store("vs_docs", "ns", "docs", "m-small", None, 4)
    await tables.add_chunks(store, [ChunkRow("a.txt", "e", 0, T0, "same direction", [2.0, 0.0, 0.0, 0.0], {}),
                                    ChunkRow("a.txt", "e", 1, T0, "orthogonal", [0.0, 1.0, 0.0, 0.0], {}),
                                    ChunkRow("a.txt", "e", 2, T0, "close", [1.0, 0.2, 0.0, 0.0], {})])
    await tables.commit(store, "a.txt", "file-a", "e", T0, 3, 1)
    hits = await tables.search(store, [1.0, 0.0, 0.0, 0.0], 2, compile_filters(None, "c.attributes"))
    assert [h.text for h in hits] == ["same direction", "close"]
    assert hits[0].score == pytest.approx(1.0) and 0.95 < hits[1].score < 1.0


def test_connection_strings_keep_tls_outside_localhost():
    settings = Settings.from_env({"VECTOR_STORE_STATEMENT_TIMEOUT_MS": "5000"})
    remote = database.connection_params("postgresql://app:pw@db.example.internal:5432/vectors", settings)
    assert remote["sslmode"] == "require" and "statement_timeout=5000" in remote["options"]
    assert database.connection_params("postgresql://app@db.internal/v?sslmode=verify-full",
                                      settings)["sslmode"] == "verify-full"
    local = database.connection_params("postgresql://postgres@/postgres?host=/tmp/socket", settings)
    assert "sslmode" not in local
    from core.errors import ConfigError

    with pytest.raises(ConfigError, match="plain text") as refused:
        database.connection_params("postgresql://app:secretpw@db.internal/v?sslmode=prefer", settings)
    assert "secretpw" not in str(refused.value)
