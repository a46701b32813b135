"""One object event, end to end: the only ingestion module that does I/O.

create/update (event ETag ``E``):

1. refuse events for buckets/prefixes we are not configured for (logged, answered, not retried);
2. a complete manifest for ``E`` already exists -> nothing to do (at-least-once delivery);
   a permanent dead letter for ``E`` exists -> nothing to do either;
3. ``HEAD`` then a streamed ``GET`` with ``if-match: E``: 412 = superseded (a newer event
   follows), 404 = deleted (the delete event cleans up); never read a different version;
4. sniff the type, extract text incrementally, cut token chunks, embed them in windows of
   96 x ``EMBEDDINGS_CONCURRENCY`` through the same embedding core as ``/v1/embeddings``
   (one window embedding while the next is being read and chunked), append lines to a
   bounded part, write each full part;
5. write the manifest last, then remove parts a previous version left beyond the new count
   and any dead letter.

Running short of time (the invocation's deadline minus ``INGEST_TIME_RESERVE_SECONDS``) saves
the work done as a ``partial`` manifest plus a retryable dead letter; the next delivery of the
same event, or the backfill command, resumes after the last written part. Unprocessable
objects get a dead letter with the reason, and the log says it too.

delete: if the object exists again (a delete delivered after a re-create), nothing happens;
otherwise the manifest goes first (readers stop trusting the parts), then parts, then the
dead letter.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable

from core import logs, runtime
from core.errors import APIError
from core.ingest import detect as kinds
from core.ingest import output as out
from core.ingest.chunking import Chunk, Chunker
from core.ingest.config import IngestConfig
from core.ingest.events import ObjectEvent
from core.ingest.extract import ExtractionError, make_extractor
from core.ingest.outputs import Outputs
from core.ingest.tokenizer import Counter, get_counter
from core.oci.objectstorage import ObjectStorage
from core.settings import Settings

# Outcome statuses.
EMBEDDED = "embedded"
UNCHANGED = "unchanged"
SUPERSEDED = "superseded"
DELETED = "deleted"
REFUSED = "refused"
SKIPPED = "skipped"
FAILED = "failed"
PARTIAL = "partial"
REMOVED = "removed"
STALE_DELETE = "stale_delete"

MAX_WINDOW = 2048  # inputs per create_embeddings call (OpenAI's request limit, fanned out by 96)

Embedder = Callable[[list[str], float | None, str], Awaitable[tuple[list[list[float]], str]]]


@dataclass
class Outcome:
    """What happened to one event: answered to the caller and logged."""

    status: str
    event: ObjectEvent
    reason: str = ""
    chunks: int = 0
    parts: int = 0
    total_tokens: int = 0
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "event": self.event.kind, "namespace": self.event.namespace,
                "bucket": self.event.bucket, "object": self.event.name, "eTag": self.event.etag,
                "reason": self.reason or None, "chunks": self.chunks, "parts": self.parts,
                "tokens": self.total_tokens, **self.detail}


class _OutOfTime(Exception):
    pass


class _Superseded(Exception):
    pass


def core_embedder(model: str, settings: Settings) -> Embedder:
    """Embed through :func:`core.embeddings.create_embeddings` (aliases, batching, retries)."""
    from core.embeddings import create_embeddings

    async def embed(texts: list[str], deadline: float | None, request_id: str) -> tuple[list[list[float]], str]:
        # A chunk that happens to start like an image data URI must still be embedded as text.
        inputs = [(" " + t) if t[:11].lower() == "data:image/" else t for t in texts]
        result = await create_embeddings(
            {"model": model, "input": inputs, "encoding_format": "float", "input_type": "search_document",
             "truncate": "END"},
            deadline=deadline, request_id=request_id, settings=settings)
        return [item["embedding"] for item in result.body["data"]], result.model_id

    return embed


class Pipeline:
    """Processes object events with one configuration; dependencies injectable for tests and bench."""

    def __init__(self, config: IngestConfig, *, settings: Settings | None = None, store: ObjectStorage | None = None,
                 embed: Embedder | None = None, counter: Counter | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.settings = settings or runtime.settings()
        self.store = store or ObjectStorage(runtime.client)
        self.outputs = Outputs(config, self.store)
        self.embed = embed or core_embedder(config.model, self.settings)
        self._counter = counter
        self.clock = clock
        self.window = min(MAX_WINDOW, 96 * max(1, self.settings.embeddings_concurrency))

    @property
    def counter(self) -> Counter:
        if self._counter is None:
            self._counter = get_counter()
        return self._counter

    # --- entry ----------------------------------------------------------------------------------
    async def handle(self, event: ObjectEvent, *, deadline: float | None = None, request_id: str = "") -> Outcome:
        refusal = self.config.refusal(event)
        if refusal is not None:
            outcome = Outcome(REFUSED, event, refusal)
        elif event.is_delete:
            outcome = await self._delete(event, deadline)
        else:
            outcome = await self._upsert(event, deadline, request_id)
        level = logging.WARNING if outcome.status in (REFUSED, FAILED, PARTIAL) else logging.INFO
        logs.log_event("ingest", level, outcome=outcome.status, event_type=event.kind, namespace=event.namespace,
                       bucket=event.bucket, object=event.name, etag=event.etag, reason=outcome.reason or None,
                       chunks=outcome.chunks, parts=outcome.parts, prompt_tokens=outcome.total_tokens,
                       request_id=request_id or None)
        return outcome

    # --- helpers --------------------------------------------------------------------------------
    def _tools(self) -> RunTools:
        return RunTools(self.config, self.store, self.outputs, self.embed, self.counter, self.clock, self.window)

    async def _fail(self, event: ObjectEvent, reason: str, message: str, *, stage: str, deadline: float | None,
                    status: str = FAILED, clear_outputs: bool = False, **detail: Any) -> Outcome:
        """A permanent failure: dead letter; outputs of an older version are removed (they are stale)."""
        if clear_outputs:
            await self.outputs.remove(event, deadline)
        await self.outputs.dead_letter(event, reason, message, stage=stage, deadline=deadline, detail=detail or None)
        return Outcome(status, event, reason, detail={"message": message})

    # --- delete ---------------------------------------------------------------------------------
    async def _delete(self, event: ObjectEvent, deadline: float | None) -> Outcome:
        info = await self.store.head(event.namespace, event.bucket, event.name, deadline=deadline)
        if info.ok:  # re-created after this delete: its own create event owns the outputs
            return Outcome(STALE_DELETE, event, "the object exists again")
        removed = await self.outputs.remove(event, deadline)
        removed += await self.outputs.remove_letter(event, deadline)
        return Outcome(REMOVED, event, detail={"removed": removed})

    # --- create / update ------------------------------------------------------------------------
    async def _upsert(self, event: ObjectEvent, deadline: float | None, request_id: str) -> Outcome:
        previous = await self.outputs.manifest(event, deadline)
        done = await self._already_done(event, previous, deadline)
        if done is not None:
            return done
        head = await self.store.head(event.namespace, event.bucket, event.name, if_match=event.etag,
                                     deadline=deadline)
        gone = _not_current(event, head.status)
        if gone is not None:
            return gone
        if head.size is not None and head.size > self.config.max_object_bytes:
            return await self._fail(event, out.TOO_LARGE, f"{head.size} bytes is over INGEST_MAX_OBJECT_BYTES "
                                    f"({self.config.max_object_bytes})", stage="read", deadline=deadline,
                                    status=SKIPPED, clear_outputs=previous is not None)
        stream = await self.store.open(event.namespace, event.bucket, event.name, if_match=event.etag,
                                       deadline=deadline)
        gone = _not_current(event, stream.info.status)
        if gone is not None:
            return gone
        try:
            return await self._process(event, stream.chunks(), head, self._resumable(event, previous),
                                       previous is not None, deadline, request_id)
        finally:
            await stream.aclose()

    async def _already_done(self, event: ObjectEvent, previous: dict[str, Any] | None,
                            deadline: float | None) -> Outcome | None:
        """UNCHANGED when this version is complete or was recorded as permanently unprocessable."""
        if previous and previous.get("status") == out.COMPLETE and _source_etag(previous) == event.etag:
            return Outcome(UNCHANGED, event, "already embedded", chunks=int(previous.get("chunkCount") or 0),
                           parts=len(previous.get("parts") or []))
        letter = await self.outputs.letter(event, deadline)
        if letter and _source_etag(letter) == event.etag and not letter.get("retryable", True):
            return Outcome(UNCHANGED, event, f"already recorded as {letter.get('reason')}")
        return None

    def _resumable(self, event: ObjectEvent, previous: dict[str, Any] | None) -> out.Progress | None:
        """The progress of a partial run of this version with today's chunking, model and encoding."""
        cfg = self.config
        if not previous or previous.get("status") != out.PARTIAL or _source_etag(previous) != event.etag:
            return None
        same = (previous.get("chunking") == out.chunking_settings(cfg.chunk_tokens, cfg.overlap_tokens)
                and previous.get("embeddingEncoding") == cfg.embedding_format and previous.get("model") == cfg.model)
        return out.Progress.resume(previous) if same else None  # same chunking: chunk indices line up

    async def _process(self, event: ObjectEvent, body: AsyncIterator[bytes], head: Any,
                       progress: out.Progress | None, had_outputs: bool, deadline: float | None,
                       request_id: str) -> Outcome:
        cfg = self.config
        first = await _read_head(body, kinds.SNIFF_BYTES)
        detection = kinds.detect(event.name, head.content_type, first)
        if detection.kind is None:
            return await self._fail(event, detection.reason, f"skipped: {detection.detail}", stage="detect",
                                    deadline=deadline, status=SKIPPED, clear_outputs=had_outputs)
        if detection.kind in kinds.WHOLE_OBJECT_KINDS and (head.size or 0) > cfg.max_whole_object_bytes:
            return await self._fail(event, out.TOO_LARGE, f"a {detection.kind} document is parsed whole; "
                                    f"{head.size} bytes is over INGEST_MAX_WHOLE_OBJECT_BYTES "
                                    f"({cfg.max_whole_object_bytes})", stage="detect", deadline=deadline,
                                    status=SKIPPED, clear_outputs=had_outputs)
        run = _Run(self._tools(), event, progress or out.Progress(kind=detection.kind), deadline, request_id)
        try:
            await run.consume(first, body, make_extractor(detection.kind, json_fields=cfg.json_fields))
        except ExtractionError as exc:
            await run.cancel()
            reason = out.NO_TEXT if "no extractable text" in str(exc) else out.EXTRACTION_FAILED
            return await self._fail(event, reason, str(exc), stage="extract", deadline=deadline,
                                    clear_outputs=had_outputs)
        except _Superseded:
            await run.cancel()
            return Outcome(SUPERSEDED, event, "the object changed while it was being embedded",
                           chunks=run.progress.chunks)
        except _OutOfTime:
            await run.cancel()
            return await run.save_partial(out.DEADLINE, "the invocation ran out of time; the next delivery or "
                                          "the backfill resumes after the last written part")
        except APIError as exc:
            await run.cancel()
            if run.writing:
                raise  # Object Storage itself is failing: nothing can be recorded; the platform may retry
            if exc.code in ("deadline_exceeded", "upstream_timeout") and run.near_deadline():
                return await run.save_partial(out.DEADLINE, "the invocation ran out of time while embedding; "
                                              "the next delivery or the backfill resumes after the last part")
            return await run.save_partial(out.UPSTREAM_FAILED, f"embedding failed: {exc.message}",
                                          status_code=exc.status)
        return await run.complete(head)


def _source_etag(document: dict[str, Any]) -> Any:
    return (document.get("source") or {}).get("eTag")


def _not_current(event: ObjectEvent, status: int) -> Outcome | None:
    """DELETED or SUPERSEDED when a conditional read says the event's version is gone."""
    if status == 404:
        return Outcome(DELETED, event, "the object no longer exists")
    if status == 412:
        return Outcome(SUPERSEDED, event, "the object has a newer version; its own event will follow")
    return None


async def _read_head(body: AsyncIterator[bytes], size: int) -> bytes:
    """At least ``size`` bytes from the start of ``body`` (less only at the end)."""
    parts: list[bytes] = []
    total = 0
    async for chunk in body:
        parts.append(chunk)
        total += len(chunk)
        if total >= size:
            break
    return b"".join(parts)


@dataclass(frozen=True)
class RunTools:
    """What one object's run works with: the configuration and its collaborators."""

    config: IngestConfig
    store: ObjectStorage
    outputs: Outputs
    embed: Embedder
    counter: Counter
    clock: Callable[[], float]
    window: int


class _Run:
    """The state of one object's processing: progress, the part being filled, the embed in flight."""

    def __init__(self, tools: RunTools, event: ObjectEvent, progress: out.Progress, deadline: float | None,
                 request_id: str) -> None:
        self.tools = tools
        self.cfg = tools.config
        self.event = event
        self.progress = progress
        self.deadline = deadline
        self.request_id = request_id
        self.skip_below = progress.chunks  # chunks an earlier invocation already wrote
        self.part = out.PartBuffer(self.cfg.part_max_bytes, first_chunk=progress.chunks)
        self.pending: list[Chunk] = []
        self.inflight: asyncio.Task[None] | None = None
        self.windows = 0
        self.writing = False

    # --- time -----------------------------------------------------------------------------------
    def near_deadline(self) -> bool:
        return self.deadline is not None and self.deadline - self.tools.clock() < self.cfg.time_reserve

    def _embed_deadline(self) -> float | None:
        return None if self.deadline is None else self.deadline - self.cfg.time_reserve / 2

    # --- reading --------------------------------------------------------------------------------
    async def consume(self, first: bytes, body: AsyncIterator[bytes], extractor: Any) -> None:
        chunker = Chunker(self.tools.counter, self.cfg.chunk_tokens, self.cfg.overlap_tokens)
        if first:
            await self._take(chunker, extractor.feed(first))
        async for data in body:
            await self._take(chunker, extractor.feed(data))
        await self._take(chunker, extractor.finish())
        await self._chunks(chunker.finish())
        await self._flush_window()
        await self._await_inflight()

    async def _take(self, chunker: Chunker, texts: list[str]) -> None:
        for text in texts:
            await self._chunks(chunker.feed(text))

    async def _chunks(self, chunks: list[Chunk]) -> None:
        for chunk in chunks:
            if chunk.index < self.skip_below:
                continue
            self.pending.append(chunk)
            if len(self.pending) >= self.tools.window:
                await self._flush_window()

    async def _flush_window(self) -> None:
        if not self.pending:
            return
        await self._await_inflight()  # at most one window embedding while the next one is read
        if self.near_deadline():
            raise _OutOfTime()
        window, self.pending = self.pending, []
        self.inflight = asyncio.create_task(self._embed_window(window))

    async def _await_inflight(self) -> None:
        task, self.inflight = self.inflight, None
        if task is not None:
            await task

    async def cancel(self) -> None:
        task, self.inflight = self.inflight, None
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - the first failure is being handled
                pass
        elif task is not None and task.done() and not task.cancelled():
            task.exception()  # retrieved, so asyncio does not log it as unhandled

    # --- embedding and writing ------------------------------------------------------------------
    async def _embed_window(self, window: list[Chunk]) -> None:
        self.windows += 1
        call_id = f"{self.request_id}-w{self.windows:04d}" if self.request_id else ""
        vectors, model_id = await self.tools.embed([c.text for c in window], self._embed_deadline(), call_id)
        progress = self.progress
        progress.model_id = model_id
        if vectors:
            progress.dimensions = len(vectors[0])
        for chunk, vector in zip(window, vectors, strict=True):
            self.part.add(out.chunk_line(self.event, chunk, vector, model=self.cfg.model,
                                         encoding=self.cfg.embedding_format))
            progress.tokens += chunk.tokens
            if self.part.full:
                await self._write_part()

    async def _write_part(self) -> None:
        if not self.part.lines:
            return
        self.writing = True
        event, cfg = self.event, self.cfg
        if not await self._still_current():  # never overwrite a newer version's parts with this one's
            raise _Superseded()
        body, first, count = self.part.take()
        number = len(self.progress.parts)
        info = await self.tools.outputs.write_part(event, number, body, self.deadline)
        self.progress.parts.append(out.PartInfo(cfg.part_name(event, number), first, count, len(body), info.etag))
        self.progress.chunks = first + count
        self.writing = False

    async def _still_current(self) -> bool:
        """Whether the event's version is still the object's (a conditional HEAD)."""
        event = self.event
        check = await self.tools.store.head(event.namespace, event.bucket, event.name, if_match=event.etag,
                                            deadline=self.deadline)
        return check.status not in (404, 412)

    def _manifest(self, status: str, head: Any) -> dict[str, Any]:
        cfg = self.cfg
        return out.manifest(self.event, self.progress, status=status, model=cfg.model,
                            encoding=cfg.embedding_format, chunk_tokens=cfg.chunk_tokens,
                            overlap_tokens=cfg.overlap_tokens, size=getattr(head, "size", None),
                            content_type=getattr(head, "content_type", None))

    async def complete(self, head: Any) -> Outcome:
        event, cfg = self.event, self.cfg
        await self._write_part()
        if not await self._still_current():
            return Outcome(SUPERSEDED, event, "the object changed while it was being embedded",
                           chunks=self.progress.chunks)
        outputs = self.tools.outputs
        await outputs.write_manifest(event, self._manifest(out.COMPLETE, head), self.deadline)
        keep = [p.name for p in self.progress.parts] + [cfg.manifest_name(event)]
        await outputs.remove(event, self.deadline, keep=keep, manifest_first=False)
        await outputs.remove_letter(event, self.deadline)
        return Outcome(EMBEDDED, event, chunks=self.progress.chunks, parts=len(self.progress.parts),
                       total_tokens=self.progress.tokens,
                       detail={"type": self.progress.kind, "dimensions": self.progress.dimensions,
                               "invocations": self.progress.invocations})

    async def save_partial(self, reason: str, message: str, **detail: Any) -> Outcome:
        """Keep what is embedded (written parts + a ``partial`` manifest) and say how to resume."""
        event = self.event
        try:
            await self._write_part()
        except _Superseded:
            return Outcome(SUPERSEDED, event, "the object changed while it was being embedded")
        await self.tools.outputs.write_manifest(event, self._manifest(out.PARTIAL, None), None)
        await self.tools.outputs.dead_letter(event, reason, message, stage="embed", deadline=None,
                                             resume_chunk=self.progress.chunks, detail=detail or None)
        return Outcome(PARTIAL, event, reason, chunks=self.progress.chunks, parts=len(self.progress.parts),
                       total_tokens=self.progress.tokens, detail={"message": message, **detail})


async def process_event(event: ObjectEvent, *, deadline: float | None = None, request_id: str = "") -> Outcome:
    """Handle one event with the process's pipeline (built once from the settings)."""
    def build() -> Pipeline:
        settings = runtime.settings()
        return Pipeline(IngestConfig.from_settings(settings), settings=settings)

    return await runtime.memo("ingest_pipeline", build).handle(event, deadline=deadline, request_id=request_id)
