"""Benchmark: the composed path, one answer that is retrieval-augmented, guarded and stored, end to end.

``python -m bench.composed [--rounds 100] [--latency 0 0.05]``. Real parts throughout: PostgreSQL with pgvector
(``pgserver``), the real ingest function filling the vector store from documents in a bucket, and two gateway
functions (``func.py`` under the fdk) against the OCI emulator (Generative AI, Object Storage, ApplyGuardrails;
signatures verified; one run per ``--latency``, added to every OCI call). Both gateways store responses
(``RESPONSES_BUCKET``); one also checks input (``GUARDRAILS``: content moderation and prompt injection block,
PII masked).

The composed call, as a client makes it today (there is no ``file_search`` tool yet):
``POST /v1/vector_stores/{id}/search`` with the question, then ``POST /v1/responses`` with ``store: true`` on the
guarded gateway, its input carrying the retrieved chunks. Each round also runs the Responses call without
guardrails and without ``store`` on the other gateway, so each round trip's share is a difference of medians
from the same rounds (interleaved): retrieval = the search call (embedText + the pgvector query), the model =
the plain Responses call (one chat call), guardrails = guarded minus plain (ApplyGuardrails on the input, a
call per 5,000-character piece at once, before the model call; and on the answer after it, as ``block`` needs), store = stored minus not stored (one PutObject). The OCI calls per composed call are counted from the
emulator's records. The emulator runs in this process's thread. Prints one JSON object. A benchmark, not a
test: nothing is asserted except that every call succeeded.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
NAMESPACE, INPUT, OUTPUT, RESPONSES = "benchns", "docs", "docs-out", "responses"
CHAT_MODEL = "meta.llama-3.3-70b-instruct"
STORE_ID = f"vs_{INPUT}"
POLICY = "content_moderation=block,prompt_injection=block,pii=mask"
HEADERS = {"content-type": "application/json"}
TOPICS = ("harbour office hours", "ferry timetable", "quarterly revenue", "password resets", "pier registration",
          "storm warnings", "lighthouse logs", "fish market", "parking permits", "library loans")
QUESTION = "When does the harbour office open, and who do I write to about a ferry ticket refund?"


def document(topic: str, paragraphs: int = 12) -> bytes:
    """A few paragraphs about ``topic`` (one of them names a contact address, for the PII check to mask)."""
    lines = [f"Notes on {topic}, paragraph {n}: the desk answers questions about {topic} every weekday, "
             f"and the notice board lists the changes for the season." for n in range(paragraphs)]
    lines[3] += " Refunds are handled by jane.doe@example.com within five working days."
    return "\n\n".join(lines).encode()


def answer_input(hits: list[dict[str, Any]]) -> str:
    context = "\n\n".join(f"[{h['filename']}] " + " ".join(c["text"] for c in h["content"]) for h in hits)
    return f"Answer from these notes only.\n\n{context}\n\nQuestion: {QUESTION}"


def post(proc: Any, path: str, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    result = proc.call_http("POST", path, HEADERS, json.dumps(body).encode())
    elapsed = (time.perf_counter() - started) * 1000
    if result.status != 200:
        raise RuntimeError(f"{path} answered {result.status}: {result.body[:300]!r}")
    return elapsed, json.loads(result.body)


def one_round(plain: Any, guarded: Any, emulator: Any) -> dict[str, float]:
    """The composed call on the guarded gateway, then the same Responses call three ways for the differences."""
    before = len(emulator.requests)
    started = time.perf_counter()
    search_ms, page = post(guarded, f"/v1/vector_stores/{STORE_ID}/search", {"query": QUESTION, "max_num_results": 3})
    text = answer_input(page["data"])
    composed_answer_ms, _ = post(guarded, "/v1/responses", {"model": CHAT_MODEL, "input": text, "store": True,
                                                            "max_output_tokens": 80})
    composed_ms = (time.perf_counter() - started) * 1000
    kinds = [_kind(r.path, r.method) for r in emulator.requests[before:]]
    body = {"model": CHAT_MODEL, "input": text, "max_output_tokens": 80}
    plain_ms, _ = post(plain, "/v1/responses", {**body, "store": False})
    stored_ms, _ = post(plain, "/v1/responses", {**body, "store": True})
    guarded_ms, _ = post(guarded, "/v1/responses", {**body, "store": False})
    return {"composed": composed_ms, "search": search_ms, "composed_answer": composed_answer_ms,
            "plain": plain_ms, "stored": stored_ms, "guarded": guarded_ms,
            **{f"oci_{k}": float(kinds.count(k)) for k in ("embedText", "chat", "applyGuardrails", "putObject")}}


def _kind(path: str, method: str) -> str:
    if "/actions/" in path:
        return path.rsplit("/actions/", 1)[1]
    return "putObject" if method == "PUT" and "/o/" in path else f"{method} other"


def summarise(rounds: list[dict[str, float]], latency: float) -> dict[str, Any]:
    p50 = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    total = p50["composed"]
    shares = {"retrieval (vector store search)": p50["search"], "model (one chat call)": p50["plain"],
              "guardrails (input before the model, output after)": p50["guarded"] - p50["plain"],
              "store (PutObject)": p50["stored"] - p50["plain"]}
    shares["rest (client, two HTTP requests)"] = total - sum(shares.values())
    return {"rounds": len(rounds), "latency_ms_per_oci_call": latency * 1000,
            "composed_p50_ms": round(total, 2),
            "composed_p90_ms": round(sorted(r["composed"] for r in rounds)[int(len(rounds) * 0.9) - 1], 2),
            "shares_ms": {k: round(v, 2) for k, v in shares.items()},
            "shares_pct": {k: round(100 * v / total, 1) for k, v in shares.items()},
            "oci_calls_per_composed_call": {k[4:]: p50[k] for k in p50 if k.startswith("oci_")},
            "p50_ms": {k: round(v, 2) for k, v in p50.items() if not k.startswith("oci_")}}


def run(rounds: int, latencies: list[float]) -> list[dict[str, Any]]:
    import pgserver

    import local.emulator as emu
    from local.emulator.objectstorage import install_objectstorage
    from local.fdk.process import FdkProcess
    from local.local_credentials import make_resource_principal_env

    with tempfile.TemporaryDirectory(prefix="bench-composed-") as tmp:
        database = pgserver.get_server(Path(tmp) / "pg", cleanup_mode="delete")
        creds = make_resource_principal_env(Path(tmp) / "rp", region="us-chicago-1")
        emulator = emu.Emulator()
        emulator.add_key(creds.key_id, creds.public_key)
        objects = install_objectstorage(emulator, namespace=NAMESPACE)
        for bucket in (OUTPUT, RESPONSES):
            objects.create_bucket(bucket)
        server = emu.serve_in_thread(emulator)
        env = {**creds.env, "OCI_GENAI_ENDPOINT": server.url, "OCI_OBJECTSTORAGE_ENDPOINT": server.url,
               "OCI_REGION": "us-chicago-1", "OCI_COMPARTMENT_ID": "ocid1.compartment.oc1..bench",
               "VECTOR_STORE_URL": database.get_uri(), "INGEST_INPUT_BUCKETS": INPUT, "INGEST_OUTPUT_BUCKET": OUTPUT,
               "INGEST_CONTINUATION": "off", "RESPONSES_BUCKET": f"{NAMESPACE}/{RESPONSES}", "LOG_LEVEL": "WARNING"}
        procs: list[Any] = []
        try:
            ingest = FdkProcess(REPO / "func.py", {**env, "GATEWAY_ROLE": "ingest"}).start()
            procs.append(ingest)
            for topic in TOPICS:
                name = topic.replace(" ", "-") + ".txt"
                etag = objects.put(INPUT, name, document(topic), "text/plain")
                event = {"eventType": "com.oraclecloud.objectstorage.createobject", "eventID": name,
                         "data": {"resourceName": name, "additionalDetails": {
                             "bucketName": INPUT, "namespace": NAMESPACE, "eTag": etag}}}
                done = ingest.call_invoke(json.dumps(event), intent="cloudevent", deadline_s=120)
                if done.status != 200 or json.loads(done.body)["status"] != "embedded":
                    raise RuntimeError(f"ingesting {name}: {done.status} {done.body[:300]!r}")
            plain = FdkProcess(REPO / "func.py", env).start()
            procs.append(plain)
            guarded = FdkProcess(REPO / "func.py", {**env, "GUARDRAILS": POLICY}).start()
            procs.append(guarded)
            for _ in range(5):  # warm: imports, connections, the database pool
                one_round(plain, guarded, emulator)
            runs = []
            for latency in latencies:
                emulator.latency = latency
                samples = []
                for _ in range(rounds):
                    samples.append(one_round(plain, guarded, emulator))
                    del emulator.requests[:]
                runs.append(summarise(samples, latency))
        finally:
            for proc in procs:
                proc.cleanup()
            server.stop()
            database.cleanup()
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.composed", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--latency", type=float, nargs="+", default=[0.0, 0.05],
                        help="emulator latencies per OCI call (s), one run each")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    print(json.dumps({"runs": run(args.rounds, args.latency)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
