"""Per-request overhead and throughput: every path on the same emulator, in the same run.

Latency samples are taken **round-robin** (one call on each path, then the next round), so a
neighbour stealing CPU hurts every path alike and the ratios stay fair on a busy machine.
Each path is a client's view: the time from sending the request to holding the whole answer.

Paths: a direct call to the emulator (pre-signed replay: network + emulator only), a direct call
signed per request (what the smallest possible OCI client pays), the no-op fdk function, the
gateway through the fdk socket, both again through the HTTP front, LiteLLM's SDK (timed inside
its own process) and LiteLLM's proxy.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import httpx

from bench.stats import summary_ms
from bench.upstream import CHAT_BODY, EMBED_BASE64_BODY, EMBED_BODY, STREAM_BODY, DirectCall, Upstream, \
    captured_oci_body, direct_once, presign

KINDS = {"chat": ("/v1/chat/completions", CHAT_BODY, "/actions/chat"),
         "stream": ("/v1/chat/completions", STREAM_BODY, "/actions/chat"),
         "embed": ("/v1/embeddings", EMBED_BODY, "/actions/embedText"),
         "embed64": ("/v1/embeddings", EMBED_BASE64_BODY, "/actions/embedText")}
OCI_PATHS = {"/actions/chat": "/20231130/actions/chat", "/actions/embedText": "/20231130/actions/embedText"}
JSON = {"content-type": "application/json"}

Call = Callable[[], float]


def _timed(fn: Callable[[], Any]) -> Call:
    def run() -> float:
        started = time.perf_counter()
        fn()
        return time.perf_counter() - started
    return run


def _check(status: int, what: str, body: bytes = b"") -> None:
    if status != 200:
        raise RuntimeError(f"{what} answered {status}: {body[:200]!r}")


def fdk_call(proc: Any, kind: str) -> Call:
    path, body, _ = KINDS[kind]
    raw = json.dumps(body).encode()

    def run() -> None:
        result = proc.call_http("POST", path, JSON, raw, deadline_s=60)
        _check(result.status, f"fdk {kind}", result.body)
    return _timed(run)


def http_call(client: httpx.Client, base_url: str, kind: str, headers: dict[str, str] | None = None) -> Call:
    path, body, _ = KINDS[kind]
    raw = json.dumps(body).encode()
    send_headers = {**JSON, **(headers or {})}

    def run() -> None:
        if body.get("stream"):
            with client.stream("POST", base_url + path, content=raw, headers=send_headers) as response:
                data = b"".join(response.iter_raw())
                _check(response.status_code, f"{base_url} {kind}", data)
                if b"[DONE]" not in data:
                    raise RuntimeError(f"{base_url} stream ended without [DONE]")
            return
        response = client.post(base_url + path, content=raw, headers=send_headers)
        _check(response.status_code, f"{base_url} {kind}", response.content)
    return _timed(run)


RESIGN_AFTER_S = 240.0
"""A pre-signed call is signed again after this long (the emulator, like OCI, refuses a date over 5 minutes old)."""


class ClientCpu:
    """CPU the direct calls' thread used (sending, receiving and reading the answer), per call: what any client of
    the upstream spends, which the gateway's CPU also holds."""

    def __init__(self) -> None:
        self.seconds, self.calls = 0.0, 0

    def ms_per_call(self) -> float | None:
        return self.seconds / self.calls * 1000 if self.calls else None


def direct_call(client: httpx.Client, upstream: Upstream, call: DirectCall, cpu: ClientCpu | None = None) -> Call:
    current = {"call": call, "signed": time.monotonic()}

    def run() -> None:
        if time.monotonic() - current["signed"] > RESIGN_AFTER_S:  # a busy machine makes a latency run long
            old = current["call"]
            current["call"] = presign(upstream, old.path, json.loads(old.body), stream=old.stream)
            current["signed"] = time.monotonic()
        started = time.thread_time()
        _check(direct_once(client, upstream, current["call"]), "direct")
        if cpu is not None:
            cpu.seconds, cpu.calls = cpu.seconds + time.thread_time() - started, cpu.calls + 1
    return _timed(run)


def direct_signed_call(client: httpx.Client, upstream: Upstream, call: DirectCall) -> Call:
    """Sign every call (RSA-SHA256 with the API key), like the smallest real OCI client must."""
    from core.oci.credentials.api_key import load_api_key
    from core.oci.signing import signing_headers

    assert upstream.api is not None
    key = load_api_key(upstream.api.env).signing_key()
    url = upstream.url + call.path
    base = {k: v for k, v in call.headers.items() if k in ("content-type", "accept")}

    def run() -> None:
        signed = signing_headers("POST", url, base, call.body, key)
        fresh = DirectCall(call.path, call.body, {**base, **signed}, call.stream)
        _check(direct_once(client, upstream, fresh), "direct (signed)")
    return _timed(run)


def prepare_direct_calls(upstream: Upstream, gateway_fdk: Any, bodies_dir: Path) -> dict[str, DirectCall]:
    """Send each kind of request through the gateway twice, keep the OCI body the second sent upstream (to
    replay directly) and the answer it gave (for the no-op function to return): a warm container's request (the
    first base64 embeddings call of a process also asks OCI for floats, to compare)."""
    calls: dict[str, DirectCall] = {}
    for kind, (path, body, suffix) in KINDS.items():
        for _ in range(2):
            upstream.control("DELETE", "/requests")
            result = gateway_fdk.call_http("POST", path, JSON, json.dumps(body).encode(), deadline_s=60)
            _check(result.status, f"gateway {kind}", result.body)
        (bodies_dir / kind).write_bytes(result.body)
        oci_body = captured_oci_body(upstream, suffix)
        calls[kind] = presign(upstream, OCI_PATHS[suffix], oci_body, stream=bool(body.get("stream")))
    upstream.control("DELETE", "/requests")
    return calls


@dataclass
class LatencyRun:
    """Samples per kind and path, and their summaries."""

    samples: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, dict[str, dict[str, float]]]:
        return {kind: {path: summary_ms(values) for path, values in paths.items() if values}
                for kind, paths in self.samples.items()}


def measure_latency(paths: dict[str, dict[str, Call]], rounds: int, warmup: int, log: Any = print) -> LatencyRun:
    """``paths[kind][name]`` -> a timed call; ``rounds`` samples each, interleaved, after ``warmup`` rounds."""
    run = LatencyRun()
    for kind, calls in paths.items():
        run.samples[kind] = {name: [] for name in calls}
        for index in range(warmup + rounds):
            for name, call in calls.items():
                try:
                    elapsed = call()
                except Exception as exc:  # noqa: BLE001 - a failed sample is counted, not fatal
                    key = f"{kind}/{name}"
                    run.errors[key] = run.errors.get(key, 0) + 1
                    if run.errors[key] == 1:
                        log(f"  ! {key}: {exc}")
                    continue
                if index >= warmup:
                    run.samples[kind][name].append(elapsed)
        log(f"  {kind}: {rounds} rounds x {len(calls)} paths done")
    return run


# ---------------------------------------------------------------------------------------------
# Throughput
# ---------------------------------------------------------------------------------------------


async def _throughput_async(url: str, kind: str, concurrency: int, total: int,
                            headers: dict[str, str] | None) -> dict[str, float]:
    path, body, _ = KINDS[kind]
    raw = json.dumps(body).encode()
    send_headers = {**JSON, **(headers or {})}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    failures = 0
    remaining = total

    async with httpx.AsyncClient(limits=limits, timeout=120) as client:
        async def worker() -> None:
            nonlocal remaining, failures
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                try:
                    response = await client.post(url + path, content=raw, headers=send_headers)
                    if response.status_code != 200:
                        failures += 1
                        continue
                except httpx.HTTPError:
                    failures += 1
                    continue
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    result = {"concurrency": concurrency, "requests": total, "ok": len(latencies), "failed": failures,
              "wall_s": wall, "rps": len(latencies) / wall if wall else 0.0}
    if latencies:
        result.update(summary_ms(latencies))
    return result


def measure_throughput(url: str, kind: str, concurrency: int, total: int,
                       headers: dict[str, str] | None = None, warmup: int = 0) -> dict[str, float]:
    """Completed requests per second with ``concurrency`` clients sending ``total`` requests in all."""
    if warmup:
        asyncio.run(_throughput_async(url, kind, concurrency, warmup, headers))
    return asyncio.run(_throughput_async(url, kind, concurrency, total, headers))
