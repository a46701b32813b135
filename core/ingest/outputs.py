"""An object's outputs in the output bucket: its manifest, its parts and its dead letter (Object Storage I/O).

:mod:`core.ingest.output` builds the documents; this class reads, writes and removes them. The pipeline and
each object's run share one instance.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Sequence

from core import logs
from core.ingest import output as out
from core.ingest.config import IngestConfig
from core.ingest.events import ObjectEvent
from core.oci.objectstorage import ObjectInfo, ObjectStorage

_OWN_OUTPUT = re.compile(r"part-\d{5,}\.jsonl|manifest\.json")


class Outputs:
    """Reads and writes one configuration's outputs of source objects."""

    def __init__(self, config: IngestConfig, store: ObjectStorage) -> None:
        self.config = config
        self.store = store

    @property
    def bucket(self) -> str:
        return self.config.output.bucket

    async def read_json(self, event: ObjectEvent, name: str, deadline: float | None) -> dict[str, Any] | None:
        """A JSON document of the output bucket, or None when missing or unreadable."""
        info, body = await self.store.get_bytes(self.config.output_namespace(event), self.bucket, name,
                                                deadline=deadline)
        if not info.ok:
            return None
        try:
            value = json.loads(body)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    async def manifest(self, event: ObjectEvent, deadline: float | None) -> dict[str, Any] | None:
        return await self.read_json(event, self.config.manifest_name(event), deadline)

    async def letter(self, event: ObjectEvent, deadline: float | None) -> dict[str, Any] | None:
        return await self.read_json(event, self.config.failed_name(event), deadline)

    async def write_manifest(self, event: ObjectEvent, manifest: dict[str, Any], deadline: float | None) -> None:
        await self._write_json(event, self.config.manifest_name(event), manifest, deadline)

    async def write_part(self, event: ObjectEvent, number: int, body: bytes, deadline: float | None) -> ObjectInfo:
        name = self.config.part_name(event, number)
        return await self.store.put(self.config.output_namespace(event), self.bucket, name, body,
                                    content_type="application/x-ndjson", deadline=deadline)

    async def dead_letter(self, event: ObjectEvent, reason: str, message: str, *, stage: str,
                          deadline: float | None, resume_chunk: int | None = None,
                          detail: dict[str, Any] | None = None) -> None:
        letter = out.dead_letter(event, reason, message, stage=stage, resume_chunk=resume_chunk, detail=detail)
        await self._write_json(event, self.config.failed_name(event), letter, deadline)
        logs.log_event("ingest_dead_letter", logging.WARNING, namespace=event.namespace, bucket=event.bucket,
                       object=event.name, etag=event.etag, reason=reason, message=message, stage=stage)

    async def remove_letter(self, event: ObjectEvent, deadline: float | None) -> int:
        """Delete the dead letter; 1 when one was removed."""
        status = await self.store.delete(self.config.output_namespace(event), self.bucket,
                                         self.config.failed_name(event), deadline=deadline)
        return int(status == 204)

    async def remove(self, event: ObjectEvent, deadline: float | None, *, keep: Sequence[str] = (),
                     manifest_first: bool = True) -> int:
        """Delete the object's outputs (all, or all but ``keep``); the manifest goes first."""
        namespace = self.config.output_namespace(event)
        manifest_name = self.config.manifest_name(event)
        removed = 0
        if manifest_first and manifest_name not in keep:
            removed += await self.store.delete(namespace, self.bucket, manifest_name, deadline=deadline) == 204
        directory = self.config.output_dir(event)
        # Only this object's own files: "embeddings/a/" is also the prefix of object "a/b"'s outputs.
        stale = [o.name async for o in self.store.list(namespace, self.bucket, prefix=directory, deadline=deadline)
                 if _OWN_OUTPUT.fullmatch(o.name[len(directory):]) and o.name not in keep
                 and o.name != manifest_name]
        for name in stale:
            removed += await self.store.delete(namespace, self.bucket, name, deadline=deadline) == 204
        return removed

    async def _write_json(self, event: ObjectEvent, name: str, value: dict[str, Any], deadline: float | None) -> None:
        await self.store.put(self.config.output_namespace(event), self.bucket, name, out.dumps(value),
                             content_type="application/json", deadline=deadline)
