"""Benchmark: one 1000-input embeddings request, concurrent ≤96 batches vs sequential 96-input calls.

Runs the gateway core (:func:`core.embeddings.create_embeddings`, signed calls through the
pooled client) against the local OCI emulator (its own process, answering from precomputed
vectors so that its own work does not count) with a fixed upstream latency per call, and
prints the wall times, the bound the upstream allows (``ceil(ceil(inputs / 96) / concurrency)``
rounds of the latency) and the ratio to it, for ``float`` and ``base64``. A benchmark, not a
test: nothing is asserted.

    .venv/bin/python -m bench.embeddings_batching [--latency 0.25] [--inputs 1000] [--concurrency 8] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
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


async def one_request(texts: list[str], encoding: str = "float") -> float:
    from core.embeddings import create_embeddings

    start = time.perf_counter()
    result = await create_embeddings({"model": MODEL, "input": texts, "encoding_format": encoding})
    elapsed = time.perf_counter() - start
    assert result.inputs == len(texts)
    return elapsed


async def sequential(texts: list[str]) -> float:
    """The same work as a client that splits into 96-input requests and sends them one after another."""
    start = time.perf_counter()
    for offset in range(0, len(texts), BATCH):
        await one_request(texts[offset:offset + BATCH])
    return time.perf_counter() - start


async def measure(texts: list[str], runs: int) -> tuple[list[float], list[float], list[float]]:
    from core import runtime

    await one_request(texts[:2])  # warm the connection pool and credentials
    await one_request(texts)  # and one connection per concurrent call
    together = [await one_request(texts) for _ in range(runs)]
    together64 = [await one_request(texts, "base64") for _ in range(runs)]
    apart = [await sequential(texts) for _ in range(runs)]
    await runtime.close_client()
    return together, together64, apart


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.25, help="emulator latency per upstream call (s)")
    parser.add_argument("--inputs", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8, help="EMBEDDINGS_CONCURRENCY")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="end with the figures as one JSON line")
    args = parser.parse_args(argv)

    from local.local_credentials import make_api_key_env

    creds = make_api_key_env()
    with EmulatorProcess(creds.key_id, creds.public_key) as url:
        # Each answer at the latency after its request arrived: the bound's upstream, the emulator's own work included.
        httpx.post(f"{url}/_emulator/latency", json={"seconds": args.latency, "includesWork": True},
                   timeout=10).raise_for_status()
        httpx.post(f"{url}/_emulator/embeddings", json={"precomputed": True}, timeout=10).raise_for_status()
        configure(url, creds.env, args.concurrency)
        texts = [f"benchmark document {i}" for i in range(args.inputs)]
        together, together64, apart = asyncio.run(measure(texts, args.runs))
    calls = -(-args.inputs // BATCH)
    bound = -(-calls // args.concurrency) * args.latency
    report = {
        "inputs": args.inputs, "upstream_calls": calls, "latency_s": args.latency, "concurrency": args.concurrency,
        "bound_s": round(bound, 3),
        "concurrent_s": round(statistics.median(together), 3),
        "concurrent_base64_s": round(statistics.median(together64), 3),
        "sequential_s": round(statistics.median(apart), 3),
        "ratio": round(statistics.median(apart) / statistics.median(together), 2),
        "to_bound": round(statistics.median(together) / bound, 3),
        "to_bound_base64": round(statistics.median(together64) / bound, 3),
        "runs_s": [round(t, 3) for t in together], "runs_base64_s": [round(t, 3) for t in together64],
    }
    print(f"{args.inputs} inputs = {calls} upstream calls of <= {BATCH}, {args.latency * 1000:.0f} ms upstream "
          f"latency each, EMBEDDINGS_CONCURRENCY={args.concurrency}, median of {args.runs}")
    print(f"  bound: ceil({calls} / {args.concurrency}) x {args.latency:.3f} s = {bound:.3f} s")
    print(f"  one request, float              : {report['concurrent_s']:.3f} s ({report['to_bound']:.3f}x the bound)")
    print(f"  one request, base64             : {report['concurrent_base64_s']:.3f} s "
          f"({report['to_bound_base64']:.3f}x the bound)")
    print(f"  sequential 96-input requests    : {report['sequential_s']:.3f} s")
    print(f"  ratio sequential / concurrent   : {report['ratio']:.2f}x")
    if args.json:
        print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
