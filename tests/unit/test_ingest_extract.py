"""Type detection and the incremental extractors (fed in small pieces, as the network delivers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.ingest import detect as kinds
from core.ingest.detect import detect, looks_binary
from core.ingest.extract import (MAX_JSON_DEPTH, MAX_LINE_CHARS, Csv, ExtractionError, Html, JsonDocument,
                                 JsonLines, Markdown, PlainText, TextDecoder, record_text)
from tests.support.documents import big_csv_pieces, nested_json, stray_quote_csv

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ingest"


def extract(extractor, data: bytes, step: int = 5) -> str:
    out = []
    for i in range(0, len(data), step):
        out += extractor.feed(data[i:i + step])
    return "".join(out + extractor.finish())


@pytest.mark.parametrize("name,content_type,head,kind", [
    ("a.txt", None, b"hi", kinds.TEXT),
    ("a.md", "application/octet-stream", b"# hi", kinds.MARKDOWN),
    ("a", "text/html; charset=utf-8", b"<p>", kinds.HTML),
    ("a.ndjson", None, b"{}", kinds.JSONL),
    ("a.json", None, b"{}", kinds.JSON),
    ("a.tsv", None, b"a\tb", kinds.TSV),
    ("noext", "text/x-whatever", b"hello", kinds.TEXT),
    ("renamed.txt", "text/plain", b"%PDF-1.7\n", kinds.PDF),
    ("no-extension", None, b"plain words", kinds.TEXT),
])
def test_detection(name, content_type, head, kind):
    assert detect(name, content_type, head).kind == kind


def test_binary_and_unsupported_are_skipped_with_a_reason():
    png = (FIXTURES / "photo.png").read_bytes()
    assert detect("photo.png", "image/png", png).reason == "binary"
    assert detect("data.txt", "text/plain", b"\x00\x01\x02binary").reason == "binary"
    assert detect("movie", "video/mp4", b"ftypisom text-like header").reason == "unsupported_type"
    assert not looks_binary("naïve café".encode("cp1252") * 50)  # legacy 8-bit text is still text
    cut_character = "東京".encode() * 3000 + "東".encode()[:2]
    assert not looks_binary(cut_character)  # a character cut by the sniff window


def test_decoder_handles_boms_split_characters_and_legacy_text():
    data = "\ufeffzażółć gęślą jaźń".encode("utf-8")
    decoder = TextDecoder()
    byte_by_byte = "".join(decoder.feed(data[i:i + 1]) for i in range(len(data))) + decoder.finish()
    assert byte_by_byte == "zażółć gęślą jaźń"
    legacy = TextDecoder()
    assert legacy.feed("café ".encode("cp1252") * 1000) + legacy.finish() == "café " * 1000
    utf16 = TextDecoder()
    assert utf16.feed("hello".encode("utf-16")) + utf16.finish() == "hello"


def test_plain_text_is_the_source_itself():
    text = "line one\n\nline two — ü\n"
    assert extract(PlainText(), text.encode()) == text


def test_markdown_drops_link_targets_keeps_their_text():
    data = (FIXTURES / "notes.md").read_bytes()
    text = extract(Markdown(), data)
    assert "See the configuration guide for the settings." in text
    assert "https://example.com" not in text and "diagram.png" not in text
    assert "# Release notes" in text and "- CSV and JSON Lines are read record by record." in text


def test_html_visible_text_only():
    text = extract(Html(), (FIXTURES / "page.html").read_bytes(), step=3)
    assert "Harbour opening hours" in text
    assert "The harbour office opens at eight in the morning & closes at six in the evening." in text
    assert "tracking code" not in text and "color: red" not in text and "enable JavaScript" not in text
    assert "Monday | 8-18" in text
    assert "\n\nOn public holidays" in text  # blocks become paragraphs


def test_jsonl_configured_fields_and_bad_lines():
    extractor = JsonLines(("title", "meta.author"))
    data = b'{"title": "T1", "meta": {"author": "Ann"}, "body": "ignored"}\nnot json\n{"title": "T2"}'
    assert extract(extractor, data) == "T1\nAnn\n\nT2\n\n"
    assert extractor.bad_records == 1
    with pytest.raises(ExtractionError):
        extract(JsonLines(), b"nope\nstill nope\n")


def test_json_document_arrays_are_records_and_invalid_json_fails():
    records = b'[{"a": "x", "n": 3}, {"b": ["y", {"c": "z"}]}]'
    assert extract(JsonDocument(), records) == "x\n\ny\nz\n\n"  # string values only
    assert record_text({"a": {"b": "deep"}, "c": "top"}, ("a.b",)) == "deep"
    with pytest.raises(ExtractionError, match="not valid JSON"):
        extract(JsonDocument(), b'{"a": ')


def test_csv_rows_with_quoted_newlines():
    text = extract(Csv(), (FIXTURES / "products.csv").read_bytes(), step=4)
    assert text == ("sku: A-1\nname: Kettle\ndescription: Stainless steel kettle, 1.7 litres\n\n"
                    "sku: B-2\nname: Toaster\ndescription: Two-slot toaster\nwith a defrost setting\n\n"
                    "sku: C-3\nname: Blender\ndescription: Glass jug blender\n\n")
    assert extract(Csv("\t"), b"a\tb\n1\t2\n") == "a: 1\nb: 2\n\n"
    assert extract(Csv(), b"x;y\n1;2\n") == "x: 1\ny: 2\n\n"  # delimiter guessed from the header


def test_stray_quotes_keep_every_csv_row():
    """`Monitor 27" wide` and `O"Brien` are plain text, and a quote that never closes swallows no rows."""
    extractor = Csv()
    text = extract(extractor, stray_quote_csv(1000, unclosed_at=500), step=97)
    for number in range(1000):
        assert f"sku: R-{number:05d}\n" in text, number
    assert 'name: Monitor 27" wide 0\n' in text and "name: O\"Brien's pick 1\nstatus: quoted, with a comma" in text
    assert "name: unclosed quote 500" in text
    assert extractor.notes()["records"] == 1000 and extractor.notes()["repairedRecords"] >= 1


def test_a_stray_quote_that_a_later_quote_seems_to_close_swallows_no_rows():
    lines = ["sku,name", 'A-1,"opens here', "A-2,plain", 'A-3,Monitor 27" wide', "A-4,last"]
    text = extract(Csv(), ("\n".join(lines) + "\n").encode(), step=3)
    assert [f"sku: A-{n}" in text for n in range(1, 5)] == [True] * 4
    assert 'name: Monitor 27" wide' in text


def test_a_tsv_with_stray_quotes_keeps_every_row():
    data = 'id\tname\n1\tMonitor 27" wide\n2\t"never closed\n3\tO"Brien\n4\tend\n'.encode()
    text = extract(Csv("\t"), data)
    assert all(f"id: {n}" in text for n in range(1, 5)) and 'name: O"Brien' in text


CSV_MEMORY_PROBE = """
import resource, sys
from core.ingest.extract import Csv
from tests.support.documents import big_csv_pieces
megabytes, measure = float(sys.argv[1]), sys.argv[2] == "read"
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
extractor, rows = Csv(), 0
for piece in big_csv_pieces(megabytes, piece_rows=20000):
    if measure:
        for step in range(0, len(piece), 256 * 1024):
            rows += sum(text.count("sku: ") for text in extractor.feed(piece[step:step + 256 * 1024]))
if measure:
    rows += sum(text.count("sku: ") for text in extractor.finish())
print(rows, extractor.records, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def test_a_32_mb_csv_with_an_unclosed_quote_is_read_in_bounded_memory():
    """Before: every row after the stray quote piled up in one record (a 32 MB file grew the process 605 MiB)."""
    import subprocess
    import sys

    def probe(mode: str) -> list[int]:
        done = subprocess.run([sys.executable, "-c", CSV_MEMORY_PROBE, "32", mode], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parents[2], timeout=300, check=True)
        return [int(v) for v in done.stdout.split()]

    rows, records, grown_kib = probe("read")
    baseline_kib = probe("generate")[2]  # the same pieces generated, not read
    assert rows == records > 450_000  # every row, though row 3 never closes its quote
    assert grown_kib - baseline_kib < 32 * 1024  # KiB: one 256 KiB piece and one batch of rows, not the file


def test_a_line_with_no_end_is_passed_on_in_pieces():
    extractor = Markdown()
    text = extract(extractor, b"x" * (MAX_LINE_CHARS * 3 + 10), step=64 * 1024)
    assert text == "x" * (MAX_LINE_CHARS * 3 + 10) and extractor.notes()["cutLines"] >= 2


def test_deeply_nested_json_lines_are_skipped_and_counted():
    extractor = JsonLines()
    data = "\n".join(['{"a": "kept one"}', nested_json(100_000), '{"b": "kept two"}',
                      '{"c": ' + nested_json(MAX_JSON_DEPTH + 5) + "}", '{"d": ' + nested_json(10) + "}"]).encode()
    assert extract(extractor, data, step=4096) == "kept one\n\nkept two\n\ndeep\n\n"
    assert extractor.notes() == {"records": 3, "skippedRecords": 2}


def test_a_json_array_keeps_its_good_elements_around_a_deep_one():
    extractor = JsonDocument()
    data = ('[{"a": "first"}, ' + nested_json(200_000) + ', {"b": "last"}, ' + nested_json(MAX_JSON_DEPTH + 1) + "]")
    assert extract(extractor, data.encode(), step=65536) == "first\n\nlast\n\n"
    assert extractor.notes() == {"records": 2, "skippedRecords": 2}
    with pytest.raises(ExtractionError, match="nests too deeply"):
        extract(JsonDocument(), ('{"a": ' + nested_json(200_000) + "}").encode(), step=65536)
    with pytest.raises(ExtractionError, match="not valid JSON"):
        extract(JsonDocument(), b'[{"a": "x"} {"b": "y"}]')


def test_lone_surrogates_become_replacement_characters_and_pairs_stay():
    from core.ingest.extract import without_lone_surrogates

    assert without_lone_surrogates("a \ud800 b \udfff") == "a \ufffd b \ufffd"
    assert without_lone_surrogates("a pair \U0001f600 stays") == "a pair \U0001f600 stays"
