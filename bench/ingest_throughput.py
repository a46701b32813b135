"""Benchmark: ingestion throughput on one large text object, against the bound the upstream allows.

The emulator (Object Storage + Generative AI, signatures verified, every embedding answer ``latency`` after its
request arrived, the emulator's own work included, Object Storage's after ``--storage-latency``) runs in its own
process (:mod:`bench.ingest_upstream`),
answering embedText from precomputed vectors; its CPU time is read from ``/proc`` and reported as a share
of the run. The pipeline runs in another process (``--worker``) that handles one ``createobject`` event
exactly as the function would and reports its own CPU time and peak RSS, and those of the child process
that cuts a large object's text (``INGEST_CUT_PROCESS_MIN_BYTES``): the function's memory holds both, so
the peak reported against the limit is what they hold at once, sampled from this process. The bound is
``EMBEDDINGS_CONCURRENCY x 96 / latency`` chunks/s: every upstream call slot always busy, from the event's
arrival to the manifest.
A benchmark, not a test: nothing is asserted.

    .venv/bin/python -m bench.ingest_throughput [--mb 200] [--latency 0.3] [--storage-latency 0.05]
        [--concurrency N] [--format float]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.ingest_upstream import INPUT, MODEL, NAMESPACE, OBJECT, OUTPUT

REPO = Path(__file__).resolve().parent.parent
STORAGE_LATENCY_S = 0.05
"""Object Storage's latency per request in the emulator: an in-region request is answered in tens of milliseconds
(OCI publishes no figure); ``--storage-latency`` equal to ``--latency`` is the pessimistic model."""


def worker() -> int:
    """Process one event from stdin with the environment's settings; print stats as JSON."""
    import asyncio

    from core import runtime
    from core.ingest.config import IngestConfig
    from core.ingest.events import parse_event
    from core.ingest.pipeline import Pipeline

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
        started, cpu = time.perf_counter(), time.process_time()
        outcome = await pipeline.handle(event, request_id="BENCH")
        return {"outcome": outcome.to_json(), "seconds": time.perf_counter() - started,
                "cpu_seconds": time.process_time() - cpu}

    if os.environ.get("BENCH_PROFILE"):  # where the worker's time goes, to stderr
        import cProfile
        import pstats

        profile = cProfile.Profile()
        result = profile.runcall(asyncio.run, run())
        pstats.Stats(profile, stream=sys.stderr).sort_stats(os.environ.get("BENCH_PROFILE_SORT", "tottime")).print_stats(30)
    else:
        result = asyncio.run(run())
    if timeline:
        print(json.dumps(timeline[::4]), file=sys.stderr)
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The child that cut the object (INGEST_CUT_PROCESS_MIN_BYTES), reaped by now: the function's memory holds both.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    result["child_peak_rss_mib"] = children.ru_maxrss / 1024
    result["child_cpu_seconds"] = children.ru_utime + children.ru_stime
    with open("/proc/self/status") as handle:  # the same high-water mark, read from the kernel directly
        hwm = [line for line in handle if line.startswith("VmHWM:")]
    result["vm_hwm_mib"] = int(hwm[0].split()[1]) / 1024 if hwm else None
    print(json.dumps(result))
    return 0


def stat_fields(pid: int) -> list[bytes]:
    """The fields of ``/proc/<pid>/stat`` after the command name (state first, then the parent's pid)."""
    with open(f"/proc/{pid}/stat", "rb") as handle:
        return handle.read().rsplit(b")", 1)[1].split()


def rss_or_zero(pid: int) -> float:
    """Resident memory of process ``pid`` in MiB, 0 once it is gone."""
    from bench.gateway_side import vm_rss_mib

    try:
        return vm_rss_mib(pid)
    except (OSError, RuntimeError):
        return 0.0


def children_of(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (a scan of /proc)."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(stat_fields(int(entry))[1]) == pid:
                    found.add(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return found


class TogetherPeak:
    """The largest RSS of a process and its children at the same moment, sampled from another process every
    ``interval`` seconds (children looked for every 0.5 s): what the function's memory holds at once, which the
    sum of each process's own peak overstates when their peaks fall at different times."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        import threading

        self.pid, self.interval, self.peak_mib = pid, interval, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "TogetherPeak":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        children: set[int] = set()
        next_scan = 0.0
        while not self._stop.is_set():
            if time.monotonic() >= next_scan:
                children, next_scan = children_of(self.pid), time.monotonic() + 0.5
            together = rss_or_zero(self.pid) + sum(rss_or_zero(child) for child in children)
            self.peak_mib = max(self.peak_mib, together)
            self._stop.wait(self.interval)


def with_repo_path(env: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """``env`` with this checkout first on ``PYTHONPATH`` (for ``python -m bench....`` children)."""
    return {**env, "PYTHONPATH": os.pathsep.join(filter(None, (str(REPO), env.get("PYTHONPATH"))))}


def process_cpu_seconds(pid: int) -> float:
    """User+system CPU time of process ``pid`` (Linux /proc)."""
    fields = stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_upstream(args: argparse.Namespace, key_id: str, public_key_file: Path) -> tuple[subprocess.Popen, str,
                                                                                        str, int]:
    """:mod:`bench.ingest_upstream` in its own process; (process, URL, ETag, object size) once it listens."""
    command = [sys.executable, "-m", "bench.ingest_upstream", "--mb", str(args.mb), "--latency", str(args.latency),
               "--storage-latency", str(args.storage_latency),
               "--public-key-file", str(public_key_file), "--key-id", key_id]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                            text=True, cwd=REPO, env=with_repo_path(os.environ))
    assert proc.stdout is not None
    line = proc.stdout.readline().split()  # building the object takes a while; the line comes once it listens
    if len(line) != 4 or line[0] != "ready":
        proc.kill()
        raise RuntimeError(f"bench.ingest_upstream did not start: {line}")
    return proc, line[1], line[2], int(line[3])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=200.0, help="object size in MB")
    parser.add_argument("--latency", type=float, default=0.3, help="emulator latency per call, seconds")
    parser.add_argument("--storage-latency", type=float, default=STORAGE_LATENCY_S,
                        help="emulator latency per Object Storage request, seconds (default %(default)s)")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="EMBEDDINGS_CONCURRENCY (default: the setting's default)")
    parser.add_argument("--format", default="float", choices=("float", "base64"),
                        help="INGEST_EMBEDDING_FORMAT (default: the setting's default, float)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker()
    sys.path.insert(0, str(REPO))
    from core.settings import Settings
    from local.fdk.process import image_allocator_environ
    from local.local_credentials import make_resource_principal_env

    concurrency = args.concurrency or Settings.from_env({}).embeddings_concurrency
    # Start the worker first, while this process is small: Linux carries a process's peak RSS over fork+exec.
    # The worker (and its cutter child) gets the image's allocator settings, so its RSS is the container's.
    worker_env = with_repo_path({**os.environ, **image_allocator_environ()})
    worker_proc = subprocess.Popen([sys.executable, "-m", "bench.ingest_throughput", "--worker"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, cwd=REPO, env=worker_env)
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    creds = make_resource_principal_env(work, region="us-chicago-1")
    public_key_file = work / "public.pem"
    public_key_file.write_text(creds.public_key_pem)
    upstream, url, etag, size = start_upstream(args, creds.key_id, public_key_file)
    env = {**creds.env, "GATEWAY_ROLE": "ingest",
           "OCI_GENAI_ENDPOINT": url, "OCI_OBJECTSTORAGE_ENDPOINT": url,
           "OCI_COMPARTMENT_ID": "ocid1.compartment.oc1..bench", "OCI_REGION": "us-chicago-1",
           "INGEST_INPUT_BUCKETS": INPUT, "INGEST_OUTPUT_BUCKET": OUTPUT, "INGEST_EMBEDDING_MODEL": MODEL,
           "INGEST_EMBEDDING_FORMAT": args.format, "EMBEDDINGS_CONCURRENCY": str(concurrency),
           "LOG_LEVEL": "WARNING"}
    event = {"eventType": "com.oraclecloud.objectstorage.createobject", "eventID": "bench",
             "data": {"resourceName": OBJECT,
                      "additionalDetails": {"bucketName": INPUT, "namespace": NAMESPACE, "eTag": etag}}}
    try:
        upstream_cpu = process_cpu_seconds(upstream.pid)
        started = time.perf_counter()
        with TogetherPeak(worker_proc.pid) as together:
            stdout, stderr = worker_proc.communicate(json.dumps({"env": env, "event": event}))
        wall = time.perf_counter() - started
        upstream_cpu = process_cpu_seconds(upstream.pid) - upstream_cpu
    finally:
        upstream.terminate()
        upstream.wait(timeout=30)
    if worker_proc.returncode != 0 or os.environ.get("BENCH_PROFILE") or os.environ.get("BENCH_RSS_TIMELINE"):
        print(stderr[-6000:], file=sys.stderr)
    if worker_proc.returncode != 0:
        return 1
    result = json.loads(stdout.strip().splitlines()[-1])
    result["together_peak_rss_mib"] = together.peak_mib
    print(json.dumps(summary(result, args, concurrency, size, wall, upstream_cpu), indent=2))
    return 0


def summary(result: dict, args: argparse.Namespace, concurrency: int, size: int, wall: float,
            upstream_cpu: float) -> dict:
    """The figures the bench table shows: rate against the upstream's bound, CPU per chunk, memory."""
    outcome = result["outcome"]
    chunks, seconds = outcome["chunks"], result["seconds"]
    bound = concurrency * 96 / args.latency  # chunks/s the upstream allows: every call slot always busy
    rate = chunks / seconds
    child_cpu = result.get("child_cpu_seconds", 0.0)  # the cutter child (0 when the object was cut in a thread)
    return {
        "object_mb": round(size / 1e6, 1),
        "format": args.format,
        "latency_s": args.latency,
        "storage_latency_s": args.storage_latency,
        "concurrency": concurrency,
        "status": outcome["status"],
        "chunks": chunks,
        "parts": outcome["parts"],
        "pipeline_seconds": round(seconds, 1),
        "process_seconds": round(wall, 1),
        "chunks_per_second": round(rate, 1),
        "bound_chunks_per_second": round(bound, 1),
        "share_of_bound": round(rate / bound, 3),
        "mb_per_second": round(size / 1e6 / seconds, 2),
        "pipeline_cpu_seconds": round(result["cpu_seconds"], 1),
        "pipeline_cpu_us_per_chunk": round(result["cpu_seconds"] / chunks * 1e6, 1) if chunks else None,
        "pipeline_cpu_share": round(result["cpu_seconds"] / seconds, 3),
        "cutter_child_cpu_seconds": round(child_cpu, 1),
        "cutter_child_cpu_us_per_chunk": round(child_cpu / chunks * 1e6, 1) if chunks else None,
        "total_cpu_us_per_chunk": round((result["cpu_seconds"] + child_cpu) / chunks * 1e6, 1) if chunks else None,
        "emulator_cpu_seconds": round(upstream_cpu, 1),
        "emulator_cpu_share": round(upstream_cpu / wall, 3),
        "worker_peak_rss_mib": round(result["peak_rss_mib"], 1),
        "cutter_child_peak_rss_mib": round(result.get("child_peak_rss_mib", 0.0), 1),
        "peak_rss_sum_mib": round(result["peak_rss_mib"] + result.get("child_peak_rss_mib", 0.0), 1),
        "peak_rss_together_mib": round(result.get("together_peak_rss_mib", 0.0), 1),
        "worker_vm_hwm_mib": result["vm_hwm_mib"],
    }


if __name__ == "__main__":
    sys.exit(main())
