"""Stored responses in Object Storage: one object per response under ``responses/`` in ``RESPONSES_BUCKET``.

Writes create (``if-none-match: *``) and never overwrite; reads are one GET; deletes are conditional on the ETag
that was read, so a response is only deleted as its owner saw it. The bucket's lifecycle rule (Terraform) expires
the objects. Who may read what is decided by the caller with :func:`core.responses.records.owned`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from core import logs, runtime
from core.errors import SERVER, APIError
from core.ingest.config import BucketRef
from core.oci.objectstorage import ObjectStorage
from core.responses.records import object_name
from core.settings import Settings


@dataclass
class StoredRecord:
    record: dict[str, Any]
    etag: str | None


@dataclass
class ResponseStore:
    bucket: BucketRef
    storage: ObjectStorage
    _namespace: str | None = field(default=None, repr=False)

    async def namespace(self, deadline: float | None) -> str:
        """The configured namespace, else the tenancy's (asked once)."""
        if self._namespace is None:
            self._namespace = self.bucket.namespace or await self.storage.get_namespace(deadline)
        return self._namespace

    async def save(self, record: dict[str, Any], *, deadline: float | None = None) -> float:
        """Write a new stored response; returns the milliseconds the write took (logged, for what storing costs)."""
        started = time.perf_counter()
        body = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
        info = await self.storage.put(await self.namespace(deadline), self.bucket.bucket, object_name(record["id"]),
                                      body, content_type="application/json", if_none_match=True, deadline=deadline)
        if not info.ok:
            raise APIError(500, f"Response id {record['id']} is already stored; the response was not kept.",
                           type=SERVER, code="response_id_conflict")
        elapsed = (time.perf_counter() - started) * 1000
        logs.log_event("response_stored", response_id=record["id"], bytes=len(body), store_ms=round(elapsed, 1))
        return elapsed

    async def load(self, response_id: str, *, deadline: float | None = None) -> StoredRecord | None:
        """The stored response, or None when there is none (missing, expired or deleted)."""
        info, body = await self.storage.get_bytes(await self.namespace(deadline), self.bucket.bucket,
                                                  object_name(response_id), deadline=deadline)
        if not info.ok:
            return None
        try:
            record = json.loads(body)
        except ValueError:
            return None
        return StoredRecord(record, info.etag) if isinstance(record, dict) else None

    async def delete(self, response_id: str, etag: str | None, *, deadline: float | None = None) -> bool:
        """Delete the response if it is still the version read (``etag``); False when it was already gone."""
        status = await self.storage.delete(await self.namespace(deadline), self.bucket.bucket,
                                           object_name(response_id), if_match=etag, deadline=deadline)
        return status == 204 or 200 <= status < 300


def configured_store(settings: Settings) -> ResponseStore | None:
    """The process's store for ``RESPONSES_BUCKET`` (None when unset: nothing is kept)."""
    if not settings.responses_bucket:
        return None
    bucket = BucketRef.parse(settings.responses_bucket, "RESPONSES_BUCKET")
    return runtime.memo(("responses_store", bucket), lambda: ResponseStore(bucket, ObjectStorage(runtime.client)))
