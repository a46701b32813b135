"""Type detection and the incremental extractors (fed in small pieces, as the network delivers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.ingest import detect as kinds
from core.ingest.detect import detect, looks_binary
from core.ingest.extract import (Csv, ExtractionError, Html, JsonDocument, JsonLines, Markdown, Pdf, PlainText,
                                 TextDecoder, record_text)

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


def test_pdf_text_and_corrupt_pdf():
    text = extract(Pdf(), (FIXTURES / "report.pdf").read_bytes(), step=100)
    assert "Revenue grew by twelve percent in the third quarter." in text and "steady growth" in text
    with pytest.raises(ExtractionError, match="unreadable PDF"):
        extract(Pdf(), (FIXTURES / "corrupt.pdf").read_bytes())
