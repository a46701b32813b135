"""What the ingestion integration tests share: names, CloudEvents, the ingest settings, reading outputs back.

The fixtures (``store``, ``ingest``, ``ingest_factory``) are in ``conftest.py``.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ingest"
NS = "testns"
INPUT = "docs-inbox"
OUTPUT = "docs-embeddings"
MODEL = "cohere.embed-v4.0"  # the default INGEST_EMBEDDING_MODEL: INGEST_ENV leaves it unset
DIMS = 1536
CHUNK_TOKENS = 40
OVERLAP = 8


def now_iso() -> str:
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event(kind: str, name: str, etag: str | None, *, bucket: str = INPUT, namespace: str = NS) -> dict[str, Any]:
    """An OCI Events CloudEvent exactly in the documented shape."""
    details: dict[str, Any] = {"bucketName": bucket, "archivalState": "Available", "namespace": namespace,
                               "bucketId": "ocid1.bucket.oc1.us-chicago-1.aaaaaaaatest"}
    if etag is not None:
        details["eTag"] = etag
    return {
        "eventType": f"com.oraclecloud.objectstorage.{kind}",
        "cloudEventsVersion": "0.1",
        "eventTypeVersion": "2.0",
        "source": "ObjectStorage",
        "eventTime": now_iso(),  # when it happened: a delete's time guards newer rows
        "contentType": "application/json",
        "data": {
            "compartmentId": "ocid1.compartment.oc1..local",
            "compartmentName": "Local",
            "resourceName": name,
            "resourceId": f"/n/{namespace}/b/{bucket}/o/{name}",
            "availabilityDomain": "PHX-AD-1",
            "additionalDetails": details,
        },
        "eventID": str(uuid.uuid4()),
        "extensions": {"compartmentId": "ocid1.compartment.oc1..local"},
    }


INGEST_ENV = {
    "GATEWAY_ROLE": "ingest",
    "INGEST_INPUT_BUCKETS": INPUT,
    "INGEST_OUTPUT_BUCKET": OUTPUT,
    "INGEST_CHUNK_TOKENS": str(CHUNK_TOKENS),
    "INGEST_CHUNK_OVERLAP_TOKENS": str(OVERLAP),
    "INGEST_PART_MAX_BYTES": "65536",
    "OCI_MAX_RETRIES": "8",
    "INGEST_CONTINUATION": "off",  # the local runner sets FN_FN_ID like OCI Functions: no self-invocation by default
}


def upload(store, name: str, data: bytes, content_type: str = "application/octet-stream") -> str:
    return store.put(INPUT, name, data, content_type)


def outputs(store, name: str) -> list[str]:
    return store.names(OUTPUT, f"embeddings/{name}/")


def lines_of(store, name: str) -> list[dict[str, Any]]:
    manifest = json.loads(store.get(OUTPUT, f"embeddings/{name}/manifest.json").data)
    lines = []
    for part in manifest["parts"]:
        lines += [json.loads(line) for line in store.get(OUTPUT, part["name"]).data.splitlines()]
    return lines




def letter_of(store, name: str) -> dict[str, Any] | None:
    found = store.get(OUTPUT, f"failed/{name}.json")
    return json.loads(found.data) if found else None


def manifest_of(store, name: str) -> dict[str, Any] | None:
    found = store.get(OUTPUT, f"embeddings/{name}/manifest.json")
    return json.loads(found.data) if found else None
