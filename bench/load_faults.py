"""Load with faults: N requests at C concurrent clients through the front while the emulator
answers a seeded share of upstream calls with 429 and 500.

Every request must end in one of two ways within its deadline: a 200 chat completion (after the
gateway's retries) or a proper OpenAI-shaped error. Anything else is counted against the gateway:
a hang (no answer before the client's own timeout, deadline + 10 s), a lost request (the client
got no HTTP answer at all), a malformed answer, or an answer after the deadline.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from typing import Any

import httpx

from bench.upstream import CHAT_BODY, Upstream


def classify(status: int, body: bytes) -> str:
    """``ok``, ``error:<status>:<code>`` for a proper OpenAI error, or ``malformed:<status>``."""
    try:
        payload = json.loads(body)
    except ValueError:
        return f"malformed:{status}"
    if status == 200:
        ok = isinstance(payload, dict) and payload.get("object") == "chat.completion" and payload.get("choices")
        return "ok" if ok else "malformed:200"
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict) and {"message", "type", "code"} <= set(error):
        return f"error:{status}:{error.get('code')}"
    return f"malformed:{status}"


async def _run(url: str, total: int, concurrency: int, deadline_s: float) -> dict[str, Any]:
    raw = json.dumps(CHAT_BODY).encode()
    outcomes: Counter[str] = Counter()
    slowest = 0.0
    late = 0
    next_index = 0
    finished = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=deadline_s + 10) as client:
        async def worker() -> None:
            nonlocal next_index, finished, slowest, late
            while next_index < total:
                next_index += 1
                started = time.perf_counter()
                try:
                    response = await client.post(url + "/v1/chat/completions", content=raw,
                                                 headers={"content-type": "application/json"})
                    outcome = classify(response.status_code, response.content)
                except httpx.TimeoutException:
                    outcome = "hung"
                except httpx.HTTPError as exc:
                    outcome = f"lost:{type(exc).__name__}"
                elapsed = time.perf_counter() - started
                slowest = max(slowest, elapsed)
                if elapsed > deadline_s and outcome != "hung":
                    late += 1
                outcomes[outcome] += 1
                finished += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return {"outcomes": dict(outcomes), "answered": finished, "wall_s": wall, "slowest_s": slowest, "late": late}


def run_load(upstream: Upstream, front_url: str, *, total: int = 2000, concurrency: int = 32,
             deadline_s: float = 30.0, probabilities: dict[int, float] | None = None, seed: int = 7) -> dict[str, Any]:
    """Inject random faults, fire the load, read back what the emulator saw, switch faults off."""
    probabilities = probabilities or {429: 0.2, 500: 0.05}
    upstream.reset()
    upstream.control("POST", "/faults/random",
                     {"probabilities": {str(k): v for k, v in probabilities.items()}, "seed": seed})
    try:
        result = asyncio.run(_run(front_url, total, concurrency, deadline_s))
    finally:
        upstream.control("POST", "/faults/random", {})
    recorded = [r for r in upstream.recorded() if r["path"].endswith("/actions/chat")]
    faults = Counter(str(r["fault"]) for r in recorded if r.get("fault"))
    upstream.control("DELETE", "/requests")
    outcomes = result["outcomes"]
    ok = outcomes.get("ok", 0)
    proper_errors = sum(v for k, v in outcomes.items() if k.startswith("error:"))
    result.update(
        total=total, concurrency=concurrency, deadline_s=deadline_s, probabilities=probabilities,
        upstream_attempts=len(recorded), injected=dict(faults), ok=ok, proper_errors=proper_errors,
        bad=total - ok - proper_errors, lost=total - result["answered"],
        hung=outcomes.get("hung", 0),
    )
    result["passed"] = result["bad"] == 0 and result["lost"] == 0 and result["late"] == 0
    return result
