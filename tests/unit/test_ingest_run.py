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


class Calls:
    """An embedder whose calls finish only when the test says so."""

    def __init__(self) -> None:
        self.started: list[list[str]] = []
        self.gates: list[asyncio.Event] = []

    async def __call__(self, texts, deadline, request_id):
        gate = asyncio.Event()
        self.started.append(texts)
        self.gates.append(gate)
        await gate.wait()
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


async def test_a_failed_call_stops_new_calls_and_is_raised_in_its_turn():
    calls = Calls()
    run = run_with(calls, slots=1)

    async def failing(texts, deadline, request_id):
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
