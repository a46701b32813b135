"""Benchmark: the vector stores on a real PostgreSQL with pgvector (``pgserver``), and what psycopg costs.

* rows written per second through the sink's own code (``VectorTables.add_chunks``, windows of 768 rows, the
  HNSW index in place, as ingestion writes them), to set next to the embedding rate;
* the HNSW index build over ``--chunks`` rows (default 100,000) at the default model's dimensions (from the
  catalog), and search p50/p99 through ``VectorTables.search`` (top 10, live rows only);
* time from upload to searchable: one small object through the real pipeline (emulator Object Storage and
  Generative AI over HTTP, signatures verified) into the store, until a search finds it;
* psycopg: import time, resident memory after import and one connection, installed size;
* a 64 MB CSV with an unclosed quote through extraction and chunking, peak RSS of that process.

A benchmark, never a test. ``python -m bench.vector_store [--chunks N] [--queries N]`` prints JSON;
``python -m bench`` puts it in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
WINDOW = 768  # 96 inputs x EMBEDDINGS_CONCURRENCY 8: what one embedding window hands the sink


def unit_vectors(rng: random.Random, count: int, dims: int) -> list[list[float]]:
    out = []
    for _ in range(count):
        vector = [rng.gauss(0.0, 1.0) for _ in range(dims)]
        norm = sum(v * v for v in vector) ** 0.5
        out.append([v / norm for v in vector])
    return out


async def store_numbers(url: str, chunks: int, queries: int, dims: int) -> dict[str, Any]:
    from psycopg import sql

    from core.settings import Settings
    from core.vectorstores import database
    from core.vectorstores.filters import compile_filters
    from core.vectorstores.store import ChunkRow, VectorTables

    rng = random.Random(17)
    db = await database.open_database(Settings.from_env({"VECTOR_STORE_URL": url}), lambda: None)
    tables = VectorTables(db)
    store = await tables.ensure_store("vs_bench", "ns", "bench", "bench-model", None, dims)
    when = datetime.now(timezone.utc)

    def rows(start: int, count: int) -> list[ChunkRow]:
        return [ChunkRow(f"doc-{i // 50:05d}.txt", "e1", i % 50, when, f"chunk {i}", v, {"chunk": i % 50})
                for i, v in zip(range(start, start + count), unit_vectors(rng, count, dims))]

    incremental = min(chunks // 2, 2 * WINDOW)
    started = time.perf_counter()
    for start in range(0, incremental, WINDOW):
        await tables.add_chunks(store, rows(start, min(WINDOW, incremental - start)))
    with_index = incremental / (time.perf_counter() - started)
    async with db.session() as conn:
        await conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(store.chunk_table + "_hnsw")))
    started = time.perf_counter()
    for start in range(incremental, chunks, WINDOW):
        await tables.add_chunks(store, rows(start, min(WINDOW, chunks - start)))
    without_index = (chunks - incremental) / max(1e-9, time.perf_counter() - started)
    async with db.session() as conn:
        started = time.perf_counter()
        await conn.execute("SET maintenance_work_mem = '512MB'")
        await conn.execute("SET statement_timeout = 0")  # a bulk build, not a request
        await conn.execute(sql.SQL("CREATE INDEX {} ON {} USING hnsw (embedding vector_cosine_ops)").format(
            sql.Identifier(store.chunk_table + "_hnsw"), sql.Identifier(store.chunk_table)))
        build = time.perf_counter() - started
        await conn.execute("ANALYZE")
    for document in range(0, chunks // 50 + 1):
        await tables.commit(store, f"doc-{document:05d}.txt", f"file-{document}", "e1", when,
                            min(50, chunks - document * 50), 1000)
    latencies = []
    for vector in unit_vectors(rng, queries, dims):
        started = time.perf_counter()
        hits = await tables.search(store, vector, 10, compile_filters(None, "c.attributes"))
        latencies.append((time.perf_counter() - started) * 1000)
        assert len(hits) == 10
    async with db.session() as conn:
        plan = "\n".join(r[0] for r in await (await conn.execute(sql.SQL(
            "EXPLAIN SELECT object FROM {} ORDER BY embedding <=> %s LIMIT 40").format(
            sql.Identifier(store.chunk_table)), [database.Embedding(unit_vectors(rng, 1, dims)[0])])).fetchall())
    await db.close()
    latencies.sort()
    return {"dimensions": dims, "chunks": chunks, "pgvector": db.pgvector_version,
            "rows_per_second_with_hnsw": round(with_index), "rows_per_second_without_index": round(without_index),
            "hnsw_build_seconds": round(build, 1), "search_queries": queries,
            "search_p50_ms": round(statistics.median(latencies), 2),
            "search_p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 2),
            "search_uses_hnsw": "hnsw" in plan.lower()}


async def upload_to_searchable(url: str) -> dict[str, Any]:
    """One object, uploaded to the emulator, through the real pipeline into the store, until a search finds it."""
    import local.emulator as emu
    from core import runtime
    from core.ingest.config import IngestConfig
    from core.ingest.events import CREATE, ObjectEvent
    from core.ingest.pipeline import Pipeline
    from core.oci.credentials.api_key import ApiKeyCredentials
    from core.oci.signing import SigningKey, fingerprint
    from core.settings import Settings
    from core.vectorstores.filters import compile_filters
    from core.vectorstores.store import VectorTables
    from cryptography.hazmat.primitives.asymmetric import rsa
    from local.emulator.genai import embedding_vector
    from local.emulator.objectstorage import install_objectstorage

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    credentials = ApiKeyCredentials(kind="api_key", region="us-chicago-1", tenancy_id="ocid1.tenancy.oc1..bench",
                                    key=SigningKey(f"ocid1.tenancy.oc1..bench/ocid1.user.oc1..bench/"
                                                   f"{fingerprint(key.public_key())}", key))
    emulator = emu.Emulator()
    emulator.add_key(credentials.key.key_id, credentials.key.private_key)
    objects = install_objectstorage(emulator, namespace="ns")
    objects.create_bucket("out")
    server = emu.serve_in_thread(emulator)
    model = "cohere.embed-v4.0"  # Embed v3 was retired by OCI on 2026-10-21: the pipeline refuses it
    settings = Settings.from_env({"OCI_OBJECTSTORAGE_ENDPOINT": server.url, "OCI_GENAI_ENDPOINT": server.url,
                                  "OCI_REGION": "us-chicago-1", "OCI_COMPARTMENT_ID": "ocid1.compartment.oc1..b",
                                  "INGEST_INPUT_BUCKETS": "in", "INGEST_OUTPUT_BUCKET": "out",
                                  "INGEST_EMBEDDING_MODEL": model, "VECTOR_STORE_URL": url,
                                  "INGEST_CONTINUATION": "off"})
    runtime.reset()
    runtime._state.settings = settings  # noqa: SLF001 - a benchmark installs its settings like the tests do
    runtime.set_credentials(credentials)
    text = "The harbour office opens at eight in the morning and closes at six in the evening."
    try:
        pipeline = Pipeline(IngestConfig.from_settings(settings), settings=settings)
        await pipeline.handle(ObjectEvent(CREATE, "ns", "in", "warm.txt", objects.put("in", "warm.txt", b"warm up")))
        started = time.perf_counter()
        etag = objects.put("in", "harbour.txt", text.encode(), "text/plain")
        outcome = await pipeline.handle(ObjectEvent(CREATE, "ns", "in", "harbour.txt", etag))
        tables = VectorTables(await runtime.database())
        store = await tables.store("vs_in")
        assert store is not None
        hits = await tables.search(store, embedding_vector(model, text, 1536), 1, compile_filters(None, "c.attributes"))
        elapsed = time.perf_counter() - started
        assert outcome.status == "embedded" and hits and hits[0].object == "harbour.txt"
    finally:
        await runtime.close_database()
        await runtime.close_client()
        server.stop()
    return {"upload_to_searchable_ms": round(elapsed * 1000, 1)}


PSYCOPG_PROBE = """
import sys, time
def rss_kib():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1])
before = rss_kib()
started = time.perf_counter()
import psycopg
imported = time.perf_counter() - started
with psycopg.connect(sys.argv[1]) as conn:
    conn.execute("SELECT 1").fetchone()
    print(imported, rss_kib() - before)
"""

CSV_PROBE = """
import resource, sys
from core.ingest.chunking import Chunker
from core.ingest.extract import Csv
from core.ingest.tokenizer import get_counter
from tests.support.documents import big_csv_pieces
extractor, chunker, chunks = Csv(), Chunker(get_counter(), 400, 50), 0
for piece in big_csv_pieces(float(sys.argv[1]), piece_rows=20000):
    for step in range(0, len(piece), 256 * 1024):
        for text in extractor.feed(piece[step:step + 256 * 1024]):
            chunks += len(chunker.feed(text))
for text in extractor.finish():
    chunks += len(chunker.feed(text))
chunks += len(chunker.finish())
print(extractor.records, chunks, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def psycopg_cost(url: str) -> dict[str, Any]:
    runs = []
    for _ in range(5):
        done = subprocess.run([sys.executable, "-c", PSYCOPG_PROBE, url], capture_output=True, text=True, check=True)
        runs.append([float(v) for v in done.stdout.split()])
    site = Path(__import__("psycopg").__file__).parent.parent
    size = sum(f.stat().st_size for name in ("psycopg", "psycopg_binary", "psycopg_binary.libs")
               for f in (site / name).rglob("*") if f.is_file())
    return {"psycopg_import_ms": round(min(r[0] for r in runs) * 1000, 1),
            "psycopg_rss_mib": round(statistics.median(r[1] for r in runs) / 1024, 1),
            "psycopg_installed_mib": round(size / 1024 / 1024, 1)}


def big_csv(megabytes: float) -> dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CSV_PROBE, str(megabytes)], capture_output=True, text=True,
                          check=True, cwd=REPO)
    records, chunks, peak_kib = (int(v) for v in done.stdout.split())
    return {f"csv_{megabytes:g}mb_rows": records, f"csv_{megabytes:g}mb_chunks": chunks,
            f"csv_{megabytes:g}mb_seconds": round(time.perf_counter() - started, 1),
            f"csv_{megabytes:g}mb_peak_rss_mib": round(peak_kib / 1024, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.vector_store", description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--csv-mb", type=float, nargs="*", default=[32, 64])
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    import pgserver

    from core.catalog import lookup
    from core.settings import Settings

    dims = lookup(Settings().ingest_embedding_model).dimensions or 1024
    with tempfile.TemporaryDirectory(prefix="bench-pg-") as folder:
        server = pgserver.get_server(Path(folder) / "data", cleanup_mode="delete")
        try:
            url = server.get_uri()
            results: dict[str, Any] = {"default_model": Settings().ingest_embedding_model}
            results.update(asyncio.run(store_numbers(url, args.chunks, args.queries, dims)))
            results.update(asyncio.run(upload_to_searchable(url)))
            results.update(psycopg_cost(url))
        finally:
            server.cleanup()
    for megabytes in args.csv_mb:
        results.update(big_csv(megabytes))
    results["process_peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
