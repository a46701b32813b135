"""What kind of document an object is: by extension, then content type, then its first bytes (pure).

The first bytes always have the last word on two questions: a PDF is a PDF whatever it is
called, and bytes that are not text (NUL bytes, or mostly control characters / invalid UTF-8)
are never fed to a text extractor.
"""

from __future__ import annotations

from dataclasses import dataclass

TEXT, MARKDOWN, HTML, JSON, JSONL, CSV, TSV, PDF = "text", "markdown", "html", "json", "jsonl", "csv", "tsv", "pdf"
WHOLE_OBJECT_KINDS = frozenset({JSON, PDF})
"""Kinds parsed from the whole object in memory (capped by INGEST_MAX_WHOLE_OBJECT_BYTES)."""

SNIFF_BYTES = 8192

_BY_EXTENSION = {
    ".txt": TEXT, ".text": TEXT, ".log": TEXT, ".rst": TEXT, ".adoc": TEXT,
    ".md": MARKDOWN, ".markdown": MARKDOWN, ".mdx": MARKDOWN,
    ".html": HTML, ".htm": HTML, ".xhtml": HTML,
    ".json": JSON, ".jsonl": JSONL, ".ndjson": JSONL, ".jsonlines": JSONL,
    ".csv": CSV, ".tsv": TSV, ".tab": TSV,
    ".pdf": PDF,
}
_BY_CONTENT_TYPE = {
    "text/plain": TEXT, "text/markdown": MARKDOWN, "text/x-markdown": MARKDOWN,
    "text/html": HTML, "application/xhtml+xml": HTML,
    "application/json": JSON, "text/json": JSON,
    "application/x-ndjson": JSONL, "application/jsonl": JSONL, "application/json-lines": JSONL,
    "application/jsonlines": JSONL, "application/x-jsonlines": JSONL,
    "text/csv": CSV, "text/tab-separated-values": TSV,
    "application/pdf": PDF,
}
_BINARY_TYPE_PREFIXES = ("image/", "audio/", "video/", "font/")
_BINARY_TYPES = frozenset({"application/zip", "application/gzip", "application/x-tar", "application/x-7z-compressed",
                           "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                           "application/msword", "application/vnd.ms-excel"})


@dataclass(frozen=True)
class Detection:
    kind: str | None
    """One of the kinds above, or None when the object is skipped."""
    reason: str = ""
    """Why it is skipped (``binary`` / ``unsupported_type``), or how it was recognised."""
    detail: str = ""


def extension(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    dot = base.rfind(".")
    return base[dot:].lower() if dot > 0 else ""


def looks_binary(head: bytes) -> bool:
    """NUL bytes, or too many control characters / invalid UTF-8 for text in any common encoding."""
    if not head:
        return False
    if b"\x00" in head:
        # UTF-16 text has NULs too; it starts with a byte-order mark.
        return not head.startswith((b"\xff\xfe", b"\xfe\xff"))
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    if control > len(head) // 20:
        return True
    try:
        head.decode("utf-8")
        return False
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:  # a character cut by the sniff window
            return False
    # Not UTF-8: legacy 8-bit text still reads as mostly printable.
    high = sum(1 for b in head if b >= 0x80)
    return high > len(head) * 3 // 10


def detect(name: str, content_type: str | None, head: bytes) -> Detection:
    """The kind of object ``name`` given its content type and first bytes (up to :data:`SNIFF_BYTES`)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if head.startswith(b"%PDF-"):
        return Detection(PDF, "magic")
    by_name = _BY_EXTENSION.get(extension(name))
    by_type = _BY_CONTENT_TYPE.get(media)
    if media.startswith("text/") and by_type is None:
        by_type = TEXT
    kind = by_name or by_type
    if kind == PDF:
        return Detection(PDF, "declared")  # no %PDF- header: the parser will say how it is broken
    if looks_binary(head):
        return Detection(None, "binary", f"content type {media or 'unset'}, bytes are not text")
    if kind is None and (media.startswith(_BINARY_TYPE_PREFIXES) or media in _BINARY_TYPES):
        return Detection(None, "unsupported_type", f"content type {media}")
    if kind is None:
        return Detection(TEXT, "sniffed")
    return Detection(kind, "declared")
