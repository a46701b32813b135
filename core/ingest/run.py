"""One object version's run: read, extract, chunk, embed, write parts, then complete or save progress.

A run keeps every upstream call slot busy: chunks go out in calls of 96 as they are cut, up to
``EMBEDDINGS_CONCURRENCY`` calls at a time; the oldest call's vectors are written (in chunk order) when its slot is
needed, and full parts are written in the background (up to ``PART_WRITES`` at once, recorded in order) while the
next one fills. Memory holds the calls in flight, the parts being written and the one being filled, so it does not
grow with the object. Streamed formats are re-read from the start when a run resumes (chunking is
deterministic, so the chunks an earlier invocation wrote are recognised by index and skipped); a PDF resumes at
the page where the earlier invocation stopped (its pages are chunked one by one, so their chunk numbering and
text offsets are known from a :class:`~core.ingest.output.PageMark`).
"""

from __future__ import annotations

import asyncio
import functools
from collections import deque
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Callable

from core.embeddings.batching import Slot, together
from core.errors import APIError
from core.ingest import output as out
from core.ingest import pdf
from core.ingest.chunking import Chunk, Chunker
from core.ingest.config import IngestConfig
from core.ingest.cutting import CutJob, ProcessCutter, ThreadCutter
from core.ingest.events import ObjectEvent
from core.ingest.extract import ExtractionError
from core.ingest.outputs import Outputs
from core.ingest.sink import Sink, sink_trouble
from core.ingest.tokenizer import Counter
from core.oci.objectstorage import ObjectStorage

Embedder = Callable[[list[str], float | None, str, Callable[[], None]], Awaitable[tuple[list[out.Vector], str]]]
"""``embed(texts, deadline, request_id, answered)``: the vectors and the model id; ``answered()`` is called once the
upstream's answer has begun (its slot frees then, its body still arriving), or never."""
MAX_STALLS = 2
"""Invocations in a row that may run out of time on one PDF page before that page is skipped."""
PART_WRITES = 3
"""Parts written at once (each a PUT after its version check); memory holds that many besides the part being filled."""
CUT_AHEAD = 8
"""Windows cut while every call slot is busy: the next call goes out the moment a slot frees."""
ANSWERS_HELD = 2
"""Calls answered (their slots free) and not yet written that may be held besides the unanswered ones before no
new call goes out: each holds its answer, about 1.8 MB at 96 x 1,536 numbers."""


def _retrieved(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


class OutOfTime(Exception):
    """Too little of the invocation is left to go on: save the progress."""


class Superseded(Exception):
    """The object changed while this version was being embedded: stop without writing."""


@dataclass(frozen=True)
class RunTools:
    """What one object's run works with: the configuration and its collaborators."""

    config: IngestConfig
    store: ObjectStorage
    outputs: Outputs
    embed: Embedder
    counter: Callable[[], Counter]
    """The token counter, built on first use (a child process cutting the object builds its own)."""
    clock: Callable[[], float]
    batch: int
    """Chunks per embedding call."""
    slots: int
    """Embedding calls in flight at once."""
    sink: Sink


class ObjectRun:
    """The state of one object's processing: progress, the part being filled, the embed in flight."""

    def __init__(self, tools: RunTools, event: ObjectEvent, progress: out.Progress, deadline: float | None,
                 request_id: str, headers: dict[str, str] | None = None) -> None:
        self.tools = tools
        self.headers = headers or {}
        self.sink_error: str | None = None  # the vector store failed: the JSONL output goes on, reconciled later
        self.cfg = tools.config
        self.event = event
        self.progress = progress
        self.deadline = deadline
        self.request_id = request_id
        self.skip_below = progress.chunks  # chunks an earlier invocation already wrote
        self.part = out.PartBuffer(self.cfg.part_max_bytes, first_chunk=progress.chunks)
        self.pending: list[Chunk] = []
        self.ready: deque[list[Chunk]] = deque()  # windows cut, waiting for a free call slot
        self.inflight: deque[tuple[list[Chunk], asyncio.Task[tuple[list[out.Vector], str]]]] = deque()
        self.calling = 0  # calls sent and not yet answered (a slot frees when the answer begins)
        self.call_failed = False
        self.writing: deque[tuple[out.PartInfo, asyncio.Task[str | None]]] = deque()  # parts on their way, in order
        self.next_check: asyncio.Task[bool] | None = None  # the version check for the next part, started early
        self.windows = 0
        self.produced = 0  # chunks this invocation cut (written before or not)
        self.marks: list[out.PageMark] = []  # PDF restart points reached by this invocation, in order
        self.saving = False  # out of time: the last window is embedded in the reserve

    # --- time -----------------------------------------------------------------------------------
    def near_deadline(self) -> bool:
        return self.deadline is not None and self.deadline - self.tools.clock() < self.cfg.time_reserve

    def _budget(self) -> float | None:
        """Seconds this invocation may still spend before it must save its progress."""
        return None if self.deadline is None else self.deadline - self.cfg.time_reserve - self.tools.clock()

    def _embed_deadline(self) -> float | None:
        """Embedding stops half the reserve before the deadline; a quarter once the run is saving its progress."""
        if self.deadline is None:
            return None
        return self.deadline - self.cfg.time_reserve / (4 if self.saving else 2)

    # --- reading --------------------------------------------------------------------------------
    async def consume(self, first: bytes, body: AsyncIterator[bytes], child: ProcessCutter | None = None) -> None:
        """A streamed format: bytes in as they arrive, chunks out as paragraphs complete; in ``child`` (a process
        spawned for a large object, a CPU core of its own) when given, else in a thread."""
        cfg = self.cfg
        job = CutJob(self.progress.kind, cfg.json_fields, cfg.chunk_tokens, cfg.overlap_tokens)
        if child is not None:
            notes = await child.run(job, first, body, self._chunks)
        else:
            notes = await ThreadCutter(job, self.tools.counter()).run(first, body, self._chunks)
        self.progress.notes.update(notes)
        await self._drain()

    async def consume_pdf(self, first: bytes, body: AsyncIterator[bytes]) -> None:
        """A PDF: the whole object (its size is capped), then page by page from the resume mark."""
        parts = [first] + [data async for data in body]
        mark = self.progress.resume or out.PageMark()
        self.marks = [mark]
        index, offset = mark.chunk, mark.offset
        pages = pdf.read_pages(b"".join(parts), first_page=mark.page, page_seconds=self.cfg.pdf_page_seconds,
                               budget=self._budget)
        try:
            async for page in pages:
                if page.error is not None:
                    self.progress.note_skipped_page(page.number)
                text = page.text.strip()
                text = text + "\n\n" if text else ""
                chunker = Chunker(self.tools.counter(), self.cfg.chunk_tokens, self.cfg.overlap_tokens,
                                  first_index=index, first_offset=offset)
                await self._chunks(chunker.feed(text) + chunker.finish())
                index, offset = chunker.next_index, offset + len(text)
                self.marks.append(out.PageMark(page.number + 1, index, offset))
        except pdf.OutOfTime:
            # The reserve is for this: embed the chunks of the pages read, so the next run need not read them again.
            self.saving = True
            await self._drain(force=True)
            raise OutOfTime() from None
        await self._drain()
        if not self.produced and not self.progress.chunks:
            skipped = self.progress.notes.get("skippedPageCount", 0)
            raise ExtractionError(f"the PDF has no extractable text ({index} chunks from {self.marks[-1].page} pages, "
                                  f"{skipped} unreadable; scanned images need OCR)")

    async def _chunks(self, chunks: list[Chunk]) -> None:
        for chunk in chunks:
            self.produced += 1
            if chunk.index < self.skip_below:
                continue
            self.pending.append(chunk)
            if len(self.pending) >= self.tools.batch:
                await self._send(self.pending)

    async def _drain(self, *, force: bool = False) -> None:
        """Every cut chunk embedded and in the part being filled (parts on their way are awaited when the run
        completes or saves its progress: the last part goes out beside them)."""
        if self.pending:
            await self._send(self.pending, force=force)
        await self._wait_ready(0)
        while self.inflight:
            await self._write_oldest()

    async def _send(self, window: list[Chunk], *, force: bool = False) -> None:
        """``window`` goes out as one embedding call as soon as a slot is free; the calls already answered are
        written meanwhile (in order). Near the deadline (unless ``force``) the calls in flight are written and
        :class:`OutOfTime` is raised."""
        if self.near_deadline() and not force:
            self.ready.clear()  # never sent: a resumed run cuts them again
            while self.inflight:  # already paid for: keep them
                await self._write_oldest()
            raise OutOfTime()
        self.pending = []
        self.ready.append(window)
        self._dispatch()
        while self.inflight and self.inflight[0][1].done():
            await self._write_oldest()
        await self._wait_ready(CUT_AHEAD)

    async def _wait_ready(self, ahead: int) -> None:
        """Write answered calls until at most ``ahead`` windows wait for a slot."""
        while len(self.ready) > ahead:
            if not self.inflight:  # nothing in flight frees a slot: the deadline stopped the calls
                self.ready.clear()
                raise OutOfTime()
            await self._write_oldest()

    def _dispatch(self) -> None:
        """Start calls for the waiting windows while slots are free (also run as each call is answered)."""
        while (self.ready and self.calling < self.tools.slots and len(self.inflight) < self.tools.slots + ANSWERS_HELD
               and not self.call_failed):
            if self.near_deadline() and not self.saving:
                return
            window = self.ready.popleft()
            self.windows += 1
            self.calling += 1
            call_id = f"{self.request_id}-w{self.windows:04d}" if self.request_id else ""
            slot = Slot(self._slot_freed)
            task = asyncio.create_task(self.tools.embed([c.text for c in window], self._embed_deadline(), call_id,
                                                        slot))
            task.add_done_callback(functools.partial(self._call_ended, slot))
            self.inflight.append((window, task))

    def _slot_freed(self) -> None:
        self.calling -= 1
        self._dispatch()

    def _call_ended(self, slot: Slot, task: asyncio.Task[Any]) -> None:
        if task.cancelled() or task.exception() is not None:
            self.call_failed = True  # raised when that call's turn to be written comes; no more calls meanwhile
        slot()  # freed already if the answer began

    async def cancel(self) -> None:
        """Stop the calls in flight; a part on its way is finished (its chunks then count as written)."""
        calls = [task for _, task in self.inflight]
        self.inflight.clear()
        self.ready.clear()
        if self.next_check is not None:
            self.next_check.cancel()
            self.next_check = None  # a part written after this (the progress being saved) checks afresh
        for task in calls:
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - the first failure is being handled
                pass
        try:
            await self._parts_written()
        except (asyncio.CancelledError, Exception):  # noqa: BLE001 - the first failure is being handled
            pass

    # --- embedding and writing ------------------------------------------------------------------
    async def _write_oldest(self) -> None:
        """The oldest call's vectors into the part (chunk order); a full part goes out in the background."""
        window, task = self.inflight[0]
        vectors, model_id = await task
        self.inflight.popleft()
        self._dispatch()  # room for a call that waited on the answers held
        progress = self.progress
        progress.model_id = model_id
        if vectors:
            progress.dimensions = out.vector_size(vectors[0])
        await self._store(window, vectors, model_id)
        for chunk, vector in zip(window, vectors, strict=True):
            self.part.add(out.chunk_line(self.event, chunk, vector, model=self.cfg.model,
                                         encoding=self.cfg.embedding_format))
            progress.tokens += chunk.tokens
            if self.part.full:
                await self._start_part(check_next=True)

    async def _store(self, window: list[Chunk], vectors: list[out.Vector], model_id: str) -> None:
        """The window's rows into the vector store (if any); a failing database does not stop the run."""
        sink = self.tools.sink
        if not sink.enabled or self.sink_error is not None:
            return
        try:
            await sink.add(self.event, self.headers, window, [out.vector_values(v) for v in vectors], model_id)
        except APIError as exc:
            if exc.code == "vector_store_model_mismatch":
                raise
            self.sink_error = sink_trouble(self.event, "adding chunks", exc)

    async def _start_part(self, *, check_next: bool = False) -> None:
        """The filled lines go out as the next part number, in the background, once fewer than ``PART_WRITES`` are
        on their way. ``check_next``: the version check for the part after it starts now, so that part's PUT need
        not wait a round trip for it when it is full."""
        while len(self.writing) >= PART_WRITES:
            await self._part_recorded()
        body, first, count = self.part.take()
        number = len(self.progress.parts) + len(self.writing)
        info = out.PartInfo(self.cfg.part_name(self.event, number), first, count, len(body))
        check, self.next_check = self.next_check, None
        if check is None:
            check = self._check()
        if check_next:
            self.next_check = self._check()
        self.writing.append((info, asyncio.create_task(self._put_part(number, body, check))))

    async def _part_recorded(self) -> None:
        """The oldest part write finished and recorded in the progress (its failure is raised here)."""
        info, task = self.writing[0]
        try:
            info.etag = await task
        except BaseException:
            # That part is lost: the parts after it and the lines being filled must not count (chunks would be
            # skipped); a resumed run writes them again under the same numbers.
            self.writing.popleft()
            for _, later in self.writing:
                if later.done() and not later.cancelled():
                    later.exception()  # retrieved, so asyncio does not log it as unhandled
                later.cancel()
            self.writing.clear()
            self.part = out.PartBuffer(self.cfg.part_max_bytes, first_chunk=self.progress.chunks)
            raise
        self.writing.popleft()
        self.progress.parts.append(info)
        self.progress.chunks = info.first_chunk + info.chunks

    async def _parts_written(self) -> None:
        while self.writing:
            await self._part_recorded()

    async def _write_part(self) -> None:
        """The part being filled, written now (after those on their way)."""
        if self.part.lines:
            await self._start_part()
        await self._parts_written()

    async def _put_part(self, number: int, body: bytes, check: asyncio.Task[bool]) -> str | None:
        if not await check:  # never overwrite a newer version's parts with this one's
            raise Superseded()
        written = await self.tools.outputs.write_part(self.event, number, body, self.deadline)
        return written.etag

    def _check(self) -> asyncio.Task[bool]:
        task = asyncio.create_task(self._still_current())
        task.add_done_callback(_retrieved)  # a part write cancelled before it awaited its check does not log it
        return task

    async def _still_current(self) -> bool:
        """Whether the event's version is still the object's (a conditional HEAD)."""
        event = self.event
        check = await self.tools.store.head(event.namespace, event.bucket, event.name, if_match=event.etag,
                                            deadline=self.deadline)
        return check.status not in (404, 412)

    def manifest(self, status: str, head: Any, continuation: dict[str, Any] | None = None) -> dict[str, Any]:
        cfg = self.cfg
        return out.manifest(self.event, self.progress, status=status, model=cfg.model,
                            encoding=cfg.embedding_format, chunk_tokens=cfg.chunk_tokens,
                            overlap_tokens=cfg.overlap_tokens, size=getattr(head, "size", None),
                            content_type=getattr(head, "content_type", None), continuation=continuation)

    async def complete(self, head: Any) -> bool:
        """Write the last part and the ``complete`` manifest, then remove what an older version left; False
        (nothing written) when the object changed meanwhile."""
        event, cfg = self.event, self.cfg
        final = self._check()  # before the manifest, beside the last part
        if self.next_check is None:
            self.next_check = final  # a last part with no check made earlier waits on this one: one HEAD, not two
        current, _ = await together(final, self._write_part())
        self.next_check = None
        if not current:
            return False
        outputs = self.tools.outputs
        self.progress.resume = None
        manifest = self.manifest(out.COMPLETE, head)
        await self._commit_store(head, manifest)
        keep = [p.name for p in self.progress.parts] + [cfg.manifest_name(event)]
        # The clean-up goes with the manifest: an older version's extra parts and the dead letter are stale either way
        # (a failed manifest write leaves a dead letter of its own).
        await together(outputs.write_manifest(event, manifest, self.deadline),
                       outputs.remove(event, self.deadline, keep=keep, manifest_first=False),
                       outputs.remove_letter(event, self.deadline))
        return True

    async def _commit_store(self, head: Any, manifest: dict[str, Any]) -> None:
        """Make the version live in the vector store; :class:`Superseded` when a later version is already live."""
        from core.vectorstores.store import INCOMPLETE, STALE

        sink = self.tools.sink
        if not sink.enabled or self.sink_error is not None:
            return
        try:
            outcome = await sink.commit(self.event, self.headers, self.progress.chunks, getattr(head, "size", None),
                                        self.tools.outputs, manifest)
        except APIError as exc:
            self.sink_error = sink_trouble(self.event, "making the version live", exc)
            return
        if outcome == STALE:
            raise Superseded()
        if outcome == INCOMPLETE:
            self.sink_error = "the vector store misses chunks of this version even after reloading the parts"

    async def save_partial(self, reason: str, message: str, continuation: dict[str, Any] | None = None,
                           **detail: Any) -> None:
        """Keep what is embedded (written parts + a ``partial`` manifest) and say how to resume.

        Raises :class:`Superseded` when the object changed meanwhile (then nothing is written).
        """
        event = self.event
        await self._write_part()
        if self.marks:
            self.progress.resume = self._resume_mark()
        await self.tools.outputs.write_manifest(event, self.manifest(out.PARTIAL, None, continuation), None)
        if self.progress.resume is not None:
            detail = {"resumeFromPage": self.progress.resume.page, **detail}
        await self.tools.outputs.dead_letter(event, reason, message, stage="embed", deadline=None,
                                             resume_chunk=self.progress.chunks, detail=detail or None)

    def _resume_mark(self) -> out.PageMark:
        """The last page boundary whose chunks are all written; a page that stalls run after run is skipped."""
        written = self.progress.chunks
        start = self.marks[0]
        if len(self.marks) > 1:  # at least one page was read: resume at the last one whose chunks are written
            mark = max((m for m in self.marks if m.chunk <= written), key=lambda m: m.page)
            return out.PageMark(mark.page, mark.chunk, mark.offset)
        if start.stalls + 1 < MAX_STALLS:
            return out.PageMark(start.page, start.chunk, start.offset, start.stalls + 1)
        self.progress.note_skipped_page(start.page)  # it cannot be read within any invocation's time
        return out.PageMark(start.page + 1, start.chunk, start.offset)
