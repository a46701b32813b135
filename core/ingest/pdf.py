"""A PDF's pages, one at a time, from a child process that can be abandoned (:mod:`core.ingest.pdf_worker`).

pypdf cannot be interrupted inside a page, and a 6 KB PDF can hold it for over a minute per page, so the
parsing runs in a child process the function can kill:

* each page gets at most ``page_seconds``: a slower page is skipped (reported, counted) and a new child
  resumes at the next page;
* each page also gets at most what the invocation's budget has left: when it runs out,
  :class:`OutOfTime` says which page to resume from (the next invocation starts the child there, without
  re-reading the pages before it). The caller skips a page that stalls invocation after invocation.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Callable

from core.ingest.extract import ExtractionError

FUNCTION_DIR = Path(__file__).resolve().parents[2]
MAX_LINE_BYTES = 32 * 1024 * 1024
"""One page's JSON line from the child (its text is capped at 4 Mi characters)."""
START_SECONDS = 10.0
"""Allowed on top of one page's time for the child to start, import pypdf and open the document."""


@dataclass(frozen=True)
class Page:
    number: int
    text: str = ""
    error: str | None = None
    """Why the page gave no text (it is skipped and counted), or None."""


class OutOfTime(Exception):
    """The invocation's budget ran out before page ``page`` was read."""

    def __init__(self, page: int) -> None:
        super().__init__(f"out of time before page {page}")
        self.page = page


def worker_memory_mb(environ: dict[str, str] | None = None) -> int:
    """The child's address-space cap: half the function's memory (``FN_MEMORY``), at least 192 MB; 0 = none."""
    raw = (environ if environ is not None else os.environ).get("FN_MEMORY", "")
    return max(192, int(raw) // 2) if raw.isdigit() else 0


class _Child:
    """One worker process reading pages from ``first``."""

    def __init__(self, process: Any) -> None:
        self.process = process

    @classmethod
    async def start(cls, data: bytes, first: int) -> "_Child":
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "core.ingest.pdf_worker", str(first), str(worker_memory_mb()),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            cwd=str(FUNCTION_DIR), limit=MAX_LINE_BYTES)
        child = cls(process)
        try:
            process.stdin.write(data)
            await process.stdin.drain()
            process.stdin.close()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the child died reading: its missing header says so
        return child

    async def line(self, timeout: float) -> dict[str, Any] | None:
        """The next message; None when the child ended without one. ``asyncio.TimeoutError`` past ``timeout``."""
        raw = await asyncio.wait_for(self.process.stdout.readline(), max(0.0, timeout))
        if not raw:
            return None
        value = json.loads(raw)
        return value if isinstance(value, dict) else None

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()


async def read_pages(data: bytes, *, first_page: int, page_seconds: float,
                     budget: Callable[[], float | None]) -> AsyncIterator[Page]:
    """Every page from ``first_page`` on, in order. ``budget()`` is the seconds left to this invocation (None:
    unbounded). Raises :class:`OutOfTime` when it runs out, :class:`ExtractionError` for an unreadable PDF."""
    page = first_page
    total: int | None = None
    while total is None or page < total:
        child = await _Child.start(data, page)
        try:
            total = await _header(child, page, page_seconds, budget)
            # An abandoned page (too slow, the child died) ends this child: the loop starts one after it.
            async for item in _pages_of(child, page, total, page_seconds, budget):
                page = item.number + 1
                yield item
        finally:
            await child.stop()


SLOW = object()
"""What :func:`_read` answers when the child took longer than its allowance."""


async def _read(child: _Child, allowance: float, budget: Callable[[], float | None], page: int) -> Any:
    """The child's next message within ``allowance`` and what the budget has left: :class:`OutOfTime` when the
    budget ran out first, :data:`SLOW` when the allowance did, None when the child ended without one."""
    left = budget()
    if left is not None and left <= 0:
        raise OutOfTime(page)
    wait = allowance if left is None else min(allowance, left)
    try:
        return await child.line(wait)
    except asyncio.TimeoutError:
        if wait < allowance:
            raise OutOfTime(page) from None
        return SLOW


async def _header(child: _Child, page: int, page_seconds: float, budget: Callable[[], float | None]) -> int:
    allowance = page_seconds + START_SECONDS
    header = await _read(child, allowance, budget, page)
    if header is SLOW:
        raise ExtractionError(f"opening the PDF took longer than {allowance:.0f} s")
    if header is None:
        raise ExtractionError("unreadable PDF (the reader process ended without an answer)")
    if "error" in header:
        raise ExtractionError(str(header["error"]))
    return int(header.get("pages") or 0)


async def _pages_of(child: _Child, page: int, total: int, page_seconds: float,
                    budget: Callable[[], float | None]) -> AsyncIterator[Page]:
    while page < total:
        message = await _read(child, page_seconds, budget, page)
        if message is SLOW:
            yield Page(page, error=f"took longer than {page_seconds:g} s")
            return
        if message is None:
            yield Page(page, error="the reader process ended (out of memory?)")
            return
        if "error" in message:
            yield Page(page, error=str(message["error"]))
        else:
            yield Page(page, text=str(message.get("text") or ""))
        page += 1
