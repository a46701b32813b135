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
from collections import deque
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Callable

from core.ingest import output as out
from core.ingest import pdf
from core.ingest.chunking import Chunk, Chunker
from core.ingest.config import IngestConfig
from core.ingest.events import ObjectEvent
from core.ingest.extract import ExtractionError
from core.errors import APIError
from core.ingest.outputs import Outputs
from core.ingest.sink import Sink, sink_trouble
from core.ingest.tokenizer import Counter
from core.oci.objectstorage import ObjectStorage

Embedder = Callable[[list[str], float | None, str], Awaitable[tuple[list[out.Vector], str]]]
MAX_STALLS = 2
PART_WRITES = 2
"""Parts written at once (each a HEAD and a PUT); memory holds that many besides the part being filled."""
"""Invocations in a row that may run out of time on one PDF page before that page is skipped."""


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
    counter: Counter
    clock: Callable[[], float]
    batch: int
    """Chunks per embedding call."""
    slots: int
    """Embedding calls in flight at once."""
    sink: Sink


def _guarded(kind: str, call: Callable[..., list[str]], *args: Any) -> list[str]:
    """An extractor call; an unexpected failure of the reader becomes an :class:`ExtractionError` naming it."""
    try:
        return call(*args)
    except ExtractionError:
        raise
    except Exception as exc:  # noqa: BLE001 - a hostile document must end in a dead letter, not a 500
        raise ExtractionError(f"the {kind} reader failed ({type(exc).__name__}: {str(exc)[:160]})") from None


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
        self.inflight: deque[tuple[list[Chunk], asyncio.Task[tuple[list[out.Vector], str]]]] = deque()
        self.writing: deque[tuple[out.PartInfo, asyncio.Task[str | None]]] = deque()  # parts on their way, in order
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
    async def consume(self, first: bytes, body: AsyncIterator[bytes], extractor: Any) -> None:
        """A streamed format: bytes in as they arrive, chunks out as paragraphs complete."""
        chunker = Chunker(self.tools.counter, self.cfg.chunk_tokens, self.cfg.overlap_tokens)
        kind = self.progress.kind
        if first:
            await self._take(chunker, _guarded(kind, extractor.feed, first))
        async for data in body:
            await self._take(chunker, _guarded(kind, extractor.feed, data))
        await self._take(chunker, _guarded(kind, extractor.finish))
        await self._chunks(chunker.finish())
        self.progress.notes.update(extractor.notes())
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
                chunker = Chunker(self.tools.counter, self.cfg.chunk_tokens, self.cfg.overlap_tokens,
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

    async def _take(self, chunker: Chunker, texts: list[str]) -> None:
        for text in texts:
            await self._chunks(chunker.feed(text))

    async def _chunks(self, chunks: list[Chunk]) -> None:
        for chunk in chunks:
            self.produced += 1
            if chunk.index < self.skip_below:
                continue
            self.pending.append(chunk)
            if len(self.pending) >= self.tools.batch:
                await self._send(self.pending)

    async def _drain(self, *, force: bool = False) -> None:
        if self.pending:
            await self._send(self.pending, force=force)
        while self.inflight:
            await self._write_oldest()
        await self._parts_written()

    async def _send(self, window: list[Chunk], *, force: bool = False) -> None:
        """One embedding call for ``window``; with every slot busy, the oldest call's vectors are written first.
        Near the deadline (unless ``force``) the calls in flight are written and :class:`OutOfTime` is raised."""
        while len(self.inflight) >= self.tools.slots:
            await self._write_oldest()
        if self.near_deadline() and not force:
            while self.inflight:  # already paid for: keep them
                await self._write_oldest()
            raise OutOfTime()
        self.pending = []
        self.windows += 1
        call_id = f"{self.request_id}-w{self.windows:04d}" if self.request_id else ""
        task = asyncio.create_task(self.tools.embed([c.text for c in window], self._embed_deadline(), call_id))
        self.inflight.append((window, task))

    async def cancel(self) -> None:
        """Stop the calls in flight; a part on its way is finished (its chunks then count as written)."""
        calls = [task for _, task in self.inflight]
        self.inflight.clear()
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
                while len(self.writing) >= PART_WRITES:
                    await self._part_recorded()
                self._start_part()

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

    def _start_part(self) -> None:
        """The filled lines go out as the next part number, in the background."""
        body, first, count = self.part.take()
        number = len(self.progress.parts) + len(self.writing)
        info = out.PartInfo(self.cfg.part_name(self.event, number), first, count, len(body))
        self.writing.append((info, asyncio.create_task(self._put_part(number, body))))

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
            self._start_part()
        await self._parts_written()

    async def _put_part(self, number: int, body: bytes) -> str | None:
        if not await self._still_current():  # never overwrite a newer version's parts with this one's
            raise Superseded()
        written = await self.tools.outputs.write_part(self.event, number, body, self.deadline)
        return written.etag

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
        await self._write_part()
        if not await self._still_current():
            return False
        outputs = self.tools.outputs
        self.progress.resume = None
        manifest = self.manifest(out.COMPLETE, head)
        await self._commit_store(head, manifest)
        await outputs.write_manifest(event, manifest, self.deadline)
        keep = [p.name for p in self.progress.parts] + [cfg.manifest_name(event)]
        await outputs.remove(event, self.deadline, keep=keep, manifest_first=False)
        await outputs.remove_letter(event, self.deadline)
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
