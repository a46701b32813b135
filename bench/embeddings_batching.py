"""Benchmark: one 1000-input embeddings request, concurrent ≤96 batches vs sequential 96-input calls.

Runs the gateway core (:func:`core.embeddings.create_embeddings`, signed calls through the
pooled client) against the local OCI emulator (its own process) with a fixed upstream
latency per call, and
prints both wall times and their ratio. A benchmark, not a test: nothing is asserted.

    .venv/bin/python -m bench.embeddings_batching [--latency 0.25] [--inputs 1000] [--concurrency 8] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

MODEL = "cohere.embed-v4.0"  # Embed v3 was retired by OCI on 2026-10-21
BATCH = 96


class EmulatorProcess:
    """``python -m local.emulator`` in its own process, so its CPU work does not share the gateway's GIL."""

    def __init__(self, key_id: str, public_key: Any) -> None:
        self.key_id = key_id
        self.public_key = public_key
        self.proc: subprocess.Popen[str] | None = None
        self.tmp = tempfile.TemporaryDirectory(prefix="bench-emulator-")

    def __enter__(self) -> str:
        from cryptography.hazmat.primitives import serialization

        pem = Path(self.tmp.name) / "public.pem"
        pem.write_bytes(self.public_key.public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "local.emulator", "--port", "0", "--public-key-file", str(pem),
             "--key-id", self.key_id],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=Path(__file__).resolve().parents[1],
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "http://" not in line:
            self.__exit__()
            raise RuntimeError(f"the emulator did not start: {line!r}")
        return line.strip().split()[-1].rstrip("/")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.tmp.cleanup()


def configure(emulator_url: str, env: dict[str, str], concurrency: int) -> None:
    """Point the gateway core at the emulator with throwaway credentials (this process only)."""
    from core import runtime

    for key in [k for k in os.environ if k.startswith(("OCI_", "MODEL_ALIASES", "EMBEDDINGS_", "SERVED_MODELS"))]:
        del os.environ[key]
    os.environ.update(env)
    os.environ.update(OCI_GENAI_ENDPOINT=emulator_url, OCI_COMPARTMENT_ID="ocid1.compartment.oc1..bench",
                      EMBEDDINGS_CONCURRENCY=str(concurrency), LOG_LEVEL="WARNING")
    runtime.reset()


async def one_request(texts: list[str]) -> float:
    from core.embeddings import create_embeddings

    start = time.perf_counter()
    result = await create_embeddings({"model": MODEL, "input": texts, "encoding_format": "float"})
    elapsed = time.perf_counter() - start
    assert len(result.body["data"]) == len(texts)
    return elapsed


async def sequential(texts: list[str]) -> float:
    """The same work as a client that splits into 96-input requests and sends them one after another."""
    start = time.perf_counter()
    for offset in range(0, len(texts), BATCH):
        await one_request(texts[offset:offset + BATCH])
    return time.perf_counter() - start


async def measure(texts: list[str], runs: int) -> tuple[list[float], list[float]]:
    from core import runtime

    await one_request(texts[:2])  # warm the connection pool and credentials
    together = [await one_request(texts) for _ in range(runs)]
    apart = [await sequential(texts) for _ in range(runs)]
    await runtime.close_client()
    return together, apart


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.25, help="emulator latency per upstream call (s)")
    parser.add_argument("--inputs", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8, help="EMBEDDINGS_CONCURRENCY")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)

    from local.local_credentials import make_api_key_env

    creds = make_api_key_env()
    with EmulatorProcess(creds.key_id, creds.public_key) as url:
        httpx.post(f"{url}/_emulator/latency", json={"seconds": args.latency}, timeout=10).raise_for_status()
        configure(url, creds.env, args.concurrency)
        texts = [f"benchmark document {i}" for i in range(args.inputs)]
        together, apart = asyncio.run(measure(texts, args.runs))
    calls = -(-args.inputs // BATCH)
    best_together, best_apart = min(together), min(apart)
    report = {
        "inputs": args.inputs, "upstream_calls": calls, "latency_s": args.latency, "concurrency": args.concurrency,
        "concurrent_s": round(best_together, 3), "sequential_s": round(best_apart, 3),
        "ratio": round(best_apart / best_together, 2),
    }
    print(f"{args.inputs} inputs = {calls} upstream calls of <= {BATCH}, {args.latency * 1000:.0f} ms upstream "
          f"latency each, EMBEDDINGS_CONCURRENCY={args.concurrency}, best of {args.runs}")
    print(f"  one request, concurrent batches : {best_together:.3f} s (median {statistics.median(together):.3f})")
    print(f"  sequential 96-input requests    : {best_apart:.3f} s (median {statistics.median(apart):.3f})")
    print(f"  ratio sequential / concurrent   : {report['ratio']:.2f}x")
    return report


if __name__ == "__main__":
    main()
