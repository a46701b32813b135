"""Hostile documents and failing neighbours, through the real fdk into func.py (role ``ingest``).

Each case ends with every good record embedded or a dead letter naming the object; when not even the dead
letter can be written, the function answers an error naming the object. The documents are generated here.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.integration.ingest_world import INPUT, NS, OUTPUT, event, letter_of, lines_of, manifest_of, upload
from tests.support.documents import csv_row, nested_json, page_text, pdf, stray_quote_csv


def texts_of(store, name: str) -> str:
    return "\n".join(line["text"] for line in lines_of(store, name))


def chunk_indices(store, name: str) -> list[int]:
    return [line["chunk"] for line in lines_of(store, name)]


@pytest.mark.parametrize("name,content_type,data", [
    ("stock.csv", "text/csv", stray_quote_csv(1000, unclosed_at=500)),
    ("stock.tsv", "text/tab-separated-values",
     stray_quote_csv(1000, unclosed_at=500).replace(b",", b"\t")),
])
def test_stray_quotes_keep_every_row(ingest, store, name, content_type, data):
    etag = upload(store, name, data, content_type)

    answer = ingest(event("createobject", name, etag))

    assert answer["status"] == "embedded", answer
    text = texts_of(store, name)
    missing = [n for n in range(1000) if f"R-{n:05d}" not in text]
    assert missing == []  # before: one stray quote kept 1 row of 1,001
    assert 'Monitor 27" wide 999' in text and "O\"Brien's pick 997" in text
    assert manifest_of(store, name)["notes"]["records"] == 1000 == answer["notes"]["records"]


def test_a_deeply_nested_jsonl_line_is_skipped_and_the_good_records_kept(ingest, store):
    data = "\n".join(['{"note": "the first record"}', nested_json(100_000), '{"note": "the last record"}'])
    etag = upload(store, "notes.jsonl", data.encode(), "application/x-ndjson")

    answer = ingest(event("createobject", "notes.jsonl", etag))

    assert answer["status"] == "embedded" and answer["notes"] == {"records": 2, "skippedRecords": 1}
    assert "the first record" in texts_of(store, "notes.jsonl") and "the last record" in texts_of(store, "notes.jsonl")


def test_a_json_document_nested_too_deep_gets_a_dead_letter_naming_it(ingest, store):
    etag = upload(store, "deep.json", ('{"a": ' + nested_json(100_000) + "}").encode(), "application/json")

    answer = ingest(event("createobject", "deep.json", etag))  # before: RecursionError, HTTP 500, nothing recorded

    assert answer["status"] == "failed" and answer["reason"] == "extraction_failed"
    letter = letter_of(store, "deep.json")
    assert letter["source"]["object"] == "deep.json" and "nests too deeply" in letter["message"]
    assert '"object":"deep.json"' in ingest.proc.log_text()


SLOW_PAGES = {"PYTHONPATH": str(Path(__file__).parents[1] / "support" / "slow_pages"), "TEST_PDF_PAGE_SECONDS": "0.4"}
"""The function's PDF reader spends 0.4 s more on each page (wall time, the same on any machine)."""


def test_a_slow_pdf_respects_the_deadline_page_by_page_and_resumes_at_its_page(ingest_factory, store):
    ingest = ingest_factory({"INGEST_TIME_RESERVE_SECONDS": "4", "INGEST_CHUNK_TOKENS": "100", **SLOW_PAGES})
    data = pdf([page_text(n) for n in range(20)])  # 8 s of reading against 4 s of budget: more than one call
    etag = upload(store, "slow.pdf", data, "application/pdf")

    started = time.monotonic()
    first = ingest(event("createobject", "slow.pdf", etag), deadline_s=8)

    assert time.monotonic() - started < 8  # answered within the invocation, not killed by the platform
    assert first["status"] == "partial" and first["reason"] == "deadline", first
    letter = letter_of(store, "slow.pdf")
    resume_page = letter["resumeFromPage"]
    assert letter["source"]["object"] == "slow.pdf" and letter["retryable"] and 0 < resume_page < 20
    assert manifest_of(store, "slow.pdf")["resume"]["page"] == resume_page

    second = ingest(event("createobject", "slow.pdf", etag), deadline_s=120)

    assert second["status"] == "embedded" and second["invocations"] == 2
    text = texts_of(store, "slow.pdf")
    assert [text.count(page_text(n)) for n in range(20)] == [1] * 20  # no page missing or doubled
    assert chunk_indices(store, "slow.pdf") == list(range(second["chunks"]))
    assert letter_of(store, "slow.pdf") is None


# 256-dimension vectors of the default model: the time budgets below were set for vectors this size.
SHORT_VECTORS = {"INGEST_EMBEDDING_MODEL": "short-vectors",
                 "MODEL_ALIASES": json.dumps({"short-vectors": {"model": "cohere.embed-v4.0",
                                                                "params": {"dimensions": 256}}})}


@pytest.fixture
def continuing_ingest(ingest_factory, emulator):
    """An ingest function that goes on with long objects by invoking itself detached (through the emulator's
    Functions API, which calls the same fdk process with ``Fn-Invoke-Type: detached``)."""
    from local.emulator.functions import install_functions

    function_id = "ocid1.fnfunc.oc1.us-chicago-1.aaaaaaaaingest"
    functions = install_functions(emulator.emulator)

    def start(invocation_s: float, extra_env: dict[str, str] | None = None):
        deliver = ingest_factory({"INGEST_CONTINUATION": "invoke", "FN_FN_ID": function_id,
                                  "OCI_FUNCTIONS_ENDPOINT": emulator.url, **(extra_env or {})})

        async def invoke(body: bytes, invoke_type: str, intent: str) -> tuple[int, bytes]:
            result = await deliver.proc.acall_invoke(body, intent=intent, deadline_s=invocation_s,
                                                      invoke_type=invoke_type)
            return result.status, result.body

        functions.register(function_id, invoke)
        deliver.functions = functions  # type: ignore[attr-defined]
        return deliver

    return start


def wait_complete(store, name: str, functions, timeout_s: float = 120) -> dict:
    """The complete manifest once the chain of detached invocations has ended."""
    limit = time.monotonic() + timeout_s
    while time.monotonic() < limit:
        time.sleep(0.2)
        if functions.running():
            continue
        manifest = manifest_of(store, name)
        if manifest and manifest["status"] == "complete":
            return manifest
        last = functions.invocations[-1] if functions.invocations else None
        if last is not None and last.status is not None and b'"continuation":"sent"' not in last.answer:
            break  # the chain stopped short
    raise AssertionError(f"{name} did not complete: {manifest_of(store, name)}, {functions.invocations}")


PAGES = 12


def test_a_pdf_needing_several_invocations_is_finished_by_detached_continuations(continuing_ingest, store):
    # 4.8 s of reading against 4 s of budget per invocation: two invocations at least
    ingest = continuing_ingest(8.0, {"INGEST_TIME_RESERVE_SECONDS": "4", "INGEST_CHUNK_TOKENS": "100", **SLOW_PAGES})
    etag = upload(store, "long.pdf", pdf([page_text(n) for n in range(PAGES)]), "application/pdf")

    first = ingest(event("createobject", "long.pdf", etag), deadline_s=8.0)

    assert first["status"] == "partial" and first["continuation"] == "sent", first
    manifest = wait_complete(store, "long.pdf", ingest.functions)
    calls = ingest.functions.invocations
    assert manifest["invocations"] == len(calls) + 1 >= 2
    assert all(c.invoke_type == "detached" and c.status == 200 and c.error is None for c in calls)
    assert [json.loads(c.body)["gatewayContinuation"] for c in calls] == list(range(2, len(calls) + 2))
    assert "skippedPages" not in manifest.get("notes", {}), manifest
    text = texts_of(store, "long.pdf")
    assert [text.count(page_text(n)) for n in range(PAGES)] == [1] * PAGES
    assert chunk_indices(store, "long.pdf") == list(range(manifest["chunkCount"]))
    assert letter_of(store, "long.pdf") is None


def test_a_text_needing_several_invocations_is_finished_without_a_missing_or_doubled_chunk(continuing_ingest,
                                                                                          emulator, store):
    ingest = continuing_ingest(5.0, {"INGEST_TIME_RESERVE_SECONDS": "3", "EMBEDDINGS_CONCURRENCY": "1",
                                     "INGEST_EMBEDDING_FORMAT": "base64", **SHORT_VECTORS})
    paragraphs = [f"Paragraph {n} tells the story of ship {n} and its harbour." for n in range(1200)]
    etag = upload(store, "long.txt", "\n\n".join(paragraphs).encode(), "text/plain")
    emulator.emulator.latency = 0.2  # every call to OCI takes a while: ~20 parts and 5 windows need over 2 s

    first = ingest(event("createobject", "long.txt", etag), deadline_s=5.0)

    assert first["status"] == "partial" and first["continuation"] == "sent", first
    manifest = wait_complete(store, "long.txt", ingest.functions)
    assert manifest["invocations"] >= 2
    lines = lines_of(store, "long.txt")
    assert [line["chunk"] for line in lines] == list(range(manifest["chunkCount"]))
    text = "\n".join(line["text"] for line in lines)
    assert [text.count(f"ship {n} and") for n in range(1200)] == [1] * 1200


def test_a_get_body_that_breaks_is_read_on_from_where_it_broke(ingest_factory, emulator, store):
    ingest = ingest_factory({"INGEST_EMBEDDING_FORMAT": "base64"})
    data = "\n\n".join(csv_row(n) for n in range(3000)).encode()  # 140 KB
    etag = upload(store, "broken.txt", data, "text/plain")
    store.break_reads(INPUT, "broken.txt", after=40_000, times=2)

    answer = ingest(event("createobject", "broken.txt", etag))

    assert answer["status"] == "embedded"
    ranges = [r.headers.get("range") for r in emulator.requests if r.method == "GET" and "broken.txt" in r.path
              and INPUT in r.path]
    assert ranges == [None, "bytes=40000-", "bytes=80000-"]
    text = texts_of(store, "broken.txt")
    assert [text.count(f"R-{n:05d},") for n in range(3000)] == [1] * 3000


def test_a_get_body_that_keeps_breaking_leaves_progress_and_a_dead_letter(ingest_factory, store):
    ingest = ingest_factory({"INGEST_EMBEDDING_FORMAT": "base64"})
    data = "\n\n".join(csv_row(n) for n in range(3000)).encode()
    etag = upload(store, "flaky.txt", data, "text/plain")
    store.break_reads(INPUT, "flaky.txt", after=20_000, times=1000)  # 140 KB in 20 KB pieces: never to the end

    answer = ingest(event("createobject", "flaky.txt", etag))

    assert answer["status"] == "partial" and answer["reason"] == "read_failed", answer
    letter = letter_of(store, "flaky.txt")
    assert letter["source"]["object"] == "flaky.txt" and letter["retryable"] and "broke off" in letter["message"]
    store.break_reads(INPUT, "flaky.txt", after=0, times=0)
    assert ingest(event("createobject", "flaky.txt", etag))["status"] == "embedded"
    assert letter_of(store, "flaky.txt") is None


def test_a_failing_part_write_is_recorded_as_a_dead_letter(ingest_factory, emulator, store):
    ingest = ingest_factory({"OCI_MAX_RETRIES": "0"})
    etag = upload(store, "guide.txt", b"A short guide to the harbour.\n", "text/plain")
    emulator.inject(500, times=1, path_contains="part-00000")

    answer = ingest(event("createobject", "guide.txt", etag))

    assert answer["status"] == "failed" and answer["reason"] == "write_failed"
    letter = letter_of(store, "guide.txt")
    assert letter["source"]["object"] == "guide.txt" and letter["retryable"] and "part-00000" in letter["message"]
    assert ingest(event("createobject", "guide.txt", etag))["status"] == "embedded"
    assert letter_of(store, "guide.txt") is None


def test_an_output_bucket_that_fails_entirely_is_an_error_naming_the_object(ingest_factory, emulator, store):
    ingest = ingest_factory({"OCI_MAX_RETRIES": "0"})
    etag = upload(store, "guide.txt", b"A short guide to the harbour.\n", "text/plain")
    emulator.inject(500, times=1000, path_contains=f"/b/{OUTPUT}/")

    answer = ingest(event("createobject", "guide.txt", etag), status=502)  # a failed invocation to OCI

    assert answer["error"]["code"] == "ingest_not_recorded"
    assert f"{NS}/{INPUT}/guide.txt" in answer["error"]["message"]
    log = ingest.proc.log_text()
    assert '"event":"ingest_not_recorded"' in log and '"object":"guide.txt"' in log


def test_a_lone_surrogate_escape_in_json_is_embedded_as_a_replacement_character(ingest, store):
    data = b'{"note": "before \\ud800 after"}\n{"note": "a pair \\ud83d\\ude00 stays"}\n'
    etag = upload(store, "odd.jsonl", data, "application/x-ndjson")

    answer = ingest(event("createobject", "odd.jsonl", etag))

    assert answer["status"] == "embedded", answer
    text = texts_of(store, "odd.jsonl")
    assert "before \ufffd after" in text and "a pair \U0001f600 stays" in text


def test_a_part_failing_while_later_parts_are_in_flight_loses_and_doubles_nothing(ingest_factory, emulator, store):
    ingest = ingest_factory({"OCI_MAX_RETRIES": "0", "INGEST_PART_MAX_BYTES": str(64 * 1024),
                             "INGEST_CHUNK_TOKENS": "100", "INGEST_CHUNK_OVERLAP_TOKENS": "0"})
    paragraphs = [page_text(n) for n in range(120)]  # ~40 chunks of ~17 KB lines: a dozen parts of 64 KiB
    etag = upload(store, "many.txt", "\n\n".join(paragraphs).encode(), "text/plain")
    emulator.inject(500, times=1, path_contains="part-00001")

    answer = ingest(event("createobject", "many.txt", etag))

    assert answer["reason"] == "write_failed", answer
    letter = letter_of(store, "many.txt")
    assert letter["retryable"] and "part-00001" in letter["message"]
    assert ingest(event("createobject", "many.txt", etag))["status"] == "embedded"
    manifest = manifest_of(store, "many.txt")
    assert len(manifest["parts"]) >= 4
    text = texts_of(store, "many.txt")
    assert [text.count(p) for p in paragraphs] == [1] * len(paragraphs)
    assert chunk_indices(store, "many.txt") == list(range(manifest["chunkCount"]))
    assert letter_of(store, "many.txt") is None
