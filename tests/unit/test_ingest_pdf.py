"""PDF pages from a child process that can be abandoned: page by page, bounded by a page time and a budget."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from core.ingest.extract import ExtractionError
from core.ingest.pdf import OutOfTime, read_pages, worker_memory_mb
from tests.support.documents import page_text, pdf

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ingest"


async def pages_of(data: bytes, *, first_page: int = 0, page_seconds: float = 30.0, budget=lambda: None):
    return [page async for page in read_pages(data, first_page=first_page, page_seconds=page_seconds,
                                              budget=budget)]


async def test_pages_of_a_report_and_a_corrupt_file():
    pages = await pages_of((FIXTURES / "report.pdf").read_bytes())
    text = " ".join(p.text for p in pages)
    assert "Revenue grew by twelve percent in the third quarter." in text and "steady growth" in text
    with pytest.raises(ExtractionError, match="unreadable PDF"):
        await pages_of((FIXTURES / "corrupt.pdf").read_bytes())


async def test_reading_starts_at_the_page_asked_for():
    pages = await pages_of(pdf([page_text(n) for n in range(6)]), first_page=4)
    assert [(p.number, p.text.strip()) for p in pages] == [(4, page_text(4)), (5, page_text(5))]


async def test_a_page_slower_than_the_page_time_is_skipped_and_the_next_ones_are_read():
    data = pdf([page_text(n) for n in range(3)], slow_ops=400_000)  # seconds per page, each
    started = time.monotonic()
    pages = await pages_of(data, page_seconds=0.3)
    assert [p.number for p in pages] == [0, 1, 2]
    assert all(p.error and "longer than 0.3 s" in p.error for p in pages)
    assert time.monotonic() - started < 20  # abandoned, not waited for


async def test_running_out_of_budget_says_which_page_to_resume_from():
    data = pdf([page_text(n) for n in range(20)], slow_ops=20_000)
    deadline = time.time() + 8.0
    seen = []
    with pytest.raises(OutOfTime) as stop:
        async for page in read_pages(data, first_page=0, page_seconds=30, budget=lambda: deadline - time.time()):
            seen.append(page.number)
            if page.number == 2:
                deadline = time.time()  # the budget is gone while page 3 is being read
    assert seen == [0, 1, 2] and stop.value.page == 3


def test_the_child_gets_half_the_function_memory():
    assert worker_memory_mb({"FN_MEMORY": "1024"}) == 512
    assert worker_memory_mb({"FN_MEMORY": "256"}) == 192
    assert worker_memory_mb({}) == 0
