"""An object's outputs in the output bucket: its manifest, its parts and its dead letter (Object Storage I/O).

:mod:`core.ingest.output` builds the documents; this class reads, writes and removes them. The pipeline and
each object's run share one instance. Any call to the output bucket that fails after the client's retries
raises :class:`OutputFailed`, so the pipeline can tell a failing output bucket from a failing source.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Awaitable, Sequence, TypeVar

from core import logs
from core.errors import APIError
from core.ingest import output as out
from core.ingest.config import IngestConfig
from core.ingest.events import ObjectEvent
from core.oci.objectstorage import ObjectInfo, ObjectStorage

T = TypeVar("T")
_OWN_OUTPUT = re.compile(r"part-\d{5,}\.jsonl|manifest\.json")


class OutputFailed(Exception):
    """The output bucket refused or failed a call: ``action`` on ``name``, with the upstream error."""

    def __init__(self, action: str, name: str, error: APIError) -> None:
        super().__init__(f"could not {action} {name} ({error.status}: {error.message})")
        self.error = error


class Outputs:
    """Reads and writes one configuration's outputs of source objects."""

    def __init__(self, config: IngestConfig, store: ObjectStorage) -> None:
        self.config = config
        self.store = store

    @property
    def bucket(self) -> str:
        return self.config.output.bucket

    async def _guard(self, action: str, name: str, call: Awaitable[T]) -> T:
        try:
            return await call
        except APIError as exc:
            raise OutputFailed(action, f"{self.bucket}/{name}", exc) from None

    async def read_json(self, event: ObjectEvent, name: str, deadline: float | None) -> dict[str, Any] | None:
        """A JSON document of the output bucket, or None when missing or unreadable."""
        info, body = await self._guard("read", name, self.store.get_bytes(
            self.config.output_namespace(event), self.bucket, name, deadline=deadline))
        if not info.ok:
            return None
        try:
            value = json.loads(body)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    async def read_lines(self, event: ObjectEvent, name: str, deadline: float | None) -> list[dict[str, Any]]:
        """The JSON lines of a part (empty when it is missing)."""
        info, body = await self._guard("read", name, self.store.get_bytes(
            self.config.output_namespace(event), self.bucket, name, deadline=deadline))
        return [json.loads(line) for line in body.splitlines() if line.strip()] if info.ok else []

    async def manifest(self, event: ObjectEvent, deadline: float | None) -> dict[str, Any] | None:
        return await self.read_json(event, self.config.manifest_name(event), deadline)

    async def letter(self, event: ObjectEvent, deadline: float | None) -> dict[str, Any] | None:
        return await self.read_json(event, self.config.failed_name(event), deadline)

    async def write_manifest(self, event: ObjectEvent, manifest: dict[str, Any], deadline: float | None) -> None:
        await self._write_json(event, self.config.manifest_name(event), manifest, deadline)

    async def write_part(self, event: ObjectEvent, number: int, body: bytes, deadline: float | None) -> ObjectInfo:
        name = self.config.part_name(event, number)
        return await self._guard("write", name, self.store.put(
            self.config.output_namespace(event), self.bucket, name, body, content_type="application/x-ndjson",
            deadline=deadline))

    async def dead_letter(self, event: ObjectEvent, reason: str, message: str, *, stage: str,
                          deadline: float | None, resume_chunk: int | None = None,
                          detail: dict[str, Any] | None = None) -> None:
        letter = out.dead_letter(event, reason, message, stage=stage, resume_chunk=resume_chunk, detail=detail)
        await self._write_json(event, self.config.failed_name(event), letter, deadline)
        logs.log_event("ingest_dead_letter", logging.WARNING, namespace=event.namespace, bucket=event.bucket,
                       object=event.name, etag=event.etag, reason=reason, message=message, stage=stage)

    async def remove_letter(self, event: ObjectEvent, deadline: float | None) -> int:
        """Delete the dead letter; 1 when one was removed."""
        return await self._delete(event, self.config.failed_name(event), deadline)

    async def remove(self, event: ObjectEvent, deadline: float | None, *, keep: Sequence[str] = (),
                     manifest_first: bool = True) -> int:
        """Delete the object's outputs (all, or all but ``keep``); the manifest goes first."""
        manifest_name = self.config.manifest_name(event)
        removed = 0
        if manifest_first and manifest_name not in keep:
            removed += await self._delete(event, manifest_name, deadline)
        directory = self.config.output_dir(event)
        # Only this object's own files: "embeddings/a/" is also the prefix of object "a/b"'s outputs.
        stale = [name for name in await self._guard("list", directory, self._names(event, directory, deadline))
                 if _OWN_OUTPUT.fullmatch(name[len(directory):]) and name not in keep and name != manifest_name]
        for name in stale:
            removed += await self._delete(event, name, deadline)
        return removed

    async def _names(self, event: ObjectEvent, prefix: str, deadline: float | None) -> list[str]:
        namespace = self.config.output_namespace(event)
        return [o.name async for o in self.store.list(namespace, self.bucket, prefix=prefix, deadline=deadline)]

    async def _delete(self, event: ObjectEvent, name: str, deadline: float | None) -> int:
        status = await self._guard("delete", name, self.store.delete(
            self.config.output_namespace(event), self.bucket, name, deadline=deadline))
        return int(status == 204)

    async def _write_json(self, event: ObjectEvent, name: str, value: dict[str, Any], deadline: float | None) -> None:
        await self._guard("write", name, self.store.put(
            self.config.output_namespace(event), self.bucket, name, out.dumps(value), content_type="application/json",
            deadline=deadline))
