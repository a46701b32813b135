"""Text out of documents, incrementally where the format allows (pure, no I/O).

Every extractor has the same two-method shape, fed the object's bytes as they arrive:

* ``feed(data: bytes) -> list[str]``: text completed so far;
* ``finish() -> list[str]``: the rest, at the end of the object.

The concatenation of everything returned is the document's *extracted text*; chunk offsets
index it. For plain text and Markdown it is the decoded source itself. Line- and record-wise
formats (text, Markdown, HTML, CSV/TSV, JSON Lines) keep at most one unfinished line or record
in memory; a JSON document and a PDF need the whole object (the caller caps their size).
Malformed content raises :class:`ExtractionError` with a reason fit for a dead letter.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from html.parser import HTMLParser
from typing import Any, Callable

from core.ingest import detect as kinds


class ExtractionError(Exception):
    """The document could not be read as its type; the message says why (no document text in it)."""


# ------------------------------------------------------------------------------------------------
# Bytes -> str


class TextDecoder:
    """Incremental decoding: UTF-8 (with or without BOM) or UTF-16 with BOM; legacy files as cp1252.

    The choice is made on the first bytes and kept, so a stream never changes encoding halfway.
    """

    def __init__(self) -> None:
        self._decoder: Any = None
        self._head = b""
        self.encoding = ""

    def _choose(self, head: bytes) -> None:
        if head.startswith(codecs.BOM_UTF8):
            self.encoding = "utf-8-sig"
        elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            self.encoding = "utf-16"
        else:
            try:
                head.decode("utf-8")
                self.encoding = "utf-8"
            except UnicodeDecodeError as exc:
                self.encoding = "utf-8" if exc.start >= len(head) - 3 else "cp1252"
        self._decoder = codecs.getincrementaldecoder(self.encoding)(errors="replace")

    def feed(self, data: bytes) -> str:
        if self._decoder is None:
            self._head += data
            if len(self._head) < 4096:
                return ""
            data, self._head = self._head, b""
            self._choose(data)
        return self._decoder.decode(data)

    def finish(self) -> str:
        if self._decoder is None:
            data, self._head = self._head, b""
            self._choose(data)
            return self._decoder.decode(data, final=True)
        return self._decoder.decode(b"", final=True)


class _Lines:
    """Complete lines out of arbitrary text pieces (the unfinished line is kept)."""

    def __init__(self) -> None:
        self._rest = ""

    def feed(self, text: str) -> list[str]:
        if "\n" not in text:
            self._rest += text
            return []
        text = self._rest + text
        cut = text.rfind("\n") + 1
        self._rest = text[cut:]
        return text[:cut].splitlines(keepends=True)

    def finish(self) -> list[str]:
        rest, self._rest = self._rest, ""
        return [rest] if rest else []


class _TextBased:
    """Decoding plus a ``text -> list[str]`` step; subclasses override :meth:`_text` and :meth:`_end`."""

    def __init__(self) -> None:
        self.decoder = TextDecoder()

    def feed(self, data: bytes) -> list[str]:
        text = self.decoder.feed(data)
        return self._text(text) if text else []

    def finish(self) -> list[str]:
        tail = self.decoder.finish()
        return (self._text(tail) if tail else []) + self._end()

    def _text(self, text: str) -> list[str]:
        return [text]

    def _end(self) -> list[str]:
        return []


class PlainText(_TextBased):
    """The decoded text as is."""


_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MD_COMMENT = re.compile(r"<!--.*?-->")


class Markdown(_TextBased):
    """Markdown, line by line: link and image targets dropped (their text kept), the rest as written.

    Headings, lists and code stay: they are meaningful text to an embedding model.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lines = _Lines()

    def _clean(self, lines: list[str]) -> list[str]:
        out = []
        for line in lines:
            if "](" in line:
                line = _MD_LINK.sub(r"\1", _MD_IMAGE.sub(r"\1", line))
            if "<!--" in line:
                line = _MD_COMMENT.sub("", line)
            out.append(line)
        return ["".join(out)] if out else []

    def _text(self, text: str) -> list[str]:
        return self._clean(self._lines.feed(text))

    def _end(self) -> list[str]:
        return self._clean(self._lines.finish())


_HIDDEN_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "head", "iframe", "object"})
_BLOCK_TAGS = frozenset({"p", "div", "section", "article", "header", "footer", "main", "aside", "nav", "h1", "h2",
                         "h3", "h4", "h5", "h6", "ul", "ol", "table", "blockquote", "pre", "form", "figure",
                         "figcaption", "dl", "hr", "address", "details", "summary", "title", "body", "html"})
_LINE_TAGS = frozenset({"br", "li", "tr", "dt", "dd", "caption", "option"})
_CELL_TAGS = frozenset({"td", "th"})
_SPACES = re.compile(r"[ \t\r\n\f\v]+")


class _VisibleText(HTMLParser):
    """Visible text of an HTML document: hidden elements skipped, blocks become paragraphs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._hidden = 0
        self._pre = 0
        self._title = False
        self._at_break = True

    def _emit(self, text: str) -> None:
        if text:
            self.out.append(text)
            self._at_break = False

    def _break(self, mark: str) -> None:
        if not self._at_break:
            self.out.append(mark)
            self._at_break = True
        elif mark == "\n\n" and self.out and self.out[-1] == "\n":
            self.out[-1] = "\n\n"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._title = True  # the title is shown (tab, search results), even though it sits in <head>
        if tag in _HIDDEN_TAGS and tag != "head":
            self._hidden += 1
        elif tag == "pre":
            self._pre += 1
        if tag in _BLOCK_TAGS:
            self._break("\n\n")
        elif tag in _LINE_TAGS:
            self._break("\n")
        elif tag in _CELL_TAGS and not self._at_break:
            self.out.append(" | ")
        elif tag == "img" and not self._hidden:
            alt = dict(attrs).get("alt")
            if alt:
                self._emit(" " + alt.strip() + " ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS or tag in _LINE_TAGS:
            self._break("\n" if tag in _LINE_TAGS else "\n\n")
        elif tag == "img":
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._title = False
        if tag in _HIDDEN_TAGS and tag != "head":
            self._hidden = max(0, self._hidden - 1)
        elif tag == "pre":
            self._pre = max(0, self._pre - 1)
        if tag in _BLOCK_TAGS:
            self._break("\n\n")
        elif tag in _LINE_TAGS:
            self._break("\n")

    def handle_data(self, data: str) -> None:
        if self._hidden and not self._title:
            return
        if self._pre:
            self._emit(data)
            return
        text = _SPACES.sub(" ", data)
        if self._at_break:
            text = text.lstrip()
        self._emit(text)


class Html(_TextBased):
    """Visible text of HTML, parsed incrementally with the standard library's tolerant parser."""

    def __init__(self) -> None:
        super().__init__()
        self._parser = _VisibleText()

    def _take(self) -> list[str]:
        out, self._parser.out = self._parser.out, []
        return ["".join(out)] if out else []

    def _text(self, text: str) -> list[str]:
        self._parser.feed(text)
        return self._take()

    def _end(self) -> list[str]:
        self._parser.close()
        return self._take()


# ------------------------------------------------------------------------------------------------
# Records: JSON Lines, JSON, CSV


def record_text(record: Any, fields: tuple[str, ...]) -> str:
    """The text of one JSON record: the configured fields (dotted paths), else every string value."""
    if fields:
        parts = []
        for path in fields:
            value = _dig(record, path)
            if value is not None:
                parts.extend(_strings(value))
        return "\n".join(p for p in parts if p.strip())
    return "\n".join(p for p in _strings(record) if p.strip())


def _dig(value: Any, path: str) -> Any:
    for key in path.split("."):
        if isinstance(value, dict):
            value = value.get(key)
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return None
    return value


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, (int, float)):
        return [str(value)] if not isinstance(value, bool) else []
    out: list[str] = []
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for item in items:
        if isinstance(item, (dict, list, str)):
            out.extend(_strings(item))
    return out


class JsonLines(_TextBased):
    """One record per line; each record's text becomes a paragraph. Bad lines are counted, not fatal."""

    def __init__(self, fields: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.fields = fields
        self._lines = _Lines()
        self.records = 0
        self.bad_records = 0

    def _records(self, lines: list[str]) -> list[str]:
        out = []
        for line in lines:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                self.bad_records += 1
                continue
            self.records += 1
            text = record_text(record, self.fields)
            if text:
                out.append(text.replace("\n\n", "\n") + "\n\n")
        return ["".join(out)] if out else []

    def _text(self, text: str) -> list[str]:
        return self._records(self._lines.feed(text))

    def _end(self) -> list[str]:
        out = self._records(self._lines.finish())
        if self.records == 0 and self.bad_records:
            raise ExtractionError(f"none of the {self.bad_records} lines is valid JSON")
        return out


class JsonDocument(_TextBased):
    """A single JSON document, parsed whole at the end; a top-level array is a list of records."""

    def __init__(self, fields: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.fields = fields
        self._parts: list[str] = []

    def _text(self, text: str) -> list[str]:
        self._parts.append(text)
        return []

    def _end(self) -> list[str]:
        raw, self._parts = "".join(self._parts), []
        try:
            document = json.loads(raw)
        except ValueError as exc:
            where = getattr(exc, "lineno", "?")
            raise ExtractionError(f"not valid JSON ({getattr(exc, 'msg', exc)} at line {where})") from None
        records = document if isinstance(document, list) else [document]
        texts = [record_text(r, self.fields) for r in records]
        return ["".join(t.replace("\n\n", "\n") + "\n\n" for t in texts if t)]


class Csv(_TextBased):
    """CSV/TSV row by row; the first row names the columns; each row becomes ``column: value`` lines."""

    def __init__(self, delimiter: str | None = None) -> None:
        super().__init__()
        self.delimiter = delimiter
        self._lines = _Lines()
        self._record: list[str] = []
        self._quotes = 0
        self._header: list[str] | None = None

    def _rows(self, lines: list[str]) -> list[str]:
        out = []
        for line in lines:
            self._record.append(line)
            self._quotes += line.count('"')
            if self._quotes % 2:  # inside a quoted field that spans lines
                continue
            text, self._record, self._quotes = "".join(self._record), [], 0
            if not text.strip():
                continue
            if self.delimiter is None:
                self.delimiter = _guess_delimiter(text)
            try:
                row = next(csv.reader(io.StringIO(text), delimiter=self.delimiter), [])
            except csv.Error as exc:
                raise ExtractionError(f"malformed CSV ({exc})") from None
            if self._header is None:
                self._header = [h.strip() for h in row]
                continue
            cells = []
            for position, value in enumerate(row):
                value = value.strip()
                if not value:
                    continue
                name = self._header[position] if position < len(self._header) and self._header[position] else ""
                cells.append(f"{name}: {value}" if name else value)
            if cells:
                out.append("\n".join(cells) + "\n\n")
        return ["".join(out)] if out else []

    def _text(self, text: str) -> list[str]:
        return self._rows(self._lines.feed(text))

    def _end(self) -> list[str]:
        out = self._rows(self._lines.finish())
        if self._record:  # an unterminated quote: keep what is there rather than lose the row
            self._quotes = 0
            out += self._rows([""])
        return out


def _guess_delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


class Pdf:
    """A PDF, parsed whole with pypdf (imported only when a PDF arrives); pages become paragraphs."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.pages = 0

    def feed(self, data: bytes) -> list[str]:
        self._parts.append(data)
        return []

    def finish(self) -> list[str]:
        import logging

        logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings are per malformed object: noise
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError

        raw, self._parts = b"".join(self._parts), []
        try:
            reader = PdfReader(io.BytesIO(raw))
            if reader.is_encrypted:
                raise ExtractionError("the PDF is encrypted")
            texts = []
            for page in reader.pages:
                self.pages += 1
                text = (page.extract_text() or "").strip()
                if text:
                    texts.append(text + "\n\n")
        except ExtractionError:
            raise
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError,
                RecursionError, AssertionError, ZeroDivisionError) as exc:
            raise ExtractionError(f"unreadable PDF ({type(exc).__name__}: {str(exc)[:200]})") from None
        if not texts:
            raise ExtractionError(f"the PDF has no extractable text ({self.pages} pages; scanned images need OCR)")
        return ["".join(texts)]


def make_extractor(kind: str, *, json_fields: tuple[str, ...] = ()) -> Any:
    """The extractor for a detected kind."""
    factories: dict[str, Callable[[], Any]] = {
        kinds.TEXT: PlainText,
        kinds.MARKDOWN: Markdown,
        kinds.HTML: Html,
        kinds.JSONL: lambda: JsonLines(json_fields),
        kinds.JSON: lambda: JsonDocument(json_fields),
        kinds.CSV: lambda: Csv(None),
        kinds.TSV: lambda: Csv("\t"),
        kinds.PDF: Pdf,
    }
    return factories[kind]()
