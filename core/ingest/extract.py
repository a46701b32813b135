"""Text out of documents, incrementally where the format allows (pure, no I/O).

Every extractor has the same two-method shape, fed the object's bytes as they arrive:

* ``feed(data: bytes) -> list[str]``: text completed so far;
* ``finish() -> list[str]``: the rest, at the end of the object.

The concatenation of everything returned is the document's *extracted text*; chunk offsets
index it. For plain text and Markdown it is the decoded source itself. Line- and record-wise
formats (text, Markdown, HTML, CSV/TSV, JSON Lines) keep at most one unfinished line or record
in memory, and both are bounded (:data:`MAX_LINE_CHARS`, :data:`MAX_RECORD_CHARS`); a JSON
document needs the whole object (the caller caps its size). PDFs are read page by page in a
separate process (:mod:`core.ingest.pdf`).

Hostile input never costs a record that can be kept: a malformed CSV row, a JSON Lines line that
does not parse or nests deeper than :data:`MAX_JSON_DEPTH`, an element of a JSON array that
cannot be read are skipped or repaired and counted (:meth:`notes`), never raised. Only a document
with nothing readable in it raises :class:`ExtractionError`, with a reason fit for a dead letter.
"""

from __future__ import annotations

import codecs
import csv
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


MAX_LINE_CHARS = 1 << 20
"""A line longer than this (a 64 MB file with no newline) is passed on in pieces, so memory stays bounded."""


class _Lines:
    """Complete lines out of arbitrary text pieces (the unfinished line is kept, up to :data:`MAX_LINE_CHARS`)."""

    def __init__(self, max_chars: int = MAX_LINE_CHARS) -> None:
        self.max_chars = max_chars
        self._rest: list[str] = []
        self._size = 0
        self.cut = 0
        """Lines passed on in pieces because they were longer than ``max_chars``."""

    def feed(self, text: str) -> list[str]:
        cut = text.rfind("\n") + 1
        if not cut:
            self._rest.append(text)
            self._size += len(text)
            if self._size <= self.max_chars:
                return []
            self.cut += 1
            return [self._flush()]
        head = self._flush() + text[:cut]
        tail = text[cut:]
        if tail:
            self._rest, self._size = [tail], len(tail)
        return head.splitlines(keepends=True)

    def _flush(self) -> str:
        rest, self._rest, self._size = "".join(self._rest), [], 0
        return rest

    def finish(self) -> list[str]:
        rest = self._flush()
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

    def notes(self) -> dict[str, int]:
        """Counts worth recording (records read, skipped, repaired), zero counts left out."""
        return {}


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

    def notes(self) -> dict[str, int]:
        return _nonzero(cutLines=self._lines.cut)


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

MAX_JSON_DEPTH = 64
"""JSON nested deeper than this is a bad record (skipped and counted), never a recursion."""


class TooDeep(ValueError):
    """A JSON value nested deeper than :data:`MAX_JSON_DEPTH`."""


def record_text(record: Any, fields: tuple[str, ...]) -> str:
    """The text of one JSON record: the configured fields (dotted paths), else every string value.

    Raises :class:`TooDeep` for a record nested deeper than :data:`MAX_JSON_DEPTH`.
    """
    if fields:
        parts = []
        for path in fields:
            value = _dig(record, path)
            if value is not None:
                parts.extend(_strings(value))
    else:
        parts = list(_strings(record))
    return without_lone_surrogates("\n".join(p for p in parts if p.strip()))


LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def without_lone_surrogates(text: str) -> str:
    """``text`` with each lone surrogate (a JSON ``\\ud800`` escape, a PDF string's broken UTF-16) as U+FFFD, as
    an undecodable byte is: UTF-8 cannot carry one, so OCI's request, PostgreSQL and the output lines refuse it."""
    return LONE_SURROGATE.sub("\ufffd", text)


def _dig(value: Any, path: str) -> Any:
    for key in path.split("."):
        if isinstance(value, dict):
            value = value.get(key)
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return None
    return value


_END = object()


def _strings(value: Any) -> list[str]:
    """The strings of ``value`` in document order (a number only when it is the value itself), iteratively."""
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, (int, float)):
        return [str(value)]
    out: list[str] = []
    stack = [iter((value,))]
    while stack:
        item = next(stack[-1], _END)
        if item is _END:
            stack.pop()
        elif isinstance(item, str):
            out.append(item)
        elif isinstance(item, (dict, list)):
            if len(stack) > MAX_JSON_DEPTH:
                raise TooDeep(f"nested deeper than {MAX_JSON_DEPTH} levels")
            stack.append(iter(item.values() if isinstance(item, dict) else item))
    return out


def _paragraph(text: str) -> str:
    return text.replace("\n\n", "\n") + "\n\n"


class JsonLines(_TextBased):
    """One record per line; each record's text becomes a paragraph. Bad lines are counted, not fatal."""

    def __init__(self, fields: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.fields = fields
        self._lines = _Lines()
        self.records = 0
        self.bad_records = 0

    def _record(self, line: str) -> str | None:
        """The line's text; None (counted) for a line that is not JSON or nests too deep."""
        try:
            text = record_text(json.loads(line), self.fields)
        except (ValueError, RecursionError):  # TooDeep is a ValueError; the parser's own depth guard recurses
            self.bad_records += 1
            return None
        self.records += 1
        return text

    def _records(self, lines: list[str]) -> list[str]:
        out = []
        for line in lines:
            if line.strip():
                text = self._record(line)
                if text:
                    out.append(_paragraph(text))
        return ["".join(out)] if out else []

    def _text(self, text: str) -> list[str]:
        return self._records(self._lines.feed(text))

    def _end(self) -> list[str]:
        out = self._records(self._lines.finish())
        if self.records == 0 and self.bad_records:
            raise ExtractionError(f"none of the {self.bad_records} lines is valid JSON nested at most "
                                  f"{MAX_JSON_DEPTH} levels deep")
        return out

    def notes(self) -> dict[str, int]:
        return _nonzero(records=self.records, skippedRecords=self.bad_records, cutLines=self._lines.cut)


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_SPACE = re.compile(r"[ \t\r\n]*")


class JsonDocument(_TextBased):
    """A single JSON document, parsed whole at the end; a top-level array is a list of records.

    The elements of a top-level array are parsed one by one, so one element nested too deep is
    skipped and counted while the others are kept.
    """

    def __init__(self, fields: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.fields = fields
        self._parts: list[str] = []
        self.records = 0
        self.bad_records = 0

    def _text(self, text: str) -> list[str]:
        self._parts.append(text)
        return []

    def _end(self) -> list[str]:
        raw, self._parts = "".join(self._parts), []
        position = _SPACE.match(raw).end()  # type: ignore[union-attr]
        if raw.startswith("[", position):
            texts = [t for t in self._elements(raw, position + 1) if t]
        else:
            texts = [self._whole(raw)]
        return ["".join(_paragraph(t) for t in texts if t)]

    def _whole(self, raw: str) -> str:
        try:
            document = json.loads(raw)
        except RecursionError:
            raise ExtractionError("the JSON document nests too deeply to read") from None
        except ValueError as exc:
            raise _invalid(exc) from None
        try:
            text = record_text(document, self.fields)
        except TooDeep as exc:
            raise ExtractionError(f"the JSON document is {exc}") from None
        self.records += 1
        return text

    def _elements(self, raw: str, position: int) -> list[str]:
        """The text of each element of the array that starts before ``position``."""
        decoder = json.JSONDecoder()
        texts: list[str] = []
        position = _SPACE.match(raw, position).end()  # type: ignore[union-attr]
        if raw.startswith("]", position):
            return texts
        while True:
            text, position = self._element(decoder, raw, position)
            texts.append(text)
            position = _SPACE.match(raw, position).end()  # type: ignore[union-attr]
            if raw.startswith("]", position):
                return texts
            if not raw.startswith(",", position):
                raise ExtractionError(f"not valid JSON (expected ',' or ']' at character {position})")
            position = _SPACE.match(raw, position + 1).end()  # type: ignore[union-attr]

    def _element(self, decoder: json.JSONDecoder, raw: str, position: int) -> tuple[str, int]:
        try:
            value, end = decoder.raw_decode(raw, position)
        except RecursionError:
            self.bad_records += 1
            return "", _skip_value(raw, position)
        except ValueError as exc:
            raise _invalid(exc) from None
        try:
            text = record_text(value, self.fields)
        except TooDeep:
            self.bad_records += 1
            return "", end
        self.records += 1
        return text, end

    def notes(self) -> dict[str, int]:
        return _nonzero(records=self.records, skippedRecords=self.bad_records)


def _invalid(exc: ValueError) -> ExtractionError:
    where = getattr(exc, "lineno", "?")
    return ExtractionError(f"not valid JSON ({getattr(exc, 'msg', exc)} at line {where})")


def _skip_value(raw: str, position: int) -> int:
    """Where the array or object starting at ``position`` ends, found without recursion."""
    depth = 0
    for match in _JSON_TOKEN.finditer(raw, position):
        token = match.group(0)
        if token in "[{":
            depth += 1
        elif token in "]}":
            depth -= 1
            if depth == 0:
                return match.end()
    raise ExtractionError("not valid JSON (an array or object is never closed)")


MAX_RECORD_CHARS = 128 * 1024
"""A quoted CSV field still open after this many characters is an unbalanced quote (the csv module's own
field limit): the lines it swallowed are read as rows of their own, so memory stays bounded and no row is lost."""


def _quote_openers(delimiter: str) -> re.Pattern[str]:
    """A quote that opens a quoted field: at the start of the line or right after a delimiter."""
    return re.compile(rf'(?:^|{re.escape(delimiter)})"')


def closing_quote(line: str, position: int) -> int:
    """Index of the quote that closes a quoted field read from ``position`` (``""`` is a quote inside), or -1."""
    while True:
        quote = line.find('"', position)
        if quote < 0 or not line.startswith('"', quote + 1):
            return quote
        position = quote + 2


def ends_in_quoted_field(line: str, delimiter: str, opener: re.Pattern[str], *, inside: bool = False,
                         position: int = 0) -> bool:
    """Whether ``line`` ends inside a quoted field, by the csv module's rules.

    A quote opens a field only at its start (``Monitor 27" wide`` and ``O"Brien`` are plain text), ``""``
    is a quote inside a quoted field, and after the closing quote the field runs on unquoted.
    """
    while True:
        if not inside:
            found = opener.search(line, position)
            if found is None:
                return False
            position = found.end()
        close = closing_quote(line, position)
        if close < 0:
            return True
        following = line.find(delimiter, close + 1)
        if following < 0:
            return False
        position, inside = following, False


class Csv(_TextBased):
    """CSV/TSV row by row; the first row names the columns; each row becomes ``column: value`` lines.

    Quoted fields may span lines. A quote that never closes (within :data:`MAX_RECORD_CHARS`, or by the end
    of the file) is taken literally: the lines it swallowed become rows again. Rows are counted in :meth:`notes`.
    """

    def __init__(self, delimiter: str | None = None) -> None:
        super().__init__()
        self.delimiter = delimiter
        self._opener = _quote_openers(delimiter) if delimiter else None
        self._lines = _Lines()
        self._record: list[str] = []
        self._record_chars = 0
        self._header: list[str] | None = None
        self.records = 0
        self.repaired = 0

    def _rows(self, lines: list[str]) -> list[str]:
        records: list[str | list[str]] = []  # complete records (text, or a row already read)
        for line in lines:
            if self._record:
                self._continue_record(line, records)
            elif line.strip():
                self._start_record(line, records)
        out: list[str] = []
        self._emit(records, out)
        return ["".join(out)] if out else []

    def _start_record(self, line: str, records: list[str | list[str]]) -> None:
        if self.delimiter is None:
            self.delimiter = _guess_delimiter(line)
        if self._opener is None:
            self._opener = _quote_openers(self.delimiter)
        if '"' in line and ends_in_quoted_field(line, self.delimiter, self._opener):
            self._record, self._record_chars = [line], len(line)
        else:
            records.append(line)

    def _continue_record(self, line: str, records: list[str | list[str]]) -> None:
        """The next line of a quoted field that spans lines: it closes the field, or the record grows."""
        assert self.delimiter is not None and self._opener is not None
        self._record.append(line)
        self._record_chars += len(line)
        close = closing_quote(line, 0)
        if close < 0:
            if self._record_chars > MAX_RECORD_CHARS:
                self._unbalanced(records)
            return
        if not self._clean_close(line, close + 1):  # `27" wide` closes nothing: the opening quote was stray
            self._unbalanced(records)
            return
        if ends_in_quoted_field(line, self.delimiter, self._opener, position=close + 1):
            return  # another quoted field opens later on the same line
        records.append("".join(self._record))
        self._record, self._record_chars = [], 0

    def _clean_close(self, line: str, after: int) -> bool:
        """A quote that closes a field is followed by the delimiter or the end of the line."""
        return after >= len(line) or line[after] in "\r\n" or line.startswith(self.delimiter or ",", after)

    def _unbalanced(self, records: list[str | list[str]]) -> None:
        """The open record was an unbalanced quote: every line it holds is a row of its own, read alone."""
        lines, self._record, self._record_chars = self._record, [], 0
        for line in lines:
            if line.strip():
                self.repaired += 1
                records.append(self._parse(line))

    def _emit(self, records: list[str | list[str]], out: list[str]) -> None:
        """Each record as ``column: value`` lines: runs of unparsed records go through the csv module together."""
        batch: list[str] = []
        for record in records:
            if isinstance(record, str):
                batch.append(record)
                continue
            self._emit_batch(batch, out)
            batch = []
            self._row(record, out)
        self._emit_batch(batch, out)

    def _emit_batch(self, batch: list[str], out: list[str]) -> None:
        if not batch:
            return
        assert self.delimiter is not None
        try:
            rows = list(csv.reader(batch, delimiter=self.delimiter))
        except csv.Error:  # a field over the csv module's limit: find it, split that record plainly
            rows = [self._parse(record) for record in batch]
        for row in rows:
            self._row(row, out)

    def _parse(self, text: str) -> list[str]:
        assert self.delimiter is not None
        try:
            return next(csv.reader((text,), delimiter=self.delimiter), [])
        except csv.Error:
            self.repaired += 1
            return text.rstrip("\r\n").split(self.delimiter)

    def _row(self, row: list[str], out: list[str]) -> None:
        if self._header is None:
            self._header = [h.strip() for h in row]
            return
        cells = []
        for position, value in enumerate(row):
            value = value.strip()
            if not value:
                continue
            name = self._header[position] if position < len(self._header) and self._header[position] else ""
            cells.append(f"{name}: {value}" if name else value)
        if cells:
            self.records += 1
            out.append("\n".join(cells) + "\n\n")

    def _text(self, text: str) -> list[str]:
        return self._rows(self._lines.feed(text))

    def _end(self) -> list[str]:
        out = self._rows(self._lines.finish())
        if self._record:  # a quote still open at the end of the file
            records: list[str | list[str]] = []
            self._unbalanced(records)
            rest: list[str] = []
            self._emit(records, rest)
            out += ["".join(rest)] if rest else []
        return out

    def notes(self) -> dict[str, int]:
        return _nonzero(records=self.records, repairedRecords=self.repaired, cutLines=self._lines.cut)


def _guess_delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _nonzero(**counts: int) -> dict[str, int]:
    return {name: value for name, value in counts.items() if value}


def guarded(kind: str, call: Callable[..., list[str]], *args: Any) -> list[str]:
    """An extractor call; an unexpected failure of the reader becomes an :class:`ExtractionError` naming it."""
    try:
        return call(*args)
    except ExtractionError:
        raise
    except Exception as exc:  # noqa: BLE001 - a hostile document must end in a dead letter, not a 500
        raise ExtractionError(f"the {kind} reader failed ({type(exc).__name__}: {str(exc)[:160]})") from None


def make_extractor(kind: str, *, json_fields: tuple[str, ...] = ()) -> Any:
    """The extractor for a streamed kind (every kind but PDF, which :mod:`core.ingest.pdf` reads)."""
    factories: dict[str, Callable[[], Any]] = {
        kinds.TEXT: PlainText,
        kinds.MARKDOWN: Markdown,
        kinds.HTML: Html,
        kinds.JSONL: lambda: JsonLines(json_fields),
        kinds.JSON: lambda: JsonDocument(json_fields),
        kinds.CSV: lambda: Csv(None),
        kinds.TSV: lambda: Csv("\t"),
    }
    return factories[kind]()
