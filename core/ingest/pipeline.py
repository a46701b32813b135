"""One object event, end to end: the ingestion module that decides what happens and records it.

create/update (event ETag ``E``):

1. refuse events for buckets/prefixes we are not configured for (logged, answered, not retried);
2. a complete manifest for ``E`` already exists -> nothing to do (at-least-once delivery);
   a permanent dead letter for ``E`` exists -> nothing to do either;
3. ``HEAD`` then a streamed ``GET`` with ``if-match: E``: 412 = superseded (a newer event
   follows), 404 = deleted (the delete event cleans up); never read a different version;
4. sniff the type, extract text (:mod:`core.ingest.run`), cut token chunks, embed them in calls of 96 with
   ``EMBEDDINGS_CONCURRENCY`` calls in flight, through the same embedding core as ``/v1/embeddings``,
   append lines to a bounded part, write each full part;
5. write the manifest last, then remove parts a previous version left beyond the new count
   and any dead letter.

Running short of time (the invocation's deadline minus ``INGEST_TIME_RESERVE_SECONDS``), or a source
body that keeps breaking, saves the work done as a ``partial`` manifest plus a retryable dead letter, and
(:mod:`core.ingest.continuation`) a detached invocation of this function goes on from the last written
part. Unprocessable objects get a dead letter with the reason, and the log says it too.

Nothing is lost silently: when the source or the output bucket fails, the failure is written as a dead
letter naming the object; when even that cannot be written, the answer is an error (so the platform
knows) and the log line names the object.

delete: if the object exists again (a delete delivered after a re-create), nothing happens;
otherwise the manifest goes first (readers stop trusting the parts), then parts, then the
dead letter.
"""

from __future__ import annotations

import calendar
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable

from core import logs, runtime
from core.errors import SERVER, APIError
from core.embeddings.batching import together
from core.embeddings.plan import MAX_BATCH
from core.ingest import detect as kinds
from core.ingest import output as out
from core.ingest.config import IngestConfig
from core.ingest.continuation import CONTINUABLE, Continuation
from core.ingest.cutting import CutterFailed, ProcessCutter
from core.ingest.events import ObjectEvent
from core.ingest.extract import ExtractionError
from core.ingest.outputs import OutputFailed, Outputs
from core.ingest.run import Embedder, ObjectRun, OutOfTime, RunTools, Superseded
from core.ingest.sink import Sink, sink_trouble, vector_store_configured
from core.ingest.tokenizer import Counter, get_counter
from core.oci.objectstorage import ObjectStorage, ReadInterrupted
from core.settings import Settings

MIN_MEMORY_FOR_CHILD_MB = 512
"""A function given less memory cuts every object in a thread, whatever INGEST_CUT_PROCESS_MIN_BYTES says."""

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
IN_PROGRESS = "in_progress"
SYNCED = "synced"



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


def core_embedder(model: str, settings: Settings) -> Embedder:
    """Embed through :func:`core.embeddings.create_embeddings` (aliases, batching, retries)."""
    from core.embeddings import create_embeddings

    async def embed(texts: list[str], deadline: float | None, request_id: str,
                    answered: Callable[[], None] | None = None) -> tuple[list[out.Vector], str]:
        # A chunk that happens to start like an image data URI must still be embedded as text.
        inputs = [(" " + t) if t[:11].lower() == "data:image/" else t for t in texts]
        result = await create_embeddings(
            {"model": model, "input": inputs, "encoding_format": "float", "input_type": "search_document",
             "truncate": "END"},
            deadline=deadline, request_id=request_id, settings=settings, answered=answered)
        return list(result.vectors), result.model_id  # each vector's JSON text, as OCI wrote it

    return embed


async def _failure_kept(call: Awaitable[Any]) -> Any:
    """``call``'s result, or the APIError it raised (for the caller to raise only if it needs the result)."""
    try:
        return await call
    except APIError as exc:
        return exc


def not_recorded(event: ObjectEvent, failure: str) -> APIError:
    """The answer when not even a dead letter could be written: an error the platform sees, naming the object."""
    return APIError(503, f"Ingesting {event.namespace}/{event.bucket}/{event.name} failed and nothing could be "
                         f"recorded: {failure}", type=SERVER, code="ingest_not_recorded")


class Pipeline:
    """Processes object events with one configuration; dependencies injectable for tests and bench."""

    def __init__(self, config: IngestConfig, *, settings: Settings | None = None, store: ObjectStorage | None = None,
                 embed: Embedder | None = None, counter: Counter | None = None,
                 clock: Callable[[], float] = time.time, continuation: Continuation | None = None,
                 sink: Sink | None = None) -> None:
        self.config = config
        self.settings = settings or runtime.settings()
        self.store = store or ObjectStorage(runtime.client)
        self.outputs = Outputs(config, self.store)
        self.embed = embed or core_embedder(config.model, self.settings)
        self._counter = counter
        self.clock = clock
        self.slots = max(1, self.settings.embeddings_concurrency)
        self.continuation = continuation or Continuation(self.settings, runtime.client)
        self.sink = sink or Sink(config, runtime.database if vector_store_configured(self.settings) else None)

    @property
    def counter(self) -> Counter:
        if self._counter is None:
            self._counter = get_counter()
        return self._counter

    # --- entry ----------------------------------------------------------------------------------
    async def handle(self, event: ObjectEvent, *, deadline: float | None = None, request_id: str = "",
                     invoke_type: str = "") -> Outcome:
        refusal = self.config.refusal(event)
        try:
            if refusal is not None:
                outcome = Outcome(REFUSED, event, refusal)
            elif event.is_delete:
                outcome = await self._delete(event, deadline)
            else:
                outcome = await self._upsert(event, deadline, request_id)
        except (OutputFailed, APIError) as exc:
            outcome = await self._record_failure(event, exc, deadline, request_id)
        level = logging.WARNING if outcome.status in (REFUSED, FAILED, PARTIAL) else logging.INFO
        logs.log_event("ingest", level, outcome=outcome.status, event_type=event.kind, namespace=event.namespace,
                       bucket=event.bucket, object=event.name, etag=event.etag, reason=outcome.reason or None,
                       chunks=outcome.chunks, parts=outcome.parts, prompt_tokens=outcome.total_tokens,
                       continuation=event.continuation or None, invoke_type=invoke_type or None,
                       request_id=request_id or None)
        return outcome

    async def _record_failure(self, event: ObjectEvent, exc: Exception, deadline: float | None,
                              request_id: str) -> Outcome:
        """A dead letter for a failure of Object Storage itself; an error answer when even that fails."""
        reason = out.WRITE_FAILED if isinstance(exc, OutputFailed) else out.READ_FAILED
        message = str(exc) if isinstance(exc, OutputFailed) else \
            f"reading the source failed: {getattr(exc, 'message', exc)}"
        try:
            await self.outputs.dead_letter(event, reason, message, stage="store", deadline=deadline)
        except OutputFailed as again:
            logs.log_event("ingest_not_recorded", logging.ERROR, event_type=event.kind, namespace=event.namespace,
                           bucket=event.bucket, object=event.name, etag=event.etag, reason=reason, message=message,
                           dead_letter_error=str(again), request_id=request_id or None)
            raise not_recorded(event, f"{message}; the dead letter failed too ({again})") from None
        return Outcome(FAILED, event, reason, detail={"message": message})

    async def _fail(self, event: ObjectEvent, reason: str, message: str, *, stage: str, deadline: float | None,
                    status: str = FAILED, clear_outputs: bool = False, **detail: Any) -> Outcome:
        """A permanent failure: dead letter; outputs of an older version are removed (they are stale)."""
        if clear_outputs:
            await self.outputs.remove(event, deadline)
        await self.outputs.dead_letter(event, reason, message, stage=stage, deadline=deadline, detail=detail or None)
        await self._store_failure(event, reason, message, clear_outputs)
        return Outcome(status, event, reason, detail={"message": message, **detail})

    async def _store_failure(self, event: ObjectEvent, reason: str, message: str, stale: bool) -> None:
        """The vector store counts the object as failed; an older version's rows go when its outputs went."""
        if not self.sink.enabled:
            return
        try:
            if stale:
                await self.sink.remove(event)
            await self.sink.fail(event, reason, message)
        except APIError as exc:
            sink_trouble(event, "recording a failure", exc)

    # --- delete ---------------------------------------------------------------------------------
    async def _delete(self, event: ObjectEvent, deadline: float | None) -> Outcome:
        info = await self.store.head(event.namespace, event.bucket, event.name, deadline=deadline)
        if info.ok:  # re-created after this delete: its own create event owns the outputs
            return Outcome(STALE_DELETE, event, "the object exists again")
        manifest = await self.outputs.manifest(event, deadline)
        owner = (manifest or {}).get("source") or {}
        if owner.get("bucket") not in (None, event.bucket):  # buckets sharing outputs without {bucket} in the prefix
            return Outcome(STALE_DELETE, event, f"the outputs belong to bucket {owner.get('bucket')}")
        removed = await self.outputs.remove(event, deadline)
        removed += await self.outputs.remove_letter(event, deadline)
        if self.sink.enabled:
            try:
                removed += int(await self.sink.remove(event))
            except APIError as exc:  # its rows stay until the reconciliation finds the object gone
                sink_trouble(event, "removing a deleted object", exc)
        return Outcome(REMOVED, event, detail={"removed": removed})

    # --- create / update ------------------------------------------------------------------------
    async def _upsert(self, event: ObjectEvent, deadline: float | None, request_id: str) -> Outcome:
        # One round trip for the three reads the decision needs (the object's HEAD counts only when it is not done).
        previous, letter, head = await together(
            self.outputs.manifest(event, deadline), self.outputs.letter(event, deadline),
            _failure_kept(self.store.head(event.namespace, event.bucket, event.name, if_match=event.etag,
                                          deadline=deadline)))
        done = self._already_done(event, previous, letter)
        if done is not None:
            return await self._synced(event, previous, done, deadline) if done.reason == "already embedded" else done
        if isinstance(head, APIError):
            raise head
        gone = _not_current(event, head.status)
        if gone is not None:
            return gone
        refused = await self._store_ready(event, deadline)
        if refused is not None:
            return refused
        if head.size is not None and head.size > self.config.max_object_bytes:
            return await self._fail(event, out.TOO_LARGE, f"{head.size} bytes is over INGEST_MAX_OBJECT_BYTES "
                                    f"({self.config.max_object_bytes})", stage="read", deadline=deadline,
                                    status=SKIPPED, clear_outputs=previous is not None)
        # A large object's cutter process starts loading now, while the object is being opened.
        child = await ProcessCutter.spawn() if self._cut_in_child(head.size or 0, event, letter) else None
        try:
            stream = await self.store.open(event.namespace, event.bucket, event.name, if_match=event.etag,
                                           deadline=deadline)
            gone = _not_current(event, stream.info.status)
            if gone is not None:
                return gone
            try:
                return await self._process(event, stream.chunks(), head, self._resumable(event, previous),
                                           previous is not None, deadline, request_id, child)
            finally:
                await stream.aclose()
        finally:
            if child is not None:
                await child.close()  # unused (a PDF, a skipped object) or already ended

    def _cut_in_child(self, size: int, event: ObjectEvent, letter: dict[str, Any] | None) -> bool:
        """Whether an object of ``size`` bytes is cut in a child process: large enough, room for the child, and no
        child died cutting this version before (``letter``: its dead letter, if any)."""
        memory = os.environ.get("FN_MEMORY", "")  # the function's memory in MB, set by OCI Functions
        if memory.isdigit() and int(memory) < MIN_MEMORY_FOR_CHILD_MB:
            return False  # the child's ~65 MB (interpreter and token ranks) would crowd the function out
        if letter and letter.get("reason") == out.CUT_FAILED and _source_etag(letter) == event.etag:
            return False
        return 0 <= self.config.cut_process_min_bytes <= size

    async def _store_ready(self, event: ObjectEvent, deadline: float | None) -> Outcome | None:
        """Before embedding: a store holding another model's vectors refuses the object (a dead letter names the
        re-embedding); otherwise the object counts as in progress."""
        if not self.sink.enabled:
            return None
        try:
            await self.sink.check_model(event)
            await self.sink.begin(event)
        except APIError as exc:
            if exc.code == "vector_store_model_mismatch":
                return await self._fail(event, out.STORE_MODEL_MISMATCH, exc.message, stage="store", deadline=deadline)
            sink_trouble(event, "starting the version", exc)
        return None

    async def _synced(self, event: ObjectEvent, manifest: dict[str, Any] | None, done: Outcome,
                      deadline: float | None) -> Outcome:
        """A complete manifest whose version the vector store lacks (its write failed, or the store is new):
        the rows are loaded from the parts, without embedding anything again."""
        if not self.sink.enabled or manifest is None:
            return done
        try:
            if await self.sink.is_live(event):
                return done
            head = await self.store.head(event.namespace, event.bucket, event.name, if_match=event.etag,
                                         deadline=deadline)
            gone = _not_current(event, head.status)
            if gone is not None:
                return gone
            outcome = await self.sink.sync(event, manifest, self.outputs, head.headers)
        except APIError as exc:
            done.detail["vectorStore"] = sink_trouble(event, "loading the parts", exc)
            return done
        await self.outputs.remove_letter(event, deadline)
        return Outcome(SYNCED, event, f"vector store {outcome}", chunks=done.chunks, parts=done.parts)

    def _already_done(self, event: ObjectEvent, previous: dict[str, Any] | None,
                      letter: dict[str, Any] | None) -> Outcome | None:
        """UNCHANGED when this version is complete or was recorded as permanently unprocessable; IN_PROGRESS
        when a continuation owns this version's partial run right now (only that continuation goes on)."""
        same = previous is not None and _source_etag(previous) == event.etag
        if same and _complete_with(previous, self.config.model):
            return Outcome(UNCHANGED, event, "already embedded", chunks=int(previous.get("chunkCount") or 0),
                           parts=len(previous.get("parts") or []))
        if same and not event.continuation and _leased(previous, self.clock()):
            return Outcome(IN_PROGRESS, event, "a continuation is finishing this version",
                           chunks=int(previous.get("chunkCount") or 0))
        if letter and _source_etag(letter) == event.etag and _permanent(letter):
            return Outcome(UNCHANGED, event, f"already recorded as {letter.get('reason')}")
        return None

    def _resumable(self, event: ObjectEvent, previous: dict[str, Any] | None) -> out.Progress | None:
        """The progress of a partial run of this version with today's chunking, model and encoding."""
        cfg = self.config
        if not previous or previous.get("status") != out.PARTIAL or _source_etag(previous) != event.etag:
            return None
        same = (previous.get("chunking") == out.chunking_settings(cfg.chunk_tokens, cfg.overlap_tokens)
                and previous.get("embeddingEncoding") == cfg.embedding_format and previous.get("model") == cfg.model)
        return out.Progress.resume_from(previous) if same else None  # same chunking: chunk indices line up

    async def _process(self, event: ObjectEvent, body: AsyncIterator[bytes], head: Any,
                       progress: out.Progress | None, had_outputs: bool, deadline: float | None,
                       request_id: str, child: ProcessCutter | None = None) -> Outcome:
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
        tools = RunTools(cfg, self.store, self.outputs, self.embed, lambda: self.counter, self.clock, MAX_BATCH,
                         self.slots, self.sink)
        run = ObjectRun(tools, event, progress or out.Progress(kind=detection.kind), deadline, request_id,
                        head.headers)
        try:
            if detection.kind == kinds.PDF:
                await run.consume_pdf(first, body)
            else:
                await run.consume(first, body, child)
        except Exception as exc:  # noqa: BLE001 - each kind of stop is recorded by _stopped
            await run.cancel()
            return await self._stopped(run, exc, had_outputs)
        return await self._complete(run, head)

    async def _stopped(self, run: ObjectRun, exc: Exception, had_outputs: bool) -> Outcome:
        """What a run that stopped early leaves: a dead letter, saved progress, or nothing (superseded)."""
        event, deadline = run.event, run.deadline
        if isinstance(exc, ExtractionError):
            reason = out.NO_TEXT if "no extractable text" in str(exc) else out.EXTRACTION_FAILED
            return await self._fail(event, reason, str(exc), stage="extract", deadline=deadline,
                                    clear_outputs=had_outputs, **_notes_detail(run.progress))
        if isinstance(exc, APIError) and exc.code == "vector_store_model_mismatch":
            return await self._fail(event, out.STORE_MODEL_MISMATCH, exc.message, stage="store", deadline=deadline)
        if isinstance(exc, Superseded) or (isinstance(exc, ReadInterrupted) and exc.changed):
            return Outcome(SUPERSEDED, event, "the object changed while it was being embedded",
                           chunks=run.progress.chunks)
        if isinstance(exc, OutOfTime):
            return await self._partial(run, out.DEADLINE, "the invocation ran out of time")
        if isinstance(exc, ReadInterrupted):
            return await self._partial(run, out.READ_FAILED, f"reading the source failed: {exc.message}")
        if isinstance(exc, CutterFailed):
            return await self._partial(run, out.CUT_FAILED, f"cutting the text in a child process failed ({exc}); "
                                                             "the next attempt cuts it in the function's own process")
        if isinstance(exc, APIError):
            # deadline_exceeded is the client's own "no time left"; a slow OCI only counts when time is short.
            if exc.code == "deadline_exceeded" or (exc.code == "upstream_timeout" and run.near_deadline()):
                return await self._partial(run, out.DEADLINE, "the invocation ran out of time while embedding")
            return await self._partial(run, out.UPSTREAM_FAILED, f"embedding failed: {exc.message}",
                                       status_code=exc.status)
        raise exc  # OutputFailed (recorded by handle), or a bug

    async def _complete(self, run: ObjectRun, head: Any) -> Outcome:
        event, progress = run.event, run.progress
        try:
            written = await run.complete(head)
        except Superseded:
            written = False
        if not written:
            return Outcome(SUPERSEDED, event, "the object changed while it was being embedded", chunks=progress.chunks)
        detail = {"type": progress.kind, "dimensions": progress.dimensions, "invocations": progress.invocations,
                  **_notes_detail(progress)}
        if run.sink_error is not None:  # searchable once the reconciliation loads the parts into the store
            await self.outputs.dead_letter(event, out.STORE_FAILED, run.sink_error, stage="store",
                                           deadline=run.deadline)
            detail["vectorStore"] = run.sink_error
        return Outcome(EMBEDDED, event, chunks=progress.chunks, parts=len(progress.parts), total_tokens=progress.tokens,
                       detail=detail)

    async def _partial(self, run: ObjectRun, reason: str, message: str, **detail: Any) -> Outcome:
        """Save the progress; hand the rest to a continuation when one can finish it."""
        event, progress = run.event, run.progress
        go_on = (reason in CONTINUABLE and self.continuation.enabled
                 and progress.invocations < self.config.max_invocations)
        resume = "a detached invocation of this function resumes" if go_on else \
            "the scheduled reconciliation or the next delivery resumes"
        message = f"{message}; {resume} after the last written part"
        try:
            await run.save_partial(reason, message, self.continuation.lease() if go_on else None, **detail)
        except Superseded:
            return Outcome(SUPERSEDED, event, "the object changed while it was being embedded")
        outcome = Outcome(PARTIAL, event, reason, chunks=progress.chunks, parts=len(progress.parts),
                          total_tokens=progress.tokens,
                          detail={"message": message, "invocations": progress.invocations, **detail})
        if go_on:
            outcome.detail["continuation"] = await self._continue(event, progress.invocations + 1, run.deadline)
        return outcome

    async def _continue(self, event: ObjectEvent, invocation: int, deadline: float | None) -> str:
        """Send the continuation; its failure is logged (the dead letter already says how to resume)."""
        try:
            request_id = await self.continuation.send(event, invocation, deadline=deadline)
        except Exception as exc:  # noqa: BLE001 - the object stays recorded as partial for the reconciliation
            logs.log_event("ingest_continuation_failed", logging.WARNING, namespace=event.namespace,
                           bucket=event.bucket, object=event.name, etag=event.etag, invocation=invocation,
                           error=type(exc).__name__, message=str(getattr(exc, "message", exc))[:300])
            return "failed"
        logs.log_event("ingest_continued", namespace=event.namespace, bucket=event.bucket, object=event.name,
                       etag=event.etag, invocation=invocation, opc_request_id=request_id)
        return "sent"


def _notes_detail(progress: out.Progress) -> dict[str, Any]:
    notes = progress.all_notes()
    return {"notes": notes} if notes else {}


def _source_etag(document: dict[str, Any]) -> Any:
    return (document.get("source") or {}).get("eTag")


def _complete_with(manifest: Any, model: str) -> bool:
    """A complete manifest of this model (another model's is embedded again: a re-embedding)."""
    return manifest.get("status") == out.COMPLETE and manifest.get("model") == model


def _permanent(letter: dict[str, Any]) -> bool:
    """A dead letter that settles this version (a model mismatch is checked again: the store may be re-embedded)."""
    return not letter.get("retryable", True) and letter.get("reason") != out.STORE_MODEL_MISMATCH


def _leased(manifest: dict[str, Any], now: float) -> bool:
    """Whether a partial manifest says a continuation owns the run until a time still to come."""
    until = (manifest.get("continuation") or {}).get("until") if manifest.get("status") == out.PARTIAL else None
    if not isinstance(until, str):
        return False
    try:
        return calendar.timegm(time.strptime(until, "%Y-%m-%dT%H:%M:%SZ")) > now
    except ValueError:
        return False


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


def process_pipeline() -> Pipeline:
    """The process's pipeline, built once from the settings."""
    def build() -> Pipeline:
        settings = runtime.settings()
        return Pipeline(IngestConfig.from_settings(settings), settings=settings)

    return runtime.memo("ingest_pipeline", build)


async def process_event(event: ObjectEvent, *, deadline: float | None = None, request_id: str = "",
                        invoke_type: str = "") -> Outcome:
    """Handle one event with the process's pipeline."""
    return await process_pipeline().handle(event, deadline=deadline, request_id=request_id, invoke_type=invoke_type)
