"""Benchmark: ingestion throughput (chunks/s) and peak memory on one large text object.

The emulator (Object Storage + Generative AI, signatures verified, a fixed latency on every
call) runs in this process's background thread; the object is seeded straight into its store.
The pipeline runs in a *separate process* (``--worker``) that handles one ``createobject``
event exactly as the function would, then reports its own peak RSS (``getrusage``), so the
number is the pipeline's alone. A benchmark, not a test: nothing is asserted.

    .venv/bin/python -m bench.ingest_throughput [--mb 200] [--latency 0.05] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
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


def worker() -> int:
    """Process one event from stdin with the environment's settings; print stats as JSON."""
    import asyncio

    from core.ingest.config import IngestConfig
    from core.ingest.events import parse_event
    from core.ingest.pipeline import Pipeline
    from core import runtime

    job = json.loads(sys.stdin.read())  # sent once the parent has built the emulator and the object
    os.environ.update(job["env"])
    event = parse_event(job["event"])
    timeline: list[tuple[float, float]] = []
    if os.environ.get("BENCH_RSS_TIMELINE"):  # RSS every 0.5 s, to see where memory goes
        import threading

        def sample() -> None:
            page = os.sysconf("SC_PAGE_SIZE")
            start = time.perf_counter()
            while True:
                with open("/proc/self/statm") as handle:
                    rss = int(handle.read().split()[1]) * page / 2**20
                timeline.append((round(time.perf_counter() - start, 1), round(rss)))
                time.sleep(0.5)

        threading.Thread(target=sample, daemon=True).start()

    async def run() -> dict:
        settings = runtime.settings()
        pipeline = Pipeline(IngestConfig.from_settings(settings), settings=settings)
        started = time.perf_counter()
        outcome = await pipeline.handle(event, request_id="BENCH")
        return {"outcome": outcome.to_json(), "seconds": time.perf_counter() - started}

    if os.environ.get("BENCH_PROFILE"):  # where the worker's time goes, to stderr
        import cProfile
        import pstats

        profile = cProfile.Profile()
        result = profile.runcall(asyncio.run, run())
        pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats(18)
    else:
        result = asyncio.run(run())
    if timeline:
        print(json.dumps(timeline[::4]), file=sys.stderr)
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open("/proc/self/status") as handle:  # the same high-water mark, read from the kernel directly
        hwm = [line for line in handle if line.startswith("VmHWM:")]
    result["vm_hwm_mib"] = int(hwm[0].split()[1]) / 1024 if hwm else None
    print(json.dumps(result))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=200.0, help="object size in MB")
    parser.add_argument("--latency", type=float, default=0.05, help="emulator latency per call, seconds")
    parser.add_argument("--concurrency", type=int, default=8, help="EMBEDDINGS_CONCURRENCY")
    parser.add_argument("--format", default="base64", choices=("float", "base64"))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker()

    # Start the worker first, while this process is still small: Linux carries a process's peak RSS
    # over fork+exec, so a worker forked from the parent holding a 200 MB object would report the
    # parent's peak through getrusage, not its own.
    worker_proc = subprocess.Popen([sys.executable, "-m", "bench.ingest_throughput", "--worker"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    sys.path.insert(0, str(REPO))
    import local.emulator as emu
    from local.emulator.objectstorage import install_objectstorage
    from local.local_credentials import make_resource_principal_env

    creds = make_resource_principal_env(tempfile.mkdtemp(prefix="bench-ingest-"), region="us-chicago-1")
    emulator = emu.Emulator()
    emulator.add_key(creds.key_id, creds.public_key)
    store = install_objectstorage(emulator, namespace=NAMESPACE)
    store.create_bucket(OUTPUT)
    data = make_text(int(args.mb * 1_000_000))
    etag = store.put(INPUT, OBJECT, data, "text/plain")
    size = len(data)
    del data
    emulator.latency = args.latency
    # The emulator records every request body for tests; a benchmark would only grow that list.
    emulator.requests = _Discard()
    server = emu.serve_in_thread(emulator)
    env = {**creds.env, "GATEWAY_ROLE": "ingest",
           "OCI_GENAI_ENDPOINT": server.url, "OCI_OBJECTSTORAGE_ENDPOINT": server.url,
           "OCI_COMPARTMENT_ID": "ocid1.compartment.oc1..bench", "OCI_REGION": "us-chicago-1",
           "INGEST_INPUT_BUCKETS": INPUT, "INGEST_OUTPUT_BUCKET": OUTPUT, "INGEST_EMBEDDING_MODEL": MODEL,
           "INGEST_EMBEDDING_FORMAT": args.format, "EMBEDDINGS_CONCURRENCY": str(args.concurrency),
           "LOG_LEVEL": "WARNING"}
    event = {"eventType": "com.oraclecloud.objectstorage.createobject", "eventID": "bench",
             "data": {"resourceName": OBJECT,
                      "additionalDetails": {"bucketName": INPUT, "namespace": NAMESPACE, "eTag": etag}}}
    try:
        started = time.perf_counter()
        stdout, stderr = worker_proc.communicate(json.dumps({"env": env, "event": event}))
        wall = time.perf_counter() - started
    finally:
        server.stop()
    if worker_proc.returncode != 0 or os.environ.get("BENCH_PROFILE") or os.environ.get("BENCH_RSS_TIMELINE"):
        print(stderr[-6000:], file=sys.stderr)
    if worker_proc.returncode != 0:
        return 1
    result = json.loads(stdout.strip().splitlines()[-1])
    outcome = result["outcome"]
    chunks = outcome["chunks"]
    print(json.dumps({
        "object_mb": round(size / 1e6, 1),
        "latency_s": args.latency,
        "concurrency": args.concurrency,
        "status": outcome["status"],
        "chunks": chunks,
        "parts": outcome["parts"],
        "pipeline_seconds": round(result["seconds"], 1),
        "process_seconds": round(wall, 1),
        "chunks_per_second": round(chunks / result["seconds"], 1),
        "mb_per_second": round(size / 1e6 / result["seconds"], 2),
        "worker_peak_rss_mib": round(result["peak_rss_mib"], 1),
        "worker_vm_hwm_mib": result["vm_hwm_mib"],
        "children_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    }, indent=2))
    return 0


class _Discard(list):
    """A list that keeps nothing (the emulator appends every request it records)."""

    def append(self, item: object) -> None:  # noqa: D401
        return None


if __name__ == "__main__":
    sys.exit(main())
