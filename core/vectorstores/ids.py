"""Names in the vector-store world, derived and never stored twice (pure).

* a store per input bucket: ``vs_<bucket>`` (bucket names are letters, digits, ``-``, ``_`` and ``.``);
* a file per object: ``file-`` and 24 hex digits of SHA-256 over bucket and object name, the same for every
  version of the object, so a search result keeps its ``file_id`` across uploads;
* a chunk table per store: ``vs_chunks_`` and 16 hex digits of SHA-256 over the store id (an identifier of at
  most 63 bytes, whatever the bucket is called).
"""

from __future__ import annotations

import hashlib

STORE_PREFIX = "vs_"
FILE_PREFIX = "file-"


def store_id(bucket: str) -> str:
    return STORE_PREFIX + bucket


def bucket_of(store: str) -> str | None:
    """The bucket a store id names, or None when it is not a store id."""
    return store[len(STORE_PREFIX):] or None if store.startswith(STORE_PREFIX) else None


def file_id(bucket: str, name: str) -> str:
    digest = hashlib.sha256(f"{bucket}\0{name}".encode()).hexdigest()
    return FILE_PREFIX + digest[:24]


def chunk_table(store: str) -> str:
    return "vs_chunks_" + hashlib.sha256(store.encode()).hexdigest()[:16]
