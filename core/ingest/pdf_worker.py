"""``python -m core.ingest.pdf_worker FIRST_PAGE [MEMORY_MB]``: a PDF's text, page by page, in its own process.

Reads the PDF from stdin and writes JSON lines to stdout: first ``{"pages": N}`` (or ``{"error": ...}``
when the document cannot be opened), then ``{"page": i, "text": ...}`` or ``{"page": i, "error": ...}``
for each page from ``FIRST_PAGE`` on. The parent (:mod:`core.ingest.pdf`) reads a line at a time with
a timeout and kills this process when a page takes too long, which a thread could not do: one crafted
page can hold pypdf for minutes. ``MEMORY_MB`` caps the address space, so a decompression bomb ends in a
``MemoryError`` for that page instead of the function container being killed.
"""

from __future__ import annotations

import io
import json
import sys
from typing import Any

MAX_PAGE_CHARS = 4 * 1024 * 1024
"""A page's text beyond this is dropped (the line to the parent stays bounded)."""


def _emit(value: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _limit_memory(megabytes: int) -> None:
    import resource

    limit = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def _open(data: bytes) -> Any:
    """A PdfReader, or None after reporting why the document cannot be read."""
    import logging

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings are per malformed object: noise
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            _emit({"error": "the PDF is encrypted"})
            return None
        _emit({"pages": len(reader.pages)})
        return reader
    except Exception as exc:  # noqa: BLE001 - any parser failure is this document's fault
        _emit({"error": f"unreadable PDF ({_describe(exc)})"})
        return None


def _page_text(reader: Any, number: int) -> dict[str, Any]:
    try:
        text = reader.pages[number].extract_text() or ""
    except (Exception, RecursionError, MemoryError) as exc:  # noqa: BLE001 - one bad page, not the document
        return {"page": number, "error": _describe(exc)}
    from core.ingest.extract import without_lone_surrogates

    return {"page": number, "text": without_lone_surrogates(text[:MAX_PAGE_CHARS])}


def main(argv: list[str]) -> int:
    first = int(argv[0]) if argv else 0
    if len(argv) > 1 and int(argv[1]) > 0:
        _limit_memory(int(argv[1]))
    data = sys.stdin.buffer.read()
    reader = _open(data)
    if reader is None:
        return 0
    for number in range(first, len(reader.pages)):
        _emit(_page_text(reader, number))
    return 0


if __name__ == "__main__":  # pragma: no cover - run by core.ingest.pdf in a child process
    sys.exit(main(sys.argv[1:]))
