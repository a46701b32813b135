"""What storing a response adds to ``POST /v1/responses``, end to end through the real fdk.

``python -m bench.responses_store [--requests N]``. One gateway function (``func.py`` under the fdk) with
``RESPONSES_BUCKET`` set, against the OCI emulator (chat and Object Storage on loopback). Requests alternate
``store: false`` / ``store: true`` (one signed PutObject before the answer), then continuations with
``previous_response_id`` (one signed GetObject of the stored conversation) against fresh requests carrying the
same conversation inline. Medians and 95th percentiles of the time to the answer; the gateway's own
``store_ms`` log field (the PutObject alone) is summarised too. Loopback Object Storage answers in well under a
millisecond, so these are the gateway's share; a real bucket adds its service time to each write and read.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from local.emulator import Emulator, serve_in_thread
from local.fdk.process import FdkProcess
from local.local_credentials import make_resource_principal_env

REPO_ROOT = Path(__file__).resolve().parents[1]
MODEL = "meta.llama-3.3-70b-instruct"
HEADERS = {"content-type": "application/json", "x-gateway-key-id": "bench", "x-gateway-allowed-models": "*"}


def _post(proc: FdkProcess, body: dict) -> tuple[float, dict]:
    started = time.perf_counter()
    result = proc.call_http("POST", "/v1/responses", HEADERS, json.dumps(body).encode())
    elapsed = (time.perf_counter() - started) * 1000
    if result.status != 200:
        raise RuntimeError(f"{result.status}: {result.body[:300]!r}")
    return elapsed, json.loads(result.body)


def _summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return f"median {statistics.median(ordered):.2f} ms, p95 {p95:.2f} ms"


def measure(requests: int) -> dict[str, list[float]]:
    emulator = Emulator()
    with tempfile.TemporaryDirectory(prefix="bench-responses-") as tmp:
        creds = make_resource_principal_env(Path(tmp) / "rp", region="us-chicago-1")
        emulator.add_key(creds.key_id, creds.public_key)
        emulator.objectstorage.create_bucket("responses")
        server = serve_in_thread(emulator)
        env = {**creds.env, "GATEWAY_ROLE": "gateway", "OCI_GENAI_ENDPOINT": server.url.rstrip("/"),
               "OCI_OBJECTSTORAGE_ENDPOINT": server.url.rstrip("/"), "OCI_REGION": "us-chicago-1",
               "OCI_COMPARTMENT_ID": "ocid1.compartment.oc1..bench", "RESPONSES_BUCKET": "emulatorns/responses",
               "LOG_LEVEL": "INFO"}
        times: dict[str, list[float]] = {"store_false": [], "store_true": [], "inline_history": [],
                                         "previous_response_id": []}
        try:
            with FdkProcess(REPO_ROOT / "func.py", env) as proc:
                for _ in range(10):  # warm: imports, connections, the namespace-free bucket reference
                    _post(proc, {"model": MODEL, "input": "warm up", "store": True})
                for i in range(requests):
                    question = f"question number {i}"
                    off, _ = _post(proc, {"model": MODEL, "input": question, "store": False})
                    on, stored = _post(proc, {"model": MODEL, "input": question, "store": True})
                    times["store_false"].append(off)
                    times["store_true"].append(on)
                    inline, _ = _post(proc, {"model": MODEL, "store": False, "input": [
                        {"role": "user", "content": question}, *stored["output"], {"role": "user", "content": "more"}]})
                    chained, _ = _post(proc, {"model": MODEL, "store": False, "input": "more",
                                              "previous_response_id": stored["id"]})
                    times["inline_history"].append(inline)
                    times["previous_response_id"].append(chained)
                times["store_ms_logged"] = [float(json.loads(line)["store_ms"]) for line in proc.log_text().splitlines()
                                            if '"response_stored"' in line]
        finally:
            server.stop()
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.responses_store", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args(argv)
    times = measure(args.requests)
    for name, values in times.items():
        print(f"{name:22} {_summary(values)} ({len(values)} samples)")
    added = statistics.median(times["store_true"]) - statistics.median(times["store_false"])
    read = statistics.median(times["previous_response_id"]) - statistics.median(times["inline_history"])
    print(f"storing adds {added:.2f} ms at the median; continuing by id instead of inline adds {read:.2f} ms")


if __name__ == "__main__":
    main()
