"""The ingestion benchmark's upstream in its own process: Object Storage and Generative AI, one emulator.

    python -m bench.ingest_upstream --mb 200 --latency 0.3 --public-key-file PEM --key-id ID

Builds the input object (prose, deterministic) in its own store, answers embedText from precomputed vectors
(:func:`local.emulator.vectors.precomputed_vector_json`: a pool of vectors in OCI's number format, so the
emulator's own work is its HTTP and JSON, not computing vectors), keeps no record of requests, and prints
``ready URL ETAG SIZE`` once it listens. Its CPU time is read by the parent from ``/proc``.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

NAMESPACE = "benchns"
INPUT, OUTPUT = "bench-in", "bench-out"
MODEL = "cohere.embed-v4.0"  # Embed v3 was retired by OCI on 2026-10-21
OBJECT = "large/corpus.txt"

_WORDS = ("the harbour office opens at eight and closes at six while the ferry runs every hour across the bay "
          "revenue grew twelve percent in the third quarter and the board expects steady growth next year "
          "users cannot log in after a password reset so support opened a ticket").split()


def make_text(size: int, seed: int = 7) -> bytes:
    """~``size`` bytes of prose: sentences of 8-30 words, paragraphs of 2-8 sentences."""
    rng = random.Random(seed)
    parts: list[str] = []
    total = 0
    while total < size:
        sentences = []
        for _ in range(rng.randint(2, 8)):
            words = [rng.choice(_WORDS) for _ in range(rng.randint(8, 30))]
            sentences.append(" ".join(words).capitalize() + ".")
        paragraph = " ".join(sentences) + "\n\n"
        parts.append(paragraph)
        total += len(paragraph)
    return "".join(parts).encode()


class _Discard(list):  # type: ignore[type-arg]
    """A list that keeps nothing (the emulator appends every request it records)."""

    def append(self, item: object) -> None:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_upstream", description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=200.0)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--storage-latency", type=float, default=None, help="Object Storage's own latency")
    parser.add_argument("--public-key-file", required=True)
    parser.add_argument("--key-id", required=True)
    args = parser.parse_args(argv)

    from bench.sockets import bind_nodelay
    from local.emulator.objectstorage import install_objectstorage
    from local.emulator.server import Emulator, make_server

    emulator = Emulator()
    emulator.add_key(args.key_id, Path(args.public_key_file).read_bytes())
    store = install_objectstorage(emulator, namespace=NAMESPACE)
    store.create_bucket(OUTPUT)
    data = make_text(int(args.mb * 1_000_000))
    etag = store.put(INPUT, OBJECT, data, "text/plain")
    size = len(data)
    del data
    emulator.latency = args.latency
    emulator.storage_latency = args.storage_latency
    emulator.latency_includes_work = True  # each answer at ``latency`` after its request arrived: the bound's upstream
    emulator.precomputed_embeddings = True
    from core.catalog import lookup
    from local.emulator.vectors import precomputed_vector_json

    precomputed_vector_json("", lookup(MODEL).dimensions or 1536)  # the pool is built now, not on the first call
    emulator.requests = _Discard()
    sock = bind_nodelay()
    print(f"ready http://127.0.0.1:{sock.getsockname()[1]} {etag} {size}", flush=True)
    make_server(emulator, "127.0.0.1").run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
