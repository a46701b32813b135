"""What ingestion writes: JSON lines, bounded parts, the manifest and dead letters (pure builders).

Line (one per chunk, ``part-NNNNN.jsonl``)::

    {"namespace", "bucket", "object", "eTag", "chunk", "start", "end", "tokens", "text",
     "embedding", "encoding", "model"}

The manifest says which source version the parts describe and is written last; a reader that
finds ``status: complete`` and the current ``eTag`` can trust every listed part.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Sequence, Union

import orjson

from core.embeddings.response import encode_base64
from core.ingest.chunking import Chunk
from core.ingest.events import ObjectEvent

MANIFEST_VERSION = 1
COMPLETE = "complete"
PARTIAL = "partial"

# Dead-letter reasons. Permanent ones are not retried for the same ETag (a repeat changes nothing).
BINARY = "binary"
UNSUPPORTED = "unsupported_type"
TOO_LARGE = "too_large"
EXTRACTION_FAILED = "extraction_failed"
NO_TEXT = "no_text"
DEADLINE = "deadline"
UPSTREAM_FAILED = "upstream_failed"
READ_FAILED = "read_failed"
CUT_FAILED = "cut_failed"
"""The child process cutting the text ended early (killed, out of memory): the next attempt cuts in the function."""
WRITE_FAILED = "write_failed"
STORE_FAILED = "store_failed"
STORE_MODEL_MISMATCH = "store_model_mismatch"
PERMANENT_REASONS = frozenset({BINARY, UNSUPPORTED, TOO_LARGE, EXTRACTION_FAILED, NO_TEXT, STORE_MODEL_MISMATCH})
MAX_LISTED = 50
"""Page numbers listed in a manifest's notes (the count is always exact)."""


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


Vector = Union[Sequence[float], bytes, memoryview]
"""A chunk's vector: its floats, or its JSON array text as OCI wrote it (what the embedding core returns)."""


def vector_values(vector: Vector) -> list[float]:
    """The vector's floats (parsed when it is JSON text)."""
    return orjson.loads(vector) if isinstance(vector, (bytes, memoryview)) else list(vector)


def vector_size(vector: Vector) -> int:
    """How many values the vector has, without parsing JSON text."""
    if isinstance(vector, (bytes, memoryview)):
        text = bytes(vector)
        return text.count(b",") + 1 if text.strip(b"[] \t\r\n") else 0
    return len(vector)


def chunk_line(event: ObjectEvent, chunk: Chunk, vector: Vector, *, model: str, encoding: str) -> bytes:
    """One JSON line; a vector given as JSON text is written as it is (``float``) or packed (``base64``)."""
    raw = isinstance(vector, (bytes, memoryview))
    if encoding == "base64":
        embedding: Any = encode_base64(vector_values(vector) if raw else vector)
    else:
        embedding = orjson.Fragment(bytes(vector)) if raw else vector
    line = {
        "namespace": event.namespace, "bucket": event.bucket, "object": event.name, "eTag": event.etag,
        "chunk": chunk.index, "start": chunk.start, "end": chunk.end, "tokens": chunk.tokens, "text": chunk.text,
        "embedding": embedding, "encoding": encoding, "model": model,
    }
    try:
        return orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE)  # no second copy of the ~17 KB line
    except orjson.JSONEncodeError:  # a lone surrogate in the text: written as a \uXXXX escape
        if raw and encoding != "base64":
            line["embedding"] = vector_values(vector)
        return json.dumps(line, separators=(",", ":")).encode("ascii") + b"\n"


@dataclass
class PartInfo:
    name: str
    first_chunk: int
    chunks: int
    bytes: int
    etag: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "firstChunk": self.first_chunk, "chunks": self.chunks, "bytes": self.bytes,
                "eTag": self.etag}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "PartInfo":
        return cls(str(data["name"]), int(data["firstChunk"]), int(data["chunks"]), int(data.get("bytes", 0)),
                   data.get("eTag"))


@dataclass
class PartBuffer:
    """Lines of the part being filled; full once it reaches ``max_bytes``."""

    max_bytes: int
    first_chunk: int = 0
    lines: list[bytes] = field(default_factory=list)
    size: int = 0

    def add(self, line: bytes) -> None:
        self.lines.append(line)
        self.size += len(line)

    @property
    def full(self) -> bool:
        return self.size >= self.max_bytes

    def take(self) -> tuple[bytes, int, int]:
        """(body, first chunk index, chunk count); the buffer restarts after them."""
        body, count, first = b"".join(self.lines), len(self.lines), self.first_chunk
        self.lines, self.size, self.first_chunk = [], 0, first + count
        return body, first, count


@dataclass(frozen=True)
class PageMark:
    """Where a PDF's extraction can restart: the page, its first chunk index and its offset in the text."""

    page: int = 0
    chunk: int = 0
    offset: int = 0
    stalls: int = 0
    """Invocations in a row that ran out of time on this very page."""

    def to_json(self) -> dict[str, int]:
        return {"page": self.page, "chunk": self.chunk, "offset": self.offset, "stalls": self.stalls}

    @classmethod
    def from_json(cls, data: Any) -> "PageMark | None":
        if not isinstance(data, dict):
            return None
        return cls(int(data.get("page") or 0), int(data.get("chunk") or 0), int(data.get("offset") or 0),
                   int(data.get("stalls") or 0))


@dataclass
class Progress:
    """What a run has produced so far; saved as a ``partial`` manifest when a run must stop early."""

    kind: str = ""
    parts: list[PartInfo] = field(default_factory=list)
    chunks: int = 0
    tokens: int = 0
    dimensions: int | None = None
    model_id: str | None = None
    invocations: int = 1
    started: str = field(default_factory=now_iso)
    resume: PageMark | None = None
    """For a PDF: where the next invocation starts extracting."""
    skipped_pages: list[int] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def resume_from(cls, manifest: dict[str, Any]) -> "Progress":
        parts = [PartInfo.from_json(p) for p in manifest.get("parts") or []]
        notes = manifest.get("notes") if isinstance(manifest.get("notes"), dict) else {}
        return cls(kind=str(manifest.get("type") or ""), parts=parts,
                   chunks=sum(p.chunks for p in parts), tokens=int(manifest.get("tokenCount") or 0),
                   dimensions=manifest.get("dimensions"), model_id=manifest.get("modelId"),
                   invocations=int(manifest.get("invocations") or 1) + 1,
                   started=str(manifest.get("startedAt") or now_iso()),
                   resume=PageMark.from_json(manifest.get("resume")),
                   skipped_pages=[int(p) for p in notes.get("skippedPages") or [] if isinstance(p, int)],
                   notes={k: v for k, v in notes.items() if k != "skippedPages"})

    def note_skipped_page(self, page: int) -> None:
        self.notes["skippedPageCount"] = int(self.notes.get("skippedPageCount") or 0) + 1
        if len(self.skipped_pages) < MAX_LISTED:
            self.skipped_pages.append(page)

    def all_notes(self) -> dict[str, Any]:
        notes = dict(self.notes)
        if self.skipped_pages:
            notes["skippedPages"] = list(self.skipped_pages)
        return notes


def manifest(event: ObjectEvent, progress: Progress, *, status: str, model: str, encoding: str,
             chunk_tokens: int, overlap_tokens: int, size: int | None, content_type: str | None,
             continuation: dict[str, Any] | None = None) -> dict[str, Any]:
    notes = progress.all_notes()
    return {
        "version": MANIFEST_VERSION,
        "status": status,
        "source": {"namespace": event.namespace, "bucket": event.bucket, "object": event.name, "eTag": event.etag,
                   "size": size, "contentType": content_type},
        "type": progress.kind,
        "model": model,
        "modelId": progress.model_id,
        "dimensions": progress.dimensions,
        "embeddingEncoding": encoding,
        "chunking": chunking_settings(chunk_tokens, overlap_tokens),
        "chunkCount": progress.chunks,
        "tokenCount": progress.tokens,
        "parts": [p.to_json() for p in progress.parts],
        "invocations": progress.invocations,
        "startedAt": progress.started,
        "updatedAt": now_iso(),
        "completedAt": now_iso() if status == COMPLETE else None,
        **({"notes": notes} if notes else {}),
        **({"resume": progress.resume.to_json()} if progress.resume and status != COMPLETE else {}),
        **({"continuation": continuation} if continuation else {}),
    }


def chunking_settings(chunk_tokens: int, overlap_tokens: int) -> dict[str, Any]:
    return {"tokenizer": "cl100k_base", "maxTokens": chunk_tokens, "overlapTokens": overlap_tokens}


def dead_letter(event: ObjectEvent, reason: str, message: str, *, stage: str, resume_chunk: int | None = None,
                detail: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "version": MANIFEST_VERSION,
        "source": {"namespace": event.namespace, "bucket": event.bucket, "object": event.name, "eTag": event.etag},
        "eventType": event.event_type,
        "eventId": event.event_id,
        "reason": reason,
        "message": message,
        "stage": stage,
        "retryable": reason not in PERMANENT_REASONS,
        "resumeFromChunk": resume_chunk,
        "time": now_iso(),
        **(detail or {}),
    }
