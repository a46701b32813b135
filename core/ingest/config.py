"""The ingestion settings, checked once, plus the pure decisions that depend only on them.

* which events are accepted (configured buckets, prefixes; never our own outputs),
* where an object's outputs and dead letter live (deterministic names, so a repeat overwrites).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import ConfigError
from core.ingest.events import ObjectEvent
from core.settings import Settings

MAX_CHUNK_TOKENS = 450
"""cl100k_base tokens; Cohere's limit is 512 of *its* tokens, so keep ~12 % in reserve."""


@dataclass(frozen=True)
class BucketRef:
    """A configured bucket: ``namespace`` None matches any namespace."""

    bucket: str
    namespace: str | None = None

    @classmethod
    def parse(cls, text: str, setting: str) -> "BucketRef":
        value = text.strip()
        namespace, slash, bucket = value.rpartition("/")
        if not bucket or (slash and not namespace) or "/" in namespace:
            raise ConfigError(f"setting {setting}: {text!r} is not 'bucket' or 'namespace/bucket'")
        return cls(bucket, namespace or None)

    def matches(self, namespace: str, bucket: str) -> bool:
        return self.bucket == bucket and (self.namespace is None or self.namespace == namespace)


@dataclass(frozen=True)
class IngestConfig:
    inputs: tuple[BucketRef, ...]
    output: BucketRef
    model: str
    prefixes: tuple[str, ...]
    chunk_tokens: int
    overlap_tokens: int
    part_max_bytes: int
    embedding_format: str
    json_fields: tuple[str, ...]
    max_object_bytes: int
    max_whole_object_bytes: int
    output_prefix: str
    failed_prefix: str
    time_reserve: float
    pdf_page_seconds: float = 60.0
    max_invocations: int = 24
    cut_process_min_bytes: int = -1
    """A streamed object at least this large is cut in a child process; -1: never."""

    @classmethod
    def from_settings(cls, settings: Settings) -> "IngestConfig":
        if not settings.ingest_input_buckets or not settings.ingest_input_buckets.strip(", "):
            raise ConfigError("setting INGEST_INPUT_BUCKETS is required for the ingest role")
        if not settings.ingest_output_bucket:
            raise ConfigError("setting INGEST_OUTPUT_BUCKET is required for the ingest role")
        inputs = tuple(BucketRef.parse(p, "INGEST_INPUT_BUCKETS")
                       for p in settings.ingest_input_buckets.split(",") if p.strip())
        tokens = settings.ingest_chunk_tokens
        if not 16 <= tokens <= MAX_CHUNK_TOKENS:
            raise ConfigError(f"setting INGEST_CHUNK_TOKENS={tokens}: must be within 16..{MAX_CHUNK_TOKENS}")
        overlap = settings.ingest_chunk_overlap_tokens
        if not 0 <= overlap <= tokens // 2:
            raise ConfigError(f"setting INGEST_CHUNK_OVERLAP_TOKENS={overlap}: must be within 0..{tokens // 2}")
        if settings.ingest_part_max_bytes < 64 * 1024:
            raise ConfigError("setting INGEST_PART_MAX_BYTES: must be at least 65536")
        return cls(
            inputs=inputs,
            output=BucketRef.parse(settings.ingest_output_bucket, "INGEST_OUTPUT_BUCKET"),
            model=settings.ingest_embedding_model,
            prefixes=_csv(settings.ingest_prefixes),
            chunk_tokens=tokens,
            overlap_tokens=overlap,
            part_max_bytes=settings.ingest_part_max_bytes,
            embedding_format=settings.ingest_embedding_format,
            json_fields=_csv(settings.ingest_json_text_fields),
            max_object_bytes=settings.ingest_max_object_bytes,
            max_whole_object_bytes=settings.ingest_max_whole_object_bytes,
            output_prefix=settings.ingest_output_prefix,
            failed_prefix=settings.ingest_failed_prefix,
            time_reserve=max(0.0, settings.ingest_time_reserve_seconds),
            pdf_page_seconds=max(0.05, settings.ingest_pdf_page_seconds),
            max_invocations=max(1, settings.ingest_max_invocations),
            cut_process_min_bytes=max(-1, settings.ingest_cut_process_min_bytes),
        )

    # --- names --------------------------------------------------------------------------------
    def output_namespace(self, event: ObjectEvent) -> str:
        return self.output.namespace or event.namespace

    def _prefix(self, template: str, event: ObjectEvent) -> str:
        return template.replace("{bucket}", event.bucket).replace("{namespace}", event.namespace)

    def output_root(self, event: ObjectEvent) -> str:
        """Where the outputs of every object of the event's bucket live (``embeddings/``)."""
        return self._prefix(self.output_prefix, event)

    def failed_root(self, event: ObjectEvent) -> str:
        """Where the dead letters of the event's bucket live (``failed/``)."""
        return self._prefix(self.failed_prefix, event)

    def output_dir(self, event: ObjectEvent) -> str:
        """``embeddings/<source object>/``: every output of the object lives under it."""
        return f"{self._prefix(self.output_prefix, event)}{event.name}/"

    def part_name(self, event: ObjectEvent, number: int) -> str:
        return f"{self.output_dir(event)}part-{number:05d}.jsonl"

    def manifest_name(self, event: ObjectEvent) -> str:
        return f"{self.output_dir(event)}manifest.json"

    def failed_name(self, event: ObjectEvent) -> str:
        return f"{self._prefix(self.failed_prefix, event)}{event.name}.json"

    # --- decisions ----------------------------------------------------------------------------
    def refusal(self, event: ObjectEvent) -> str | None:
        """Why this event must not be processed, or None. Pure; the caller logs the reason."""
        if not any(ref.matches(event.namespace, event.bucket) for ref in self.inputs):
            return (f"bucket {event.namespace}/{event.bucket} is not an input bucket "
                    f"(INGEST_INPUT_BUCKETS)")
        if self.prefixes and not any(event.name.startswith(p) for p in self.prefixes):
            return f"object name is outside INGEST_PREFIXES ({', '.join(self.prefixes)})"
        if self.output.matches(event.namespace, event.bucket):
            # Our own writes fire events too when input and output share a bucket: never loop.
            own = (self._prefix(self.output_prefix, event), self._prefix(self.failed_prefix, event))
            if any(event.name.startswith(p) for p in own if p):
                return "object is an output of this pipeline (input and output share a bucket)"
        return None


def _csv(raw: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (raw or "").split(",") if p.strip())
