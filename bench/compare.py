"""This run against the previous one (the committed ``bench/RESULTS.json``): pure, two dicts in, rows out.

Only figures both runs have are compared; a figure a run lacks is left out, not shown as zero. Runs on a
busy shared machine move by tens of percent on their own, so the change column is a pointer to look,
not a verdict.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

Getter = Callable[[dict[str, Any]], float | None]


def _get(results: dict[str, Any], *path: Any) -> Any:
    value: Any = results
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _added(kind: str, path: str) -> Getter:
    def get(results: dict[str, Any]) -> float | None:
        mine, direct = _get(results, "latency", kind, path, "p50"), _get(results, "latency", kind, "direct", "p50")
        return None if mine is None or direct is None else mine - direct
    return get


def _own_cpu(kind: str, *, beyond_client: bool = False) -> Getter:
    def get(results: dict[str, Any]) -> float | None:
        cpu = _get(results, "cpu_ms_per_call", kind)
        if not cpu or (beyond_client and cpu.get("direct") is None):
            return None
        return cpu["gateway_fdk"] - cpu["noop_fdk"] - (cpu["direct"] if beyond_client else 0.0)
    return get


def _throughput(level: int) -> Getter:
    def get(results: dict[str, Any]) -> float | None:
        for row in _get(results, "throughput", "gateway_front") or []:
            if row.get("concurrency") == level:
                return float(row["rps"])
        return None
    return get


def _path(*keys: Any) -> Getter:
    return lambda results: _get(results, *keys)


KINDS = {"chat": "chat", "stream": "streaming chat", "embed": "embeddings float", "embed64": "embeddings base64"}


def metrics() -> Iterator[tuple[str, str, Getter, bool]]:
    """(label, unit, getter, lower_is_better)."""
    yield "cold start, spawn -> first chat (HTTP)", "s", _path("cold", "gateway", "spawn_to_answer_s"), True
    yield "peak RSS after the first request", "MiB", _path("cold", "gateway", "vm_hwm_mib"), True
    yield "runtime dependencies installed", "MiB", _path("footprint", "gateway", "installed_mib"), True
    for kind, label in KINDS.items():
        yield f"gateway added p50, {label}", "ms", _added(kind, "gateway_fdk"), True
        yield f"gateway CPU per call (ours), {label}", "ms", _own_cpu(kind), True
        yield f"gateway CPU per call beyond a client of OCI, {label}", "ms", _own_cpu(kind, beyond_client=True), True
        yield f"LiteLLM SDK added p50, {label}", "ms", _added(kind, "litellm_sdk"), True
    for level in (1, 8, 32):
        yield f"throughput via the front, {level} clients", "req/s", _throughput(level), False
    yield "1000-input embeddings request", "s", _path("batching", "concurrent_s"), True
    yield "ingestion, share of the upstream bound", "", _path("ingestion", "share_of_bound"), False
    yield "ingestion, pipeline CPU per chunk", "µs", _path("ingestion", "pipeline_cpu_us_per_chunk"), True
    yield "ingestion worker peak RSS", "MiB", _path("ingestion", "worker_peak_rss_mib"), True
    yield "ingestion peak RSS, function process + cutting child", "MiB", _path("ingestion", "peak_rss_sum_mib"), True
    yield "ingestion peak RSS, both at once", "MiB", _path("ingestion", "peak_rss_together_mib"), True


def compare(previous: dict[str, Any], current: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(what, previous, now, change) for every figure both runs have."""
    rows = []
    for label, unit, get, lower_better in metrics():
        before, now = get(previous), get(current)
        if before is None or now is None:
            continue
        change = "" if not before else f"{(now - before) / abs(before) * 100:+.0f}%"
        if change and (now < before) == lower_better and now != before:
            change += " (better)"
        rows.append((label, f"{before:.3g} {unit}", f"{now:.3g} {unit}", change))
    return rows
