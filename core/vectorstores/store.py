"""The vector-store tables and everything done to them (PostgreSQL + pgvector).

* ``vector_stores``: one row per store: its bucket, the embedding model and the dimensions its vectors have,
  and the name of its chunk table. A store's model never changes under it: writing vectors of another model or
  size is refused (:class:`StoreModelMismatch`) until the store is re-embedded.
* ``vector_store_files``: one row per object: the live version's ``eTag`` and ``last-modified``, its chunk
  count and size, or why it failed.
* one chunk table per store: ``(object, etag, chunk)`` is the key, so a redelivered window or a resumed run
  inserts nothing twice; an HNSW index (cosine) on ``embedding``.

A version's rows are written as it is embedded and become visible in one transaction
(:meth:`VectorTables.commit`), which refuses to replace a version with a later ``last-modified`` (eTags have
no order; the conditional ``HEAD`` before it leaves a race that this closes) and checks that every chunk is
there. Readers only see rows of an object's live version (a join on ``vector_store_files``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from psycopg import sql
from psycopg.types.json import Jsonb

from core.errors import APIError
from core.vectorstores.database import Database, Embedding
from core.vectorstores.filters import Condition
from core.vectorstores.ids import chunk_table

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS vector_stores (
        id text PRIMARY KEY,
        namespace text NOT NULL,
        bucket text NOT NULL,
        model text NOT NULL,
        model_id text,
        dimensions integer NOT NULL CHECK (dimensions > 0),
        chunk_table text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now())""",
    """CREATE TABLE IF NOT EXISTS vector_store_files (
        store_id text NOT NULL,
        object text NOT NULL,
        file_id text NOT NULL,
        etag text,
        last_modified timestamptz,
        chunks integer NOT NULL DEFAULT 0,
        bytes bigint,
        status text NOT NULL CHECK (status IN ('in_progress', 'completed', 'failed')),
        last_error jsonb,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (store_id, object))""",
)
CHUNK_TABLE = """CREATE TABLE IF NOT EXISTS {table} (
    object text NOT NULL,
    etag text NOT NULL,
    chunk integer NOT NULL,
    last_modified timestamptz,
    text text NOT NULL,
    embedding vector({dimensions}) NOT NULL,
    attributes jsonb NOT NULL DEFAULT '{{}}',
    PRIMARY KEY (object, etag, chunk))"""
CHUNK_INDEX = "CREATE INDEX IF NOT EXISTS {index} ON {table} USING hnsw (embedding vector_cosine_ops)"

# Outcomes of a commit.
COMMITTED, ALREADY_LIVE, STALE, INCOMPLETE = "committed", "already_live", "stale", "incomplete"


class StoreModelMismatch(APIError):
    """Vectors of another model (or size) than the store's: the store must be re-embedded first."""

    def __init__(self, store: "StoreRecord", model: str, dimensions: int | None) -> None:
        size = f" ({dimensions} dimensions)" if dimensions else ""
        super().__init__(409, f"Vector store '{store.id}' holds {store.model} embeddings ({store.dimensions} "
                              f"dimensions), not {model}{size}. Re-embed it: python -m core.ingest.reconcile "
                              f"--bucket {store.bucket} --reembed", code="vector_store_model_mismatch")
        self.store = store


@dataclass(frozen=True)
class StoreRecord:
    id: str
    namespace: str
    bucket: str
    model: str
    model_id: str | None
    dimensions: int
    chunk_table: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ChunkRow:
    object: str
    etag: str
    chunk: int
    last_modified: datetime | None
    text: str
    embedding: list[float]
    attributes: dict[str, Any]


@dataclass(frozen=True)
class Hit:
    object: str
    chunk: int
    text: str
    attributes: dict[str, Any]
    score: float


@dataclass(frozen=True)
class FileCounts:
    completed: int = 0
    in_progress: int = 0
    failed: int = 0
    usage_bytes: int = 0
    last_active: datetime | None = None

    @property
    def total(self) -> int:
        return self.completed + self.in_progress + self.failed


_STORE_COLUMNS = "id, namespace, bucket, model, model_id, dimensions, chunk_table, created_at, updated_at"


class VectorTables:
    """The store registry, the files and the chunks, over one :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def ensure_schema(self) -> None:
        if self.db.schema_ready:
            return
        async with self.db.session() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('vector_stores'))")
            for statement in SCHEMA:
                await conn.execute(statement)
        self.db.schema_ready = True

    # --- stores ---------------------------------------------------------------------------------
    async def stores(self, ids: Iterable[str]) -> dict[str, StoreRecord]:
        await self.ensure_schema()
        async with self.db.session() as conn:
            cursor = await conn.execute(f"SELECT {_STORE_COLUMNS} FROM vector_stores WHERE id = ANY(%s)", [list(ids)])
            return {row[0]: StoreRecord(*row) for row in await cursor.fetchall()}

    async def store(self, store_id: str) -> StoreRecord | None:
        return (await self.stores([store_id])).get(store_id)

    async def ensure_store(self, store_id: str, namespace: str, bucket: str, model: str, model_id: str | None,
                           dimensions: int) -> StoreRecord:
        """The store, created with its chunk table on first use; :class:`StoreModelMismatch` for other vectors."""
        found = await self.store(store_id)
        if found is None:
            found = await self._create_store(store_id, namespace, bucket, model, model_id, dimensions)
        if found.model != model or found.dimensions != dimensions:
            raise StoreModelMismatch(found, model, dimensions)
        return found

    async def _create_store(self, store_id: str, namespace: str, bucket: str, model: str, model_id: str | None,
                            dimensions: int) -> StoreRecord:
        table = chunk_table(store_id)
        async with self.db.session() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [store_id])
            await conn.execute(sql.SQL(CHUNK_TABLE).format(table=sql.Identifier(table),
                                                           dimensions=sql.Literal(int(dimensions))))
            await conn.execute(sql.SQL(CHUNK_INDEX).format(index=sql.Identifier(table + "_hnsw"),
                                                           table=sql.Identifier(table)))
            await conn.execute(
                "INSERT INTO vector_stores (id, namespace, bucket, model, model_id, dimensions, chunk_table) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
                [store_id, namespace, bucket, model, model_id, dimensions, table])
            cursor = await conn.execute(f"SELECT {_STORE_COLUMNS} FROM vector_stores WHERE id = %s", [store_id])
            row = await cursor.fetchone()
        assert row is not None
        return StoreRecord(*row)

    async def drop_store(self, store_id: str) -> None:
        """Forget a store: its chunk table, its files, its record (before it is re-embedded)."""
        await self.ensure_schema()
        async with self.db.session() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [store_id])
            await conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(chunk_table(store_id))))
            await conn.execute("DELETE FROM vector_store_files WHERE store_id = %s", [store_id])
            await conn.execute("DELETE FROM vector_stores WHERE id = %s", [store_id])

    # --- writing a version ----------------------------------------------------------------------
    async def begin(self, store_id: str, name: str, file_id: str) -> None:
        """Count the object as in progress unless a version of it is live."""
        await self.ensure_schema()
        async with self.db.session() as conn:
            await conn.execute(
                "INSERT INTO vector_store_files (store_id, object, file_id, status) VALUES (%s, %s, %s, 'in_progress') "
                "ON CONFLICT (store_id, object) DO UPDATE SET status = 'in_progress', last_error = NULL, "
                "updated_at = now() WHERE vector_store_files.etag IS NULL",
                [store_id, name, file_id])

    async def add_chunks(self, store: StoreRecord, rows: list[ChunkRow]) -> None:
        """Insert a window of rows; rows already there (a repeat) are left as they are."""
        if not rows:
            return
        query = sql.SQL("INSERT INTO {} (object, etag, chunk, last_modified, text, embedding, attributes) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING").format(
            sql.Identifier(store.chunk_table))
        async with self.db.session() as conn, conn.transaction(), conn.cursor() as cursor:  # one commit per window
            await cursor.executemany(query, [
                (r.object, r.etag, r.chunk, r.last_modified, r.text, Embedding(r.embedding), Jsonb(r.attributes))
                for r in rows])

    async def commit(self, store: StoreRecord, name: str, file_id: str, etag: str, last_modified: datetime | None,
                     chunks: int, size: int | None) -> str:
        """Make ``etag`` the object's live version in one transaction (see the module); the outcome constant."""
        table = sql.Identifier(store.chunk_table)
        async with self.db.session() as conn, conn.transaction():
            current = await _lock_file(conn, store.id, name, file_id)
            if current[0] == etag:
                return ALREADY_LIVE
            if current[1] is not None and last_modified is not None and current[1] > last_modified:
                await conn.execute(sql.SQL("DELETE FROM {} WHERE object = %s AND etag = %s").format(table),
                                   [name, etag])
                return STALE
            cursor = await conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE object = %s AND etag = %s").format(
                table), [name, etag])
            present = (await cursor.fetchone() or (0,))[0]
            if present != chunks:
                return INCOMPLETE
            await conn.execute(
                "UPDATE vector_store_files SET etag = %s, last_modified = %s, chunks = %s, bytes = %s, "
                "status = 'completed', last_error = NULL, updated_at = now() WHERE store_id = %s AND object = %s",
                [etag, last_modified, chunks, size, store.id, name])
            await conn.execute(sql.SQL("DELETE FROM {} WHERE object = %s AND etag <> %s").format(table), [name, etag])
        return COMMITTED

    async def live_version(self, store_id: str, name: str) -> tuple[str | None, int]:
        """(live eTag or None, its chunk count)."""
        await self.ensure_schema()
        async with self.db.session() as conn:
            cursor = await conn.execute("SELECT etag, chunks FROM vector_store_files WHERE store_id = %s AND "
                                        "object = %s", [store_id, name])
            row = await cursor.fetchone()
        return (row[0], int(row[1])) if row else (None, 0)

    async def fail(self, store_id: str, name: str, file_id: str, reason: str, message: str) -> None:
        """Record why the object's latest version is not searchable (a live older version stays)."""
        await self.ensure_schema()
        async with self.db.session() as conn:
            await conn.execute(
                "INSERT INTO vector_store_files (store_id, object, file_id, status, last_error) "
                "VALUES (%s, %s, %s, 'failed', %s) ON CONFLICT (store_id, object) DO UPDATE SET "
                "status = CASE WHEN vector_store_files.etag IS NULL THEN 'failed' ELSE vector_store_files.status END, "
                "last_error = EXCLUDED.last_error, updated_at = now()",
                [store_id, name, file_id, Jsonb({"code": reason, "message": message[:500]})])

    async def remove(self, store_id: str, name: str, *, before: datetime | None = None) -> bool:
        """Remove the object's rows and record; with ``before``, not if its live version is that new or newer
        (a delete event that a re-upload overtook). True when something was removed."""
        await self.ensure_schema()
        table = sql.Identifier(chunk_table(store_id))
        async with self.db.session() as conn, conn.transaction():
            cursor = await conn.execute("SELECT last_modified FROM vector_store_files WHERE store_id = %s AND "
                                        "object = %s FOR UPDATE", [store_id, name])
            row = await cursor.fetchone()
            if row is not None and before is not None and row[0] is not None and row[0] >= before:
                return False
            exists = await (await conn.execute("SELECT to_regclass(%s)", [chunk_table(store_id)])).fetchone()
            if exists and exists[0] is not None:
                await conn.execute(sql.SQL("DELETE FROM {} WHERE object = %s").format(table), [name])
            await conn.execute("DELETE FROM vector_store_files WHERE store_id = %s AND object = %s", [store_id, name])
        return row is not None

    # --- reading --------------------------------------------------------------------------------
    async def counts(self, ids: Iterable[str]) -> dict[str, FileCounts]:
        await self.ensure_schema()
        async with self.db.session() as conn:
            cursor = await conn.execute(
                "SELECT store_id, count(*) FILTER (WHERE etag IS NOT NULL), "
                "count(*) FILTER (WHERE etag IS NULL AND status = 'in_progress'), "
                "count(*) FILTER (WHERE etag IS NULL AND status = 'failed'), "
                "coalesce(sum(bytes) FILTER (WHERE etag IS NOT NULL), 0), max(updated_at) "
                "FROM vector_store_files WHERE store_id = ANY(%s) GROUP BY store_id", [list(ids)])
            return {row[0]: FileCounts(int(row[1]), int(row[2]), int(row[3]), int(row[4]), row[5])
                    for row in await cursor.fetchall()}

    async def objects(self, store_id: str) -> list[str]:
        """Every object the store has a record of, in name order (the reconciliation's view)."""
        await self.ensure_schema()
        async with self.db.session() as conn:
            cursor = await conn.execute("SELECT object FROM vector_store_files WHERE store_id = %s ORDER BY object",
                                        [store_id])
            return [row[0] for row in await cursor.fetchall()]

    async def search(self, store: StoreRecord, vector: list[float], limit: int, condition: Condition) -> list[Hit]:
        """The ``limit`` live chunks nearest to ``vector`` (cosine) that meet ``condition``.

        The HNSW index answers the inner query (candidates ordered by distance); live-version and attribute
        conditions are applied to those candidates, so the index is used whatever the planner thinks of the join.
        With a condition, more candidates are taken (and pgvector 0.8's iterative scan widens them if needed).
        """
        candidates = min(1000, max(40, limit * (20 if condition.params else 4)))
        query = sql.SQL(
            "SELECT c.object, c.chunk, c.text, c.attributes, c.distance FROM (SELECT object, etag, chunk, text, "
            "attributes, embedding <=> %s AS distance FROM {table} ORDER BY distance LIMIT %s) c "
            "JOIN vector_store_files f ON f.store_id = %s AND f.object = c.object AND f.etag = c.etag "
            "WHERE " + condition.sql + " ORDER BY c.distance LIMIT %s").format(table=sql.Identifier(store.chunk_table))
        async with self.db.session() as conn, conn.transaction():
            await conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(candidates)])
            if self.db.iterative_scan and condition.params:
                await conn.execute("SELECT set_config('hnsw.iterative_scan', 'strict_order', true)")
            cursor = await conn.execute(query, [Embedding(vector), candidates, store.id, *condition.params, limit])
            rows = await cursor.fetchall()
        return [Hit(row[0], int(row[1]), row[2], dict(row[3] or {}), 1.0 - float(row[4])) for row in rows]


async def _lock_file(conn: Any, store_id: str, name: str, file_id: str) -> tuple[str | None, datetime | None]:
    """The object's files row, created if missing and locked for this transaction: (live eTag, last-modified)."""
    await conn.execute("INSERT INTO vector_store_files (store_id, object, file_id, status) "
                       "VALUES (%s, %s, %s, 'in_progress') ON CONFLICT (store_id, object) DO NOTHING",
                       [store_id, name, file_id])
    cursor = await conn.execute("SELECT etag, last_modified FROM vector_store_files WHERE store_id = %s AND "
                                "object = %s FOR UPDATE", [store_id, name])
    row = await cursor.fetchone()
    return (row[0], row[1]) if row else (None, None)
