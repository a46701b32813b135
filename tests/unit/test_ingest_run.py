"""How one object's run schedules its work: a freed call slot takes the next cut window at once (no cutting in
between), and the version check for the next part is already on its way when that part fills. Fakes stand in
for OCI here; the pipeline's tests run the same code against the emulator."""

from __future__ import annotations

import asyncio
import json
import time
from types import SimpleNamespace

from core.ingest import output as out
from core.ingest.chunking import Chunk
from core.ingest.config import BucketRef, IngestConfig
from core.ingest.events import CREATE, ObjectEvent
from core.ingest.run import ObjectRun, RunTools
from core.ingest.tokenizer import WordCounter

EVENT = ObjectEvent(CREATE, "ns", "in", "doc.txt", "etag-1")


def config(part_max_bytes: int = 1 << 20) -> IngestConfig:
    return IngestConfig(inputs=(BucketRef("ns", "in"),), output=BucketRef("ns", "out"), model="m", prefixes=(),
                        chunk_tokens=50, overlap_tokens=0, part_max_bytes=part_max_bytes, embedding_format="float",
                        json_fields=(), max_object_bytes=1 << 30, max_whole_object_bytes=1 << 20,
                        output_prefix="embeddings/", failed_prefix="failed/", time_reserve=0.0)


class Store:
    """Object Storage's HEAD: counts the version checks."""

    def __init__(self) -> None:
        self.heads = 0

    async def head(self, namespace, bucket, name, *, if_match=None, deadline=None):
        self.heads += 1
        await asyncio.sleep(0.01)
        return SimpleNamespace(status=200)


class Outputs:
    def __init__(self) -> None:
        self.parts: list[int] = []

    async def write_part(self, event, number, body, deadline):
        self.parts.append(number)
        return SimpleNamespace(etag=f"part-{number}")

    async def write_manifest(self, event, manifest, deadline):
        self.manifest = manifest

    async def remove(self, event, deadline, *, keep, manifest_first):
        return 0

    async def remove_letter(self, event, deadline):
        return 0


class Calls:
    """An embedder whose calls finish only when the test says so."""

    def __init__(self) -> None:
        self.started: list[list[str]] = []
        self.gates: list[asyncio.Event] = []
        self.answers: list[asyncio.Event] = []
        """Set to say a call's answer has begun (``answered()``), its body still to come."""
        self.open = False
        """Every call from now on answers at once."""

    def open_all(self) -> None:
        self.open = True
        for gate in self.gates:
            gate.set()

    async def __call__(self, texts, deadline, request_id, answered):
        gate, begun = asyncio.Event(), asyncio.Event()
        if self.open:
            gate.set()
        self.started.append(texts)
        self.gates.append(gate)
        self.answers.append(begun)
        waits = [asyncio.ensure_future(gate.wait()), asyncio.ensure_future(begun.wait())]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        if begun.is_set():
            answered()
        await waits[0]
        return [b"[0.5,0.25]"] * len(texts), "model-id"


def run_with(calls: Calls, *, slots: int, part_max_bytes: int = 1 << 20, store: Store | None = None,
             outputs: Outputs | None = None) -> ObjectRun:
    tools = RunTools(config(part_max_bytes), store or Store(), outputs or Outputs(), calls, WordCounter, time.time,
                     batch=2, slots=slots, sink=SimpleNamespace(enabled=False))
    return ObjectRun(tools, EVENT, out.Progress(kind="text"), None, "")


def window(first: int, size: int = 2) -> list[Chunk]:
    return [Chunk(i, i * 10, i * 10 + 9, f"chunk {i} text", 3) for i in range(first, first + size)]


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_freed_call_slot_takes_the_next_cut_window_at_once():
    calls = Calls()
    run = run_with(calls, slots=2)
    for first in range(0, 8, 2):
        await run._send(window(first))  # returns at once: two calls in flight, two windows waiting for a slot
    await settle()
    assert len(calls.started) == 2 and len(run.ready) == 2

    calls.gates[1].set()  # the second call answers first
    await settle()
    assert len(calls.started) == 3  # the third window went out as the answer came, with nothing more cut
    assert calls.started[2] == ["chunk 4 text", "chunk 5 text"]

    for gate in calls.gates[:3]:
        gate.set()
    await settle()
    assert len(calls.started) == 4
    calls.gates[3].set()
    await run._drain()
    written = [json.loads(line)["chunk"] for line in run.part.lines]
    assert written == list(range(8))  # in chunk order, though the second call answered first


async def test_a_call_whose_answer_has_begun_frees_its_slot_before_its_body_is_read():
    calls = Calls()
    run = run_with(calls, slots=1)
    for first in range(0, 6, 2):
        await run._send(window(first))
    await settle()
    assert len(calls.started) == 1

    calls.answers[0].set()  # OCI's status line is in; the body is still arriving
    await settle()
    assert len(calls.started) == 2 and run.calling == 1  # the next window went out; one call still unanswered
    calls.answers[1].set()
    calls.gates[1].set()
    await settle()
    assert len(calls.started) == 3 and run.calling == 1  # a call ending after its answer began frees nothing more

    for gate in calls.gates:
        gate.set()
    await run._drain()
    assert run.calling == 0
    assert [json.loads(line)["chunk"] for line in run.part.lines] == list(range(6))


async def test_answers_held_unwritten_are_capped_and_writing_one_lets_the_next_call_out():
    from core.ingest.run import ANSWERS_HELD

    calls = Calls()
    run = run_with(calls, slots=1)
    for first in range(0, 2 * (ANSWERS_HELD + 3), 2):
        await run._send(window(first))
    for at in range(ANSWERS_HELD):  # each answer begins and frees the slot; no body is read yet
        await settle()
        calls.answers[at].set()
    await settle()
    assert len(calls.started) == 1 + ANSWERS_HELD and run.calling == 1
    calls.answers[ANSWERS_HELD].set()
    await settle()
    assert run.calling == 0 and len(calls.started) == 1 + ANSWERS_HELD  # a free slot, but the answers held are at the cap

    calls.gates[0].set()
    await run._write_oldest()
    await settle()
    assert len(calls.started) == ANSWERS_HELD + 2  # the written answer made room for the next call
    calls.open_all()
    await run._drain()
    assert [json.loads(line)["chunk"] for line in run.part.lines] == list(range(2 * (ANSWERS_HELD + 3)))


async def test_a_failed_call_stops_new_calls_and_is_raised_in_its_turn():
    calls = Calls()
    run = run_with(calls, slots=1)

    async def failing(texts, deadline, request_id, answered):
        calls.started.append(texts)
        raise RuntimeError("upstream broke")

    run.tools = RunTools(**{**run.tools.__dict__, "embed": failing})
    await run._send(window(0))
    await run._send(window(2))
    await settle()
    assert len(calls.started) == 1 and len(run.ready) == 1  # the waiting window is never sent
    try:
        await run._drain()
    except RuntimeError as exc:
        assert str(exc) == "upstream broke"
    else:
        raise AssertionError("the failed call was not raised")


async def test_the_next_parts_version_check_starts_when_a_part_goes_out():
    calls, store, outputs = Calls(), Store(), Outputs()
    run = run_with(calls, slots=4, part_max_bytes=64, store=store, outputs=outputs)  # one window fills a part
    await run._send(window(0, size=1))
    await settle()
    calls.gates[0].set()
    await run._write_oldest()
    await settle()
    assert run.next_check is not None and store.heads == 2  # this part's check and the next one's

    await run._send(window(1, size=1))
    await settle()
    calls.gates[1].set()
    await run._write_oldest()  # the second part uses the check already made, and starts the third's
    await run._parts_written()
    assert outputs.parts == [0, 1] and store.heads == 3

    await run.cancel()
    assert run.next_check is None  # a part written while saving progress checks afresh
    await run._write_part()
    assert store.heads == 3  # nothing was left to write


async def test_completing_a_one_part_object_checks_its_version_once():
    calls, store, outputs = Calls(), Store(), Outputs()
    run = run_with(calls, slots=1, store=store, outputs=outputs)
    calls.open_all()
    await run._send(window(0))
    await run._drain()
    assert await run.complete(SimpleNamespace(size=10, content_type="text/plain"))
    assert outputs.parts == [0] and outputs.manifest["status"] == "complete"
    assert store.heads == 1  # the part's check and the final one are the same HEAD
