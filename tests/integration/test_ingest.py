"""Document ingestion end to end: real-format CloudEvents through the real fdk into func.py (role
``ingest``), against the emulator's Object Storage and Generative AI (signatures verified).

Expected chunks are computed independently of the function process from the fixture bytes (the
same pure extractor/chunker, run here), and expected vectors from the emulator's own
deterministic embedding; content checks (hidden HTML text absent, CSV rows present) do not
depend on the pipeline's code at all.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.ingest import detect as kinds
from core.ingest.chunking import Chunker
from core.ingest.extract import make_extractor
from core.ingest.tokenizer import get_counter
from local.emulator.genai import embedding_vector
from tests.integration.ingest_world import (CHUNK_TOKENS, DIMS, FIXTURES, INPUT, MODEL, NS, OUTPUT, OVERLAP, event,
                                            lines_of, outputs, upload)


def expected_chunks(data: bytes, kind: str) -> list[Any]:
    if kind == kinds.PDF:
        return expected_pdf_chunks(data)
    extractor = make_extractor(kind)
    chunker = Chunker(get_counter(), CHUNK_TOKENS, OVERLAP)
    chunks = []
    for text in extractor.feed(data) + extractor.finish():
        chunks += chunker.feed(text)
    return chunks + chunker.finish()


def expected_pdf_chunks(data: bytes) -> list[Any]:
    """Each page's text (pypdf, stripped, then a blank line) chunked on its own; offsets run across pages."""
    import io

    from pypdf import PdfReader

    chunks: list[Any] = []
    offset = 0
    for page in PdfReader(io.BytesIO(data)).pages:
        text = (page.extract_text() or "").strip()
        text = text + "\n\n" if text else ""
        chunker = Chunker(get_counter(), CHUNK_TOKENS, OVERLAP, first_index=len(chunks), first_offset=offset)
        chunks += chunker.feed(text) + chunker.finish()
        offset += len(text)
    return chunks


@pytest.mark.parametrize("name,content_type,kind", [
    ("guide.txt", "text/plain", kinds.TEXT),
    ("notes.md", "text/markdown", kinds.MARKDOWN),
    ("page.html", "text/html", kinds.HTML),
    ("tickets.jsonl", "application/x-ndjson", kinds.JSONL),
    ("products.csv", "text/csv", kinds.CSV),
    ("report.pdf", "application/pdf", kinds.PDF),
])
def test_each_document_type_produces_the_expected_chunks_and_vectors(ingest, store, name, content_type, kind):
    data = (FIXTURES / name).read_bytes()
    object_name = f"docs/{name}"
    etag = upload(store, object_name, data, content_type)

    answer = ingest(event("createobject", object_name, etag))

    assert answer["status"] == "embedded", answer
    expected = expected_chunks(data, kind)
    assert expected and answer["chunks"] == len(expected)
    lines = lines_of(store, object_name)
    assert [line["text"] for line in lines] == [c.text for c in expected]
    for line, chunk in zip(lines, expected):
        assert (line["chunk"], line["start"], line["end"]) == (chunk.index, chunk.start, chunk.end)
        assert line["embedding"] == embedding_vector(MODEL, chunk.text, DIMS)
        assert (line["bucket"], line["object"], line["eTag"], line["model"]) == (INPUT, object_name, etag, MODEL)
    manifest = json.loads(store.get(OUTPUT, f"embeddings/{object_name}/manifest.json").data)
    assert manifest["status"] == "complete" and manifest["source"]["eTag"] == etag
    assert manifest["dimensions"] == DIMS and manifest["chunkCount"] == len(expected)
    assert manifest["type"] == kind
    assert store.names(OUTPUT, "failed/") == []


def test_extracted_content_is_the_visible_text(ingest, store):
    """Facts about the fixtures themselves, not about the chunker."""
    for name, content_type in (("page.html", "text/html"), ("products.csv", "text/csv"),
                               ("tickets.jsonl", "application/x-ndjson"), ("notes.md", "text/markdown"),
                               ("report.pdf", "application/pdf")):
        etag = upload(store, name, (FIXTURES / name).read_bytes(), content_type)
        assert ingest(event("createobject", name, etag))["status"] == "embedded"
    html = " ".join(line["text"] for line in lines_of(store, "page.html"))
    assert "The harbour office opens at eight in the morning & closes at six in the evening." in html
    assert "tracking code" not in html and "color: red" not in html and "enable JavaScript" not in html
    csv_text = " ".join(line["text"] for line in lines_of(store, "products.csv"))
    assert "description: Two-slot toaster\nwith a defrost setting" in csv_text and "sku: C-3" in csv_text
    jsonl = " ".join(line["text"] for line in lines_of(store, "tickets.jsonl"))
    assert "Search takes ten seconds on large buckets." in jsonl and "perf" in jsonl
    markdown = " ".join(line["text"] for line in lines_of(store, "notes.md"))
    assert "See the configuration guide for the settings." in markdown and "https://example.com" not in markdown
    pdf = " ".join(line["text"] for line in lines_of(store, "report.pdf"))
    assert "Revenue grew by twelve percent" in pdf and "steady growth" in pdf


def test_repeat_delivery_changes_nothing(ingest, emulator, store):
    etag = upload(store, "guide.txt", (FIXTURES / "guide.txt").read_bytes(), "text/plain")
    body = event("createobject", "guide.txt", etag)
    assert ingest(body)["status"] == "embedded"
    before = {n: store.get(OUTPUT, n).etag for n in store.names(OUTPUT)}
    emulator.reset()  # forget recorded requests (keys stay)

    again = ingest(body)

    assert again["status"] == "unchanged"
    assert {n: store.get(OUTPUT, n).etag for n in store.names(OUTPUT)} == before  # no write at all
    assert not [r for r in emulator.requests if r.method in ("PUT", "DELETE") or "embedText" in r.path]


def test_out_of_order_older_event_is_ignored(ingest, store):
    old_etag = upload(store, "guide.txt", b"The first version of the guide.\n", "text/plain")
    new_etag = upload(store, "guide.txt", (FIXTURES / "guide.txt").read_bytes(), "text/plain")
    assert ingest(event("updateobject", "guide.txt", new_etag))["status"] == "embedded"
    before = {n: store.get(OUTPUT, n).etag for n in store.names(OUTPUT)}

    late = ingest(event("createobject", "guide.txt", old_etag))

    assert late["status"] == "superseded"
    assert {n: store.get(OUTPUT, n).etag for n in store.names(OUTPUT)} == before
    assert all(line["eTag"] == new_etag for line in lines_of(store, "guide.txt"))


def test_update_with_fewer_parts_removes_the_stale_parts(ingest, store):
    big = ("A sentence that fills the part with enough words to need several lines. " * 4 + "\n\n") * 120
    etag = upload(store, "long.txt", big.encode(), "text/plain")
    first = ingest(event("createobject", "long.txt", etag))
    assert first["parts"] > 1
    etag2 = upload(store, "long.txt", b"Now a short document.\n", "text/plain")

    second = ingest(event("updateobject", "long.txt", etag2))

    assert second["status"] == "embedded" and second["parts"] == 1
    assert outputs(store, "long.txt") == ["embeddings/long.txt/manifest.json", "embeddings/long.txt/part-00000.jsonl"]


def test_delete_removes_the_outputs(ingest, store):
    etag = upload(store, "dir/guide.txt", (FIXTURES / "guide.txt").read_bytes(), "text/plain")
    other = upload(store, "dir/guide.txt/child.txt", b"An object whose name extends the first one.\n", "text/plain")
    assert ingest(event("createobject", "dir/guide.txt", etag))["status"] == "embedded"
    assert ingest(event("createobject", "dir/guide.txt/child.txt", other))["status"] == "embedded"
    store.remove(INPUT, "dir/guide.txt")

    answer = ingest(event("deleteobject", "dir/guide.txt", None))

    assert answer["status"] == "removed"
    assert outputs(store, "dir/guide.txt") == ["embeddings/dir/guide.txt/child.txt/manifest.json",
                                              "embeddings/dir/guide.txt/child.txt/part-00000.jsonl"]


def test_delete_delivered_after_a_recreate_is_ignored(ingest, store):
    etag = upload(store, "guide.txt", (FIXTURES / "guide.txt").read_bytes(), "text/plain")
    assert ingest(event("createobject", "guide.txt", etag))["status"] == "embedded"
    assert ingest(event("deleteobject", "guide.txt", None))["status"] == "stale_delete"
    assert "embeddings/guide.txt/manifest.json" in outputs(store, "guide.txt")


@pytest.mark.parametrize("name,content_type,reason", [
    ("corrupt.pdf", "application/pdf", "extraction_failed"),
    ("photo.png", "image/png", "binary"),
])
def test_unprocessable_objects_leave_a_dead_letter(ingest, store, name, content_type, reason):
    etag = upload(store, f"in/{name}", (FIXTURES / name).read_bytes(), content_type)

    answer = ingest(event("createobject", f"in/{name}", etag))

    assert answer["reason"] == reason
    letter = json.loads(store.get(OUTPUT, f"failed/in/{name}.json").data)
    assert letter["reason"] == reason and letter["source"]["eTag"] == etag and letter["retryable"] is False
    assert letter["message"]
    assert outputs(store, f"in/{name}") == []
    assert '"ingest_dead_letter"' in ingest.proc.log_text() and reason in ingest.proc.log_text()
    assert ingest(event("createobject", f"in/{name}", etag))["status"] == "unchanged"


def test_events_for_other_buckets_are_refused(ingest, store):
    store.create_bucket("elsewhere")
    etag = store.put("elsewhere", "guide.txt", b"Some text.\n", "text/plain")

    answer = ingest(event("createobject", "guide.txt", etag, bucket="elsewhere"))

    assert answer["status"] == "refused" and "INGEST_INPUT_BUCKETS" in answer["reason"]
    assert store.names(OUTPUT) == []
    assert '"outcome":"refused"' in ingest.proc.log_text()


def test_a_429_storm_is_survived_within_the_deadline(ingest, emulator, store):
    etag = upload(store, "guide.txt", (FIXTURES / "guide.txt").read_bytes(), "text/plain")
    emulator.inject(429, times=4, retry_after="0", path_contains="embedText")

    answer = ingest(event("createobject", "guide.txt", etag), deadline_s=60)

    assert answer["status"] == "embedded"
    statuses = [r.status for r in emulator.requests if "embedText" in r.path]
    assert statuses[:4] == [429] * 4 and statuses[-1] == 200


def test_upstream_refusal_records_a_retryable_dead_letter_and_a_resumable_manifest(ingest, emulator, store):
    etag = upload(store, "guide.txt", (FIXTURES / "guide.txt").read_bytes(), "text/plain")
    emulator.inject(429, times=50, retry_after="0", path_contains="embedText")

    answer = ingest(event("createobject", "guide.txt", etag), deadline_s=60)

    assert answer["status"] == "partial" and answer["reason"] == "upstream_failed"
    letter = json.loads(store.get(OUTPUT, "failed/guide.txt.json").data)
    assert letter["retryable"] is True and letter["resumeFromChunk"] == 0
    emulator.reset()  # forget recorded requests (keys stay)
    retry = ingest(event("createobject", "guide.txt", etag))
    assert retry["status"] == "embedded" and store.names(OUTPUT, "failed/") == []


def test_backfill_embeds_what_is_missing_and_skips_what_is_current(ingest, store, gateway_env):
    import os
    import subprocess
    import sys

    current = upload(store, "a.txt", b"Already embedded by its event.\n", "text/plain")
    assert ingest(event("createobject", "a.txt", current))["status"] == "embedded"
    upload(store, "b.md", (FIXTURES / "notes.md").read_bytes(), "text/markdown")
    upload(store, "c.png", (FIXTURES / "photo.png").read_bytes(), "image/png")
    env = {**os.environ, **gateway_env, "GATEWAY_ROLE": "ingest", "INGEST_INPUT_BUCKETS": INPUT,
           "INGEST_OUTPUT_BUCKET": OUTPUT}

    proc = subprocess.run([sys.executable, "-m", "core.ingest.backfill", "--bucket", INPUT, "--namespace", NS],
                          capture_output=True, text=True, env=env, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])

    assert proc.returncode == 0, proc.stderr[-2000:]
    report = {json.loads(line).get("object"): json.loads(line).get("status") for line in proc.stdout.splitlines()}
    assert (report["a.txt"], report["b.md"], report["c.png"]) == ("unchanged", "embedded", "skipped")
    assert "embeddings/b.md/manifest.json" in outputs(store, "b.md")
    assert json.loads(store.get(OUTPUT, "failed/c.png.json").data)["reason"] == "binary"
