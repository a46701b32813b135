"""Benchmark: what guardrails cost the gateway per chat or Responses call, in its own CPU and in extra OCI round trips.

The real ``func.py`` runs under the real fdk (one process, its CPU read from /proc) against the OCI
emulator in its own process; each scenario sends the same chat (or Responses) request ``--calls`` times with a key
policy in ``X-Gateway-Guardrails`` and reports, per call: the fdk process's CPU (user+system), the wall
time p50, and the OCI calls the emulator recorded (chat and applyGuardrails). The user turn is ~600
characters holding one e-mail address, so ``pii=mask`` has something to mask. A benchmark, not a
test: nothing is asserted except that every call succeeded.

    .venv/bin/python -m bench.guardrails [--calls 200] [--latency 0] [--out bench/RESULTS.md]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from bench.upstream import CHAT_MODEL, Upstream
from local.fdk.process import FdkProcess

REPO_ROOT = Path(__file__).resolve().parents[1]
TEXT = ("Please summarise the following note for the team. " * 10 + "Reply to jane.doe@example.com by Friday.")
CHAT, RESPONSES = "/v1/chat/completions", "/v1/responses"
SCENARIOS: list[tuple[str, str | None, bool, str]] = [
    ("no guardrails", None, False, CHAT),
    ("all checks inform (input alongside the model call)", "cm=inform,pi=inform,pii=inform", False, CHAT),
    ("pii mask, others block (input before the model call)", "cm=block,pi=block,pii=mask", False, CHAT),
    ("streamed, no guardrails", None, True, CHAT),
    ("streamed, all checks inform (relayed, checked after)", "cm=inform,pi=inform,pii=inform", True, CHAT),
    ("streamed, pii mask, others block (buffered)", "cm=block,pi=block,pii=mask", True, CHAT),
    ("Responses (bridge), no guardrails", None, False, RESPONSES),
    ("Responses (bridge), all checks inform", "cm=inform,pi=inform,pii=inform", False, RESPONSES),
    ("Responses (bridge), pii mask, others block", "cm=block,pi=block,pii=mask", False, RESPONSES),
    ("Responses (bridge) streamed, no guardrails", None, True, RESPONSES),
    ("Responses (bridge) streamed, pii mask, others block (buffered)", "cm=block,pi=block,pii=mask", True, RESPONSES),
]
SECTION = "## Guardrails cost (`bench/guardrails.py`)"


def request_body(route: str, stream: bool) -> bytes:
    if route == RESPONSES:
        return json.dumps({"model": CHAT_MODEL, "input": TEXT, "max_output_tokens": 60, "stream": stream,
                           "store": False}).encode()
    return json.dumps({"model": CHAT_MODEL, "messages": [{"role": "user", "content": TEXT}], "max_tokens": 60,
                       "stream": stream}).encode()


def one_scenario(proc: FdkProcess, upstream: Upstream, policy: str | None, stream: bool, calls: int,
                 route: str = CHAT) -> dict[str, Any]:
    body = request_body(route, stream)
    headers = {"content-type": "application/json", **({"x-gateway-guardrails": policy} if policy else {})}
    for _ in range(5):  # warm: connections, imports of the guardrail modules
        warm = proc.call_http("POST", route, headers, body)
        assert warm.status == 200, warm.body[:300]
    upstream.control("DELETE", "/requests")
    walls: list[float] = []
    cpu_before = proc.cpu_seconds()
    for _ in range(calls):
        start = time.perf_counter()
        result = proc.call_http("POST", route, headers, body)
        walls.append(time.perf_counter() - start)
        assert result.status == 200, result.body[:300]
    cpu = proc.cpu_seconds() - cpu_before
    recorded = upstream.recorded()
    guard_calls = sum(1 for r in recorded if r["path"].endswith("/actions/applyGuardrails"))
    chat_calls = sum(1 for r in recorded if r["path"].endswith("/actions/chat"))
    return {"cpu_ms": 1000 * cpu / calls, "p50_ms": 1000 * statistics.median(walls),
            "chat_calls": chat_calls / calls, "guardrail_calls": guard_calls / calls}


def render(rows: list[dict[str, Any]], calls: int, latency: float, load: float) -> str:
    base = {(r["route"], r["stream"]): r for r in reversed(rows) if r["policy"] is None}
    lines = [SECTION, "",
             f"{calls} calls per row, one fdk process, emulator latency {latency * 1000:.0f} ms per OCI call; "
             "CPU is the fdk process's user+system time per call (10 ms clock ticks summed over the run); "
             f"the machine's 1-minute load average was {load:.1f} when the run started.", "",
             "| scenario | key policy | fdk CPU / call | added CPU | wall p50 | OCI chat calls | extra ApplyGuardrails "
             "round trips |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        added = row["cpu_ms"] - base[(row["route"], row["stream"])]["cpu_ms"]
        lines.append(f"| {row['name']} | `{row['policy'] or '-'}` | {row['cpu_ms']:.2f} ms | {added:+.2f} ms | "
                     f"{row['p50_ms']:.2f} ms | {row['chat_calls']:.0f} | {row['guardrail_calls']:.0f} |")
    return "\n".join(lines) + "\n"


def write(out: Path, section: str) -> None:
    text = out.read_text(encoding="utf-8") if out.exists() else "# Benchmark results\n"
    if SECTION in text:
        start = text.index(SECTION)
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + section + (text[end + 1:] if end != -1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    out.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.0, help="emulator latency per OCI call (s)")
    parser.add_argument("--out", default=str(REPO_ROOT / "bench" / "RESULTS.md"))
    args = parser.parse_args(argv)
    rows = []
    load = os.getloadavg()[0]
    with Upstream() as upstream:
        if args.latency:
            upstream.control("POST", "/latency", {"seconds": args.latency})
        with FdkProcess(REPO_ROOT / "func.py", upstream.gateway_env(LOG_LEVEL="WARNING")) as proc:
            for name, policy, stream, route in SCENARIOS:
                row = one_scenario(proc, upstream, policy, stream, args.calls, route)
                rows.append({"name": name, "policy": policy, "stream": stream, "route": route, **row})
                print(f"{name:55s} cpu {row['cpu_ms']:6.2f} ms  p50 {row['p50_ms']:6.2f} ms  "
                      f"guardrail calls {row['guardrail_calls']:.0f}", flush=True)
    write(Path(args.out), render(rows, args.calls, args.latency, load))
    return rows


if __name__ == "__main__":
    main()
