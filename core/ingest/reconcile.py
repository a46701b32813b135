"""The scheduled reconciliation: make the outputs match the input buckets, whatever events were lost.

``python -m core.ingest.reconcile [--bucket B] [--namespace N]``, or the ingest function invoked with
``{"gatewayReconcile": {}}`` (what the Terraform schedule sends). Two passes per input bucket, each going
through the same pipeline as an event, so every rule (idempotence, ``if-match`` reads, delete only when the
object is really gone) is the event's:

1. **objects**: every listed object becomes a ``createobject`` event carrying the listed ETag. A complete
   manifest for that ETag is skipped without a read; a ``partial`` one is resumed (unless a continuation owns it
   right now); a missing or outdated one is redone; a permanent dead letter for the same ETag stays.
2. **outputs**: every manifest and dead letter whose object was not listed becomes a ``deleteobject`` event,
   which removes the outputs only when ``HEAD`` says the object is gone.

A run that is running out of time stops between batches and returns where to go on; the function hands that to
a detached invocation of itself, like an object's continuation.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Sequence

from core.errors import APIError, invalid_request
from core.ingest.config import BucketRef, IngestConfig
from core.ingest.events import CREATE, DELETE, ObjectEvent
from core.ingest.pipeline import Pipeline

RECONCILE_KEY = "gatewayReconcile"
OBJECTS, OUTPUTS = "objects", "outputs"
BATCH = 32
"""Objects handled between two looks at the clock (and the unit a resumed run restarts from)."""
MAX_SEEN = 200_000
"""Names remembered from the objects pass so the outputs pass needs no HEAD for them; beyond, it HEADs."""

Report = Callable[[str, str], None]


@dataclass
class Position:
    """Where a reconciliation is: which bucket (index into the list), which pass, after which name."""

    bucket: int = 0
    phase: str = OBJECTS
    after: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "phase": self.phase, "after": self.after}

    @classmethod
    def parse(cls, value: Any) -> "Position":
        if value is None:
            return cls()
        if not isinstance(value, dict) or not isinstance(value.get("bucket", 0), int) \
                or value.get("phase", OBJECTS) not in (OBJECTS, OUTPUTS) \
                or not isinstance(value.get("after") or "", str):
            raise invalid_request("'gatewayReconcile.position' must be {bucket, phase, after}.",
                                  param="gatewayReconcile.position", code="invalid_reconcile")
        return cls(int(value.get("bucket", 0)), str(value.get("phase", OBJECTS)), value.get("after") or None)


@dataclass
class Reconciliation:
    """One run over some input buckets; ``counts`` per outcome status, ``position`` set when it stopped early."""

    pipeline: Pipeline
    buckets: list[BucketRef]
    deadline: float | None = None
    concurrency: int = 4
    remove_orphans: bool = True
    dry_run: bool = False
    prefix: str | None = None
    report: Report | None = None
    clock: Callable[[], float] = time.time
    counts: dict[str, int] = field(default_factory=dict)
    position: Position | None = None
    _seen: set[str] | None = field(default_factory=set)
    _batches_run: int = 0

    # --- time -----------------------------------------------------------------------------------
    def _out_of_time(self) -> bool:
        """Too little left for another batch: the reserve, plus the client's own margin before the deadline."""
        reserve = self.pipeline.config.time_reserve + self.pipeline.settings.deadline_margin_seconds
        return self.deadline is not None and self.deadline - self.clock() < reserve

    # --- driver ---------------------------------------------------------------------------------
    async def run(self, start: Position | None = None) -> "Reconciliation":
        here = start or Position()
        for index in range(here.bucket, len(self.buckets)):
            ref = self.buckets[index]
            namespace = ref.namespace or await self.pipeline.store.get_namespace()
            phase, after = (here.phase, here.after) if index == here.bucket else (OBJECTS, None)
            if phase == OBJECTS:
                self._seen = set() if after is None else None  # a resumed pass did not see the names before
                stopped = await self._objects(namespace, ref.bucket, after)
                if stopped is not None:
                    self.position = Position(index, OBJECTS, stopped.after)
                    return self
                phase, after = OUTPUTS, None
            if self.remove_orphans:
                stopped = await self._outputs(namespace, ref.bucket, after)
                if stopped is not None:
                    self.position = Position(index, OUTPUTS, stopped.after)
                    return self
        return self

    def _count(self, name: str, status: str) -> None:
        self.counts[status] = self.counts.get(status, 0) + 1
        if self.report is not None:
            self.report(name, status)

    async def _batches(self, names: Any, handle: Callable[[Any], Any], after: str | None) -> "_Stop | None":
        """Handle items in batches; where to go on when time ran out, else None. The first batch of an invocation
        always runs (each object's run keeps to the deadline on its own), so a chain of invocations progresses."""
        gate = asyncio.Semaphore(max(1, self.concurrency))

        async def one(item: Any) -> None:
            async with gate:
                await handle(item)

        batch: list[Any] = []
        async for item in names:
            batch.append(item)
            if len(batch) >= BATCH:
                if self._batches_run and self._out_of_time():
                    return _Stop(after)
                await asyncio.gather(*(one(i) for i in batch))
                self._batches_run += 1
                after, batch = _name_of(batch[-1]), []
        if batch:
            if self._batches_run and self._out_of_time():
                return _Stop(after)
            await asyncio.gather(*(one(i) for i in batch))
            self._batches_run += 1
        return None

    # --- pass 1: every object ---------------------------------------------------------------------
    async def _objects(self, namespace: str, bucket: str, after: str | None) -> "_Stop | None":
        store = self.pipeline.store

        async def listed() -> Any:
            async for item in store.list(namespace, bucket, prefix=self.prefix, deadline=self.deadline):
                if after is None or item.name > after:
                    yield item

        async def handle(item: Any) -> None:
            if self._seen is not None:
                self._seen.add(item.name)
                if len(self._seen) > MAX_SEEN:
                    self._seen = None
            event = ObjectEvent(CREATE, namespace, bucket, item.name, item.etag, event_id="reconcile")
            self._count(item.name, await self._handle(event))

        return await self._batches(listed(), handle, after)

    async def _handle(self, event: ObjectEvent) -> str:
        if self.dry_run:
            return "would_process" if self.pipeline.config.refusal(event) is None else "refused"
        try:
            return (await self.pipeline.handle(event, deadline=self.deadline, request_id="reconcile")).status
        except APIError:  # nothing could be recorded (the pipeline logged which object): the next run retries it
            return "not_recorded"

    # --- pass 2: outputs whose object was not listed -----------------------------------------------
    async def _outputs(self, namespace: str, bucket: str, after: str | None) -> "_Stop | None":
        config = self.pipeline.config
        sources = _OutputSources(self.pipeline, namespace, bucket)

        async def handle(name: str) -> None:
            event = ObjectEvent(DELETE, namespace, bucket, name, None, event_id="reconcile")
            if self.dry_run:
                self._count(name, "would_check")
                return
            status = await self._handle(event)
            if status != "stale_delete":  # the object exists: nothing was wrong
                self._count(name, status)

        async def unseen() -> Any:
            async for name in sources.names(after):
                if (self._seen is None or name not in self._seen) and config.refusal(
                        ObjectEvent(DELETE, namespace, bucket, name, None)) is None:
                    yield name

        return await self._batches(unseen(), handle, after)


@dataclass(frozen=True)
class _Stop:
    """A pass stopped for lack of time; it goes on after ``after`` (None: from its start)."""

    after: str | None


class _OutputSources:
    """The source names outputs exist for (manifests, dead letters, vector-store records), in name order."""

    def __init__(self, pipeline: Pipeline, namespace: str, bucket: str) -> None:
        self.pipeline = pipeline
        self.event = ObjectEvent(DELETE, namespace, bucket, "", None)

    async def names(self, after: str | None) -> Any:
        config = self.pipeline.config
        manifests, letters = config.output_root(self.event), config.failed_root(self.event)
        found: set[str] = set()
        for prefix, is_source in ((manifests, _manifest_source), (letters, _letter_source)):
            async for item in self.pipeline.store.list(config.output_namespace(self.event), config.output.bucket,
                                                       prefix=prefix):
                name = is_source(item.name[len(prefix):])
                if name is not None and (after is None or name > after):
                    found.add(name)
        found.update(n for n in await self._stored(self.event.bucket) if after is None or n > after)
        for name in sorted(found):
            yield name

    async def _stored(self, bucket: str) -> list[str]:
        """Objects the vector store has rows or a record of (a delete it missed leaves them there)."""
        sink = self.pipeline.sink
        if not sink.enabled:
            return []
        from core.vectorstores.ids import store_id

        try:
            return await (await sink.tables()).objects(store_id(bucket))
        except APIError:
            return []


def _manifest_source(rest: str) -> str | None:
    return rest[:-len("/manifest.json")] if rest.endswith("/manifest.json") else None


def _letter_source(rest: str) -> str | None:
    return rest[:-len(".json")] if rest.endswith(".json") else None


def _name_of(item: Any) -> str:
    return item if isinstance(item, str) else item.name


# --- the function's entry: {"gatewayReconcile": {...}} -------------------------------------------------


def parse_request(body: dict[str, Any], config: IngestConfig) -> tuple[list[BucketRef], Position, int]:
    """(input buckets, where to start, invocation number) from a reconcile invocation's body."""
    request = body.get(RECONCILE_KEY)
    if request is None or request == {}:
        request = {}
    if not isinstance(request, dict):
        raise invalid_request(f"'{RECONCILE_KEY}' must be an object.", param=RECONCILE_KEY, code="invalid_reconcile")
    wanted = request.get("buckets")
    if wanted is None:
        buckets = list(config.inputs)
    elif isinstance(wanted, list) and all(isinstance(b, str) for b in wanted):
        buckets = [ref for ref in config.inputs if ref.bucket in wanted]
        if len(buckets) != len(set(wanted)):
            raise invalid_request(f"'{RECONCILE_KEY}.buckets' may only name input buckets (INGEST_INPUT_BUCKETS).",
                                  param=f"{RECONCILE_KEY}.buckets", code="invalid_reconcile")
    else:
        raise invalid_request(f"'{RECONCILE_KEY}.buckets' must be a list of bucket names.",
                              param=f"{RECONCILE_KEY}.buckets", code="invalid_reconcile")
    invocation = request.get("invocation", 1)
    invocation = invocation if isinstance(invocation, int) and not isinstance(invocation, bool) else 1
    return buckets, Position.parse(request.get("position")), max(1, invocation)


def continuation_body(buckets: list[BucketRef], position: Position, invocation: int) -> dict[str, Any]:
    return {RECONCILE_KEY: {"buckets": [ref.bucket for ref in buckets], "position": position.to_json(),
                            "invocation": invocation}}


async def reconcile_invocation(body: dict[str, Any], *, deadline: float | None = None,
                               request_id: str = "") -> dict[str, Any]:
    """Run (or go on with) the reconciliation a function invocation asks for; hand the rest on when time runs out."""
    from core import logs
    from core.ingest.pipeline import process_pipeline

    pipeline = process_pipeline()
    buckets, position, invocation = parse_request(body, pipeline.config)
    done = await Reconciliation(pipeline, buckets, deadline=deadline).run(position)
    answer: dict[str, Any] = {"status": "complete" if done.position is None else "partial", "counts": done.counts,
                              "buckets": [ref.bucket for ref in buckets], "invocation": invocation}
    if done.position is not None:
        answer["position"] = done.position.to_json()
        answer["continuation"] = await _go_on(pipeline, buckets, done.position, invocation, deadline)
    logs.log_event("reconcile", status=answer["status"], buckets=",".join(answer["buckets"]), invocation=invocation,
                   continuation=answer.get("continuation"), request_id=request_id or None,
                   **{f"count_{k}": v for k, v in done.counts.items()})
    return answer


async def _go_on(pipeline: Pipeline, buckets: list[BucketRef], position: Position, invocation: int,
                 deadline: float | None) -> str:
    continuation = pipeline.continuation
    if not continuation.enabled or invocation >= pipeline.config.max_invocations:
        return "none"
    try:
        await continuation.send_body(continuation_body(buckets, position, invocation + 1), deadline=deadline)
    except Exception:  # noqa: BLE001 - the next scheduled run starts over; logged by the caller's line
        return "failed"
    return "sent"


# --- command line -----------------------------------------------------------------------------------


async def reembed(pipeline: Pipeline, buckets: list[BucketRef]) -> None:
    """Forget the buckets' vector stores, so the reconciliation that follows embeds every object with today's
    model (a complete manifest of another model is not "done") and the stores are created anew."""
    from core.vectorstores.ids import store_id

    if not pipeline.sink.enabled:
        return
    tables = await pipeline.sink.tables()
    for ref in buckets:
        await tables.drop_store(store_id(ref.bucket))


def main(argv: Sequence[str] | None = None) -> int:
    from core import runtime

    parser = argparse.ArgumentParser(prog="python -m core.ingest.reconcile", description=__doc__.splitlines()[0])
    parser.add_argument("--bucket", action="append", help="input bucket (repeatable; default: INGEST_INPUT_BUCKETS)")
    parser.add_argument("--namespace", help="Object Storage namespace (default: the tenancy's)")
    parser.add_argument("--prefix", help="only objects whose name starts with this")
    parser.add_argument("--concurrency", type=int, default=4, help="objects processed at the same time")
    parser.add_argument("--dry-run", action="store_true", help="list what would be processed, change nothing")
    parser.add_argument("--keep-orphans", action="store_true", help="do not remove outputs of deleted objects")
    parser.add_argument("--reembed", action="store_true",
                        help="drop the buckets' vector stores and embed every object again with INGEST_EMBEDDING_MODEL")
    args = parser.parse_args(argv)
    settings = runtime.settings()
    pipeline = Pipeline(IngestConfig.from_settings(settings), settings=settings)
    buckets = [BucketRef(b, args.namespace) for b in args.bucket] if args.bucket else list(pipeline.config.inputs)

    async def run() -> dict[str, int]:
        if args.reembed and not args.dry_run:
            await reembed(pipeline, buckets)
        done = await Reconciliation(pipeline, buckets, concurrency=args.concurrency, dry_run=args.dry_run,
                                    remove_orphans=not args.keep_orphans, prefix=args.prefix,
                                    report=print_outcome).run()
        return done.counts

    return run_command(run)


def print_outcome(name: str, status: str) -> None:
    print(json.dumps({"object": name, "status": status}), flush=True)


def run_command(run: Callable[[], Awaitable[dict[str, int]]]) -> int:
    """Run a command's work on its own event loop, close what it opened, print the summary; 1 if anything failed
    or stayed partial."""
    from core import runtime

    async def closing() -> dict[str, int]:
        try:
            return await run()
        finally:
            await runtime.close_database()
            await runtime.close_client()

    counts = asyncio.run(closing())
    print(json.dumps({"summary": counts}), flush=True)
    return 1 if counts.get("failed") or counts.get("partial") else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
