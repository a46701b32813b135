"""Extraction and chunking in a child process (:class:`ProcessCutter`) give exactly what the thread does
(:class:`ThreadCutter`): the same chunks, notes and errors; a failing read or a dead child ends the run clearly."""

from __future__ import annotations

import asyncio
import io
import json
import random

import pytest

from core.ingest import detect as kinds
from core.ingest.cutting import CutJob, CutterFailed, ProcessCutter, ThreadCutter
from core.ingest.extract import ExtractionError
from core.ingest.tokenizer import get_counter

TOKENS, OVERLAP = 60, 10


def prose(paragraphs: int, seed: int = 3) -> str:
    rng = random.Random(seed)
    words = "harbour office opens eight ferry revenue grew twelve percent quarter board ticket".split()
    return "\n\n".join(" ".join(" ".join(rng.choice(words) for _ in range(rng.randint(4, 30))).capitalize() + "."
                                for _ in range(rng.randint(1, 6))) for _ in range(paragraphs))


DOCUMENTS = {
    kinds.TEXT: prose(120).encode(),
    kinds.MARKDOWN: ("# Title\n\n" + prose(40) + "\n\n```\ncode block\n```\n").encode(),
    kinds.JSONL: b"\n".join(json.dumps({"id": i, "body": prose(2, seed=i)}).encode() for i in range(60))
    + b"\n{broken\n",
    kinds.CSV: b"id,text\n" + b"".join(f'{i},"{prose(1, seed=i)}"\n'.encode() for i in range(80)),
    kinds.JSON: json.dumps([{"body": prose(2, seed=i)} for i in range(30)]).encode(),
}


async def pieces(data: bytes, seed: int):
    """``data`` in reads of random sizes, as a network body arrives."""
    rng = random.Random(seed)
    position = 0
    while position < len(data):
        size = rng.randint(1, 4096)
        yield data[position:position + size]
        position += size
        await asyncio.sleep(0)


def job(kind: str, fields: tuple[str, ...] = ()) -> CutJob:
    return CutJob(kind, fields, TOKENS, OVERLAP)


async def cut(cutter, cut_job: CutJob, data: bytes, seed: int = 1):
    got = []

    async def take(chunks):
        got.extend(chunks)

    notes = await cutter.run(cut_job, data[:100], pieces(data[100:], seed), take)
    return got, notes


async def in_thread(cut_job: CutJob, data: bytes, seed: int = 1):
    cutter = ThreadCutter(cut_job, get_counter())
    got = []

    async def take(chunks):
        got.extend(chunks)

    notes = await cutter.run(data[:100], pieces(data[100:], seed), take)
    return got, notes


@pytest.mark.parametrize("kind", sorted(DOCUMENTS))
async def test_the_child_process_cuts_exactly_what_the_thread_cuts(kind):
    data = DOCUMENTS[kind]
    fields = ("body",) if kind in (kinds.JSON, kinds.JSONL) else ()
    by_thread, thread_notes = await in_thread(job(kind, fields), data)
    by_child, child_notes = await cut(await ProcessCutter.spawn(), job(kind, fields), data, seed=2)

    assert len(by_thread) > 3
    assert by_child == by_thread  # index, offsets, text and token count of every chunk
    assert [c.index for c in by_child] == list(range(len(by_child)))
    assert child_notes == thread_notes
    if kind == kinds.JSONL:
        assert child_notes.get("skippedRecords") == 1


async def test_an_unreadable_document_fails_with_the_readers_reason_in_both():
    data = b'[{"body": "fine"}, {"body": "x"} {"body": "no comma"}]'
    with pytest.raises(ExtractionError) as by_thread:
        await in_thread(job(kinds.JSON, ("body",)), data)
    with pytest.raises(ExtractionError) as by_child:
        await cut(await ProcessCutter.spawn(), job(kinds.JSON, ("body",)), data)
    assert str(by_child.value) == str(by_thread.value) and "not valid JSON" in str(by_child.value)


class BrokenRead(Exception):
    pass


async def test_a_read_that_breaks_raises_its_own_error_and_stops_the_child():
    cutter = await ProcessCutter.spawn()
    got = []

    async def body():
        yield DOCUMENTS[kinds.TEXT][:20000]
        await asyncio.sleep(0.2)
        raise BrokenRead("connection reset")

    async def take(chunks):
        got.extend(chunks)

    with pytest.raises(BrokenRead):
        await asyncio.wait_for(cutter.run(job(kinds.TEXT), b"", body(), take), 20)
    assert cutter.process.returncode is not None  # reaped, not left running


async def test_a_child_that_dies_is_a_cutter_failure_not_the_documents():
    cutter = await ProcessCutter.spawn()

    async def take(chunks):
        cutter.process.kill()  # killed (say, by the memory limit) after its first answer

    with pytest.raises(CutterFailed, match="ended without finishing"):
        await asyncio.wait_for(cutter.run(job(kinds.TEXT), b"", pieces(DOCUMENTS[kinds.TEXT] * 4, 5), take), 20)
    assert cutter.process.returncode is not None


async def test_a_failing_take_stops_the_child_and_raises_its_error():
    cutter = await ProcessCutter.spawn()

    async def take(chunks):
        raise TimeoutError("out of time")

    with pytest.raises(TimeoutError, match="out of time"):
        await asyncio.wait_for(cutter.run(job(kinds.TEXT), b"", pieces(DOCUMENTS[kinds.TEXT] * 4, 6), take), 20)
    assert cutter.process.returncode is not None


async def test_a_child_closed_unused_ends_at_once():
    cutter = await ProcessCutter.spawn()  # spawned for an object that turned out to be a PDF
    await asyncio.wait_for(cutter.close(), 10)
    assert cutter.process.returncode is not None


def test_the_child_writes_a_lone_surrogate_as_the_replacement_character():
    from core.ingest.cut_worker import _write
    from core.ingest.cutting import FRAME

    out = io.BytesIO()
    _write(out, [[0, 0, 3, "a\ud800b", 1]])
    frame = out.getvalue()
    assert FRAME.unpack(frame[:4])[0] == len(frame) - 4
    assert json.loads(frame[4:]) == [[0, 0, 3, "a\ufffdb", 1]]
