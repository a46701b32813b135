"""The ingest side of a vector store: an object version's chunks into PostgreSQL next to the JSONL parts.

The JSONL parts stay the record; the database is the searchable copy, so it can always be rebuilt from them
(:meth:`Sink.load_parts`), which is what happens when a write to the database failed or when the
reconciliation finds a complete manifest whose version is not live in the store.

Rules (see :mod:`core.vectorstores.store`): rows are inserted window by window as the version is embedded,
keyed by (object, eTag, chunk); the version becomes live in one transaction after a conditional ``HEAD`` said it
is still the object's, and that transaction refuses to replace a version with a later ``last-modified``; a
delete removes the rows only when the object is gone, and not if a version as new as the delete is live.
"""

from __future__ import annotations

import email.utils
import logging
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from core import logs
from core.errors import APIError
from core.ingest.config import IngestConfig
from core.ingest.events import ObjectEvent
from core.settings import Settings
from core.vectorstores.ids import file_id, store_id

if TYPE_CHECKING:
    from core.ingest.chunking import Chunk
    from core.ingest.outputs import Outputs
    from core.vectorstores.database import Database
    from core.vectorstores.store import ChunkRow, StoreRecord, VectorTables

RESERVED_ATTRIBUTES = ("bucket", "object", "eTag", "chunk")
MAX_METADATA_ATTRIBUTES = 12  # OpenAI allows 16 attributes: the four above plus this many opc-meta-* ones


def vector_store_configured(settings: Settings) -> bool:
    """Whether a vector-store database is configured (checked without importing psycopg)."""
    return bool(settings.vector_store_url or settings.vector_store_url_secret_ocid)


def last_modified_of(headers: dict[str, str]) -> datetime | None:
    raw = headers.get("last-modified")
    if not raw:
        return None
    try:
        return email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None


def event_time_of(event: ObjectEvent) -> datetime | None:
    if not event.event_time:
        return None
    try:
        return datetime.fromisoformat(event.event_time.replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        return None


def attributes_of(event: ObjectEvent, chunk: int, headers: dict[str, str]) -> dict[str, Any]:
    """A chunk's attributes: where it comes from, plus the object's ``opc-meta-*`` metadata (for filters)."""
    found: dict[str, Any] = {}
    for key, value in sorted(headers.items()):
        name = key[len("opc-meta-"):] if key.startswith("opc-meta-") else None
        if name and name not in RESERVED_ATTRIBUTES and len(found) < MAX_METADATA_ATTRIBUTES:
            found[name[:64]] = value[:512]
    return {**found, "bucket": event.bucket, "object": event.name, "eTag": event.etag, "chunk": chunk}


class Sink:
    """One configuration's vector stores (one per input bucket), or nothing when none is configured."""

    def __init__(self, config: IngestConfig, connect: Callable[[], Awaitable["Database"]] | None) -> None:
        self.config = config
        self._connect = connect

    @property
    def enabled(self) -> bool:
        return self._connect is not None

    async def tables(self) -> "VectorTables":
        from core.vectorstores.store import VectorTables

        assert self._connect is not None
        return VectorTables(await self._connect())

    # --- a version --------------------------------------------------------------------------------
    async def check_model(self, event: ObjectEvent) -> None:
        """:class:`~core.vectorstores.store.StoreModelMismatch` before any embedding, if the store holds vectors
        of another model than the one configured."""
        from core.vectorstores.store import StoreModelMismatch

        store = await (await self.tables()).store(store_id(event.bucket))
        if store is not None and store.model != self.config.model:
            raise StoreModelMismatch(store, self.config.model, None)

    async def begin(self, event: ObjectEvent) -> None:
        await (await self.tables()).begin(store_id(event.bucket), event.name, file_id(event.bucket, event.name))

    async def add(self, event: ObjectEvent, headers: dict[str, str], chunks: list["Chunk"],
                  vectors: list[list[float]], model_id: str | None) -> None:
        from core.vectorstores.store import ChunkRow

        if not vectors:
            return
        tables = await self.tables()
        store = await tables.ensure_store(store_id(event.bucket), event.namespace, event.bucket, self.config.model,
                                          model_id, len(vectors[0]))
        modified = last_modified_of(headers)
        rows = [ChunkRow(event.name, event.etag or "", chunk.index, modified, chunk.text, vector,
                         attributes_of(event, chunk.index, headers)) for chunk, vector in zip(chunks, vectors)]
        await tables.add_chunks(store, rows)

    async def commit(self, event: ObjectEvent, headers: dict[str, str], chunks: int, size: int | None,
                     outputs: "Outputs", manifest: dict[str, Any] | None = None) -> str:
        """Make the version live; rows found missing are loaded from the written parts first. The outcome."""
        from core.vectorstores.store import INCOMPLETE

        tables = await self.tables()
        store = await tables.store(store_id(event.bucket))
        if store is None:  # nothing was embedded (an empty document): nothing to make live
            return "empty"
        modified = last_modified_of(headers)
        fid = file_id(event.bucket, event.name)
        outcome = await tables.commit(store, event.name, fid, event.etag or "", modified, chunks, size)
        if outcome == INCOMPLETE and manifest is not None:
            await self.load_parts(event, store, manifest, outputs, headers)
            outcome = await tables.commit(store, event.name, fid, event.etag or "", modified, chunks, size)
        return outcome

    async def load_parts(self, event: ObjectEvent, store: "StoreRecord", manifest: dict[str, Any],
                         outputs: "Outputs", headers: dict[str, str]) -> int:
        """Insert the rows the manifest's parts hold (their embeddings are kept there); the count read."""
        from core.embeddings.response import decode_base64
        from core.vectorstores.store import ChunkRow

        tables = await self.tables()
        modified = last_modified_of(headers)
        count = 0
        for part in manifest.get("parts") or []:
            lines = await outputs.read_lines(event, str(part.get("name")), None)
            rows: list[ChunkRow] = []
            for line in lines:
                vector = line["embedding"]
                if line.get("encoding") == "base64":
                    vector = decode_base64(vector)
                rows.append(ChunkRow(event.name, event.etag or "", int(line["chunk"]), modified, line["text"],
                                     list(vector), attributes_of(event, int(line["chunk"]), headers)))
            await tables.add_chunks(store, rows)
            count += len(rows)
        return count

    async def sync(self, event: ObjectEvent, manifest: dict[str, Any], outputs: "Outputs",
                   headers: dict[str, str]) -> str:
        """A complete manifest whose version is not live in the store: load its parts and make it live."""
        tables = await self.tables()
        dims = manifest.get("dimensions")
        if not dims:
            return "empty"
        store = await tables.ensure_store(store_id(event.bucket), event.namespace, event.bucket, self.config.model,
                                          manifest.get("modelId"), int(dims))
        await tables.begin(store.id, event.name, file_id(event.bucket, event.name))
        await self.load_parts(event, store, manifest, outputs, headers)
        return await self.commit(event, headers, int(manifest.get("chunkCount") or 0),
                                 (manifest.get("source") or {}).get("size"), outputs)

    async def is_live(self, event: ObjectEvent) -> bool:
        etag, _ = await (await self.tables()).live_version(store_id(event.bucket), event.name)
        return etag == event.etag

    async def fail(self, event: ObjectEvent, reason: str, message: str) -> None:
        await (await self.tables()).fail(store_id(event.bucket), event.name, file_id(event.bucket, event.name),
                                         reason, message)

    async def remove(self, event: ObjectEvent) -> bool:
        return await (await self.tables()).remove(store_id(event.bucket), event.name, before=event_time_of(event))


def sink_trouble(event: ObjectEvent, action: str, exc: APIError) -> str:
    """Log a vector-store failure that the JSONL output survives; the message for the dead letter."""
    message = f"writing the vector store failed while {action}: {exc.message}"
    logs.log_event("ingest_vector_store_failed", logging.WARNING, namespace=event.namespace, bucket=event.bucket,
                   object=event.name, etag=event.etag, action=action, code=exc.code, message=exc.message[:300])
    return message

