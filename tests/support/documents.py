"""Hostile and ordinary documents, generated at test time (nothing binary is committed for them).

* :func:`stray_quote_csv`: rows whose fields hold a lone ``"`` (``Monitor 27" wide``, ``O"Brien``) and one
  field that opens a quote it never closes;
* :func:`big_csv`: a CSV of a given size, written in pieces so the test itself stays small in memory;
* :func:`pdf`: a PDF whose pages hold given text, optionally followed by a shared content stream of
  ``( ) Tj`` operators that pypdf needs a long time to walk (a 6 KB file can take minutes);
* :func:`nested_json`: a value nested ``depth`` levels deep.
"""

from __future__ import annotations

import functools
import io
import time
import zlib
from collections.abc import Iterator


def csv_row(number: int) -> str:
    """Row ``number`` of the stray-quote CSV: the SKU names the row, so a test can find every one."""
    if number % 3 == 0:
        return f'R-{number:05d},Monitor 27" wide {number},in stock'
    if number % 3 == 1:
        return f'R-{number:05d},O"Brien\'s pick {number},"quoted, with a comma"'
    return f"R-{number:05d},plain item {number},back order"


def stray_quote_csv(rows: int = 1000, *, unclosed_at: int | None = 500) -> bytes:
    """A header and ``rows`` rows; row ``unclosed_at`` opens a quoted field that never closes."""
    lines = ["sku,name,status"]
    for number in range(rows):
        line = csv_row(number)
        if number == unclosed_at:
            line = f'R-{number:05d},"unclosed quote {number},in stock'
        lines.append(line)
    return ("\n".join(lines) + "\n").encode()


def big_csv_pieces(megabytes: float, *, piece_rows: int = 5000) -> Iterator[bytes]:
    """A CSV of about ``megabytes`` MiB, in pieces, whose only quote is the one row 3 opens and never closes."""
    target = int(megabytes * 1024 * 1024)
    size = 0
    number = 0
    yield b"sku,name,status\n"
    while size < target:
        rows = []
        for _ in range(piece_rows):
            rows.append(f'R-{number:07d},"unclosed at three,in stock' if number == 3
                        else f"R-{number:07d},plain item {number} with a few more words,in stock")
            number += 1
        piece = ("\n".join(rows) + "\n").encode()
        size += len(piece)
        yield piece


def nested_json(depth: int, leaf: str = '"deep"') -> str:
    return "[" * depth + leaf + "]" * depth


@functools.cache
def slow_ops_for(seconds_per_page: float) -> int:
    """How many ``( ) Tj`` operators make pypdf spend about ``seconds_per_page`` on a page on this machine:
    measured once, so deadline tests keep their margins on faster and slower machines alike."""
    import pypdf

    probe_ops = 20_000
    data = pdf(["calibration"], slow_ops=probe_ops)
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text()
        timings.append(time.perf_counter() - started)
    return max(2_000, round(probe_ops * seconds_per_page / min(timings)))


def pdf(page_texts: list[str], *, slow_ops: int = 0) -> bytes:
    """A PDF with one page per text; ``slow_ops`` ``( ) Tj`` operators (compressed, shared) follow each page's
    text: they add no visible text but cost pypdf time on every page."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    slow = None
    if slow_ops:
        data = zlib.compress(b"BT /F1 12 Tf " + b"( ) Tj " * slow_ops + b"ET", 9)
        slow = add(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream")
    pages_id = len(objects) + 2 * len(page_texts) + 1
    page_ids = []
    for text in page_texts:
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1")
        content = b"BT /F1 12 Tf 72 720 Td (" + escaped + b") Tj ET"
        own = add(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        contents = b"[%d 0 R %d 0 R]" % (own, slow) if slow else b"%d 0 R" % own
        page_ids.append(add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 %d 0 R"
                            b" >> >> /Contents %s >>" % (pages_id, font, contents)))
    kids = b" ".join(b"%d 0 R" % p for p in page_ids)
    assert add(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(page_texts))) == pages_id
    catalog = add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id)
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, catalog, xref))
    return out.getvalue()


def page_text(number: int) -> str:
    """Distinct, checkable text for page ``number``."""
    return f"Page {number} of the slow report says the harbour counted {number * 7} ships."
