"""Turn one run's results into the Markdown that is printed and written to ``bench/RESULTS.md``.

Pure: a dict in, text out. Targets are ratios of numbers measured in the same run.
"""

from __future__ import annotations

from typing import Any

from bench.stats import fmt_mib, fmt_ms, fmt_s, markdown_table

PATH_LABELS = {
    "direct": "direct to emulator (pre-signed replay)",
    "direct_signed": "direct to emulator, signed per call",
    "noop_fdk": "no-op fdk function (socket)",
    "gateway_fdk": "**gateway, fdk socket**",
    "noop_front": "no-op function via HTTP front",
    "gateway_front": "**gateway via HTTP front**",
    "litellm_sdk": "LiteLLM SDK `completion`/`embedding`",
    "litellm_proxy": "LiteLLM proxy",
}
KIND_LABELS = {"chat": "chat", "stream": "streaming chat", "embed": "embedding, 96 inputs, float",
               "embed64": "embedding, 96 inputs, base64"}
BASELINE = {"noop_fdk": None, "noop_front": None, "direct": None}


def _p50(latency: dict[str, Any], kind: str, path: str) -> float | None:
    entry = latency.get(kind, {}).get(path)
    return None if entry is None else entry["p50"]


def targets(results: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """(target, measured, rule, met) rows."""
    rows: list[tuple[str, str, str, bool | None]] = []
    cold = results.get("cold", {})
    gw_cold = cold.get("gateway", {}).get("spawn_to_answer_s")
    ll_cold = cold.get("litellm", {}).get("spawn_to_answer_s")
    if gw_cold and ll_cold:
        ratio = ll_cold / gw_cold
        rows.append(("cold start >= 10x faster than `import litellm` + first call",
                     f"{ratio:.1f}x ({fmt_s(ll_cold)} / {fmt_s(gw_cold)})", ">= 10x", ratio >= 10))
    rss = cold.get("gateway", {}).get("vm_hwm_mib")
    if rss is not None:
        rows.append(("peak RSS after the first request < 64 MiB", fmt_mib(rss), "< 64 MiB", rss < 64))
    latency = results.get("latency", {})
    direct = _p50(latency, "chat", "direct")
    gateway = _p50(latency, "chat", "gateway_fdk")
    proxy = _p50(latency, "chat", "litellm_proxy")
    noop = _p50(latency, "chat", "noop_fdk")
    if None not in (direct, gateway, proxy):
        added_gw, added_proxy = gateway - direct, proxy - direct  # type: ignore[operator]
        if added_gw <= 0:
            rows.append(("added p50 >= 15x lower than LiteLLM proxy (chat)",
                         f"gateway adds <= 0 ms (noise floor), proxy {fmt_ms(added_proxy)} ms", ">= 15x", True))
        else:
            ratio = added_proxy / added_gw
            rows.append(("added p50 >= 15x lower than LiteLLM proxy (chat)",
                         f"{ratio:.1f}x ({fmt_ms(added_proxy)} ms / {fmt_ms(added_gw)} ms)", ">= 15x", ratio >= 15))
    if None not in (direct, gateway, noop):
        ours = gateway - direct - noop  # type: ignore[operator]
        rows.append(("our code adds <= 1 ms p50 over the no-op fdk function (chat)",
                     f"{fmt_ms(ours)} ms = {fmt_ms(gateway)} - {fmt_ms(direct)} direct - {fmt_ms(noop)} no-op",
                     "<= 1 ms", ours <= 1.0))
        signed = _p50(latency, "chat", "direct_signed")
        if signed is not None:
            rows.append(("  same, counted from a direct call that signs (RSA) per request",
                         f"{fmt_ms(gateway - signed - noop)} ms", "(context)", None))  # type: ignore[operator]
    load = results.get("load")
    if load:
        rows.append((f"{load['total']} requests at {load['concurrency']} clients, 20% 429 + 5% 500: none hung/lost",
                     f"ok {load['ok']}, proper errors {load['proper_errors']}, bad {load['bad']}, "
                     f"lost {load['lost']}, late {load['late']}", "bad = lost = late = 0", load["passed"]))
    return rows


def _mark(met: bool | None) -> str:
    return "" if met is None else ("met" if met else "**NOT met**")


def render(results: dict[str, Any]) -> str:
    out: list[str] = ["# Benchmark results", ""]
    out.append(f"Run {results.get('when')} on {results.get('machine')}"
               + (" — **quick run** (few samples)" if results.get("quick") else "")
               + f"; {results.get('elapsed_s', 0):.0f} s in all. Regenerate with `.venv/bin/python -m bench`.")
    out.append("Everything talks to the same local OCI emulator (own process, loopback, TCP_NODELAY); "
               "LiteLLM 1.110.2 signs with an API key file (manual credentials), the gateway with a resource "
               "principal, as in OCI Functions.")
    out += ["", "## Targets (ratios from this run)", ""]
    out.append(markdown_table(["target", "measured", "rule", "result"],
                              [(t, m, r, _mark(ok)) for t, m, r, ok in targets(results)]))

    cold = results.get("cold", {})
    fp = results.get("footprint", {})
    gw, ll = cold.get("gateway", {}), cold.get("litellm", {})
    proxy = results.get("proxy_start")
    out += ["", "## Cold start and footprint", ""]
    rows = [
        ("gateway: spawn `fdk func.py handler` -> first chat answered (fdk socket)",
         fmt_s(gw.get("spawn_to_answer_s")), fmt_mib(gw.get("vm_hwm_mib")),
         f"{fp.get('gateway', {}).get('installed_mib', 0):.1f} MiB runtime deps "
         f"(+ {fp.get('gateway', {}).get('gateway_code_mib', 0):.1f} MiB code)",
         f"median of {gw.get('runs')}; socket ready at {fmt_s(gw.get('ready_s'))}; runs {gw.get('all_s')}"),
    ]
    if ll.get("runs"):
        lfp = fp.get("litellm", {})
        rows.append(("LiteLLM SDK: spawn python -> `import litellm` -> first `completion(model=\"oci/...\")`",
                     fmt_s(ll.get("spawn_to_answer_s")), fmt_mib(ll.get("vm_hwm_mib")),
                     f"{lfp.get('site_packages_mib', 0):.0f} MiB venv (litellm/ {lfp.get('litellm_pkg_mib', 0):.0f} MiB)",
                     f"median of {ll.get('runs')}; import {fmt_s(ll.get('import_s'))}, first call "
                     f"{fmt_s(ll.get('first_call_s'))}, {ll.get('modules'):.0f} modules; runs {ll.get('all_s')}"))
    if proxy:
        rows.append(("LiteLLM proxy: spawn `litellm --config` -> `/health/liveliness` 200",
                     fmt_s(proxy.get("start_s")), fmt_mib(results.get("proxy_vm_hwm_mib")), "same venv",
                     f"first chat answered at {fmt_s(proxy.get('first_answer_s'))}; starts {proxy.get('all_s')}; "
                     "RSS is VmHWM after the latency runs"))
    out.append(markdown_table(["what", "time", "peak RSS (VmHWM)", "installed size", "notes"], rows))
    if results.get("gateway_warm_vm_hwm_mib"):
        out.append(f"\nGateway fdk process after every latency run (chat, streaming, 96-input embeddings): "
                   f"VmHWM {fmt_mib(results['gateway_warm_vm_hwm_mib'])}.")

    latency = results.get("latency", {})
    if latency:
        out += ["", f"## Per-request latency ({results.get('rounds')} interleaved samples per path, ms)", ""]
        out.append("*added* = this path's p50 minus the direct pre-signed call's p50 for the same request.")
        for kind, paths in latency.items():
            direct = paths.get("direct", {}).get("p50")
            rows = []
            for path, summary in paths.items():
                added = "" if path in BASELINE or direct is None else fmt_ms(summary["p50"] - direct)
                rows.append((PATH_LABELS.get(path, path), fmt_ms(summary["p50"]), fmt_ms(summary["p90"]),
                             fmt_ms(summary["p99"]), added))
            out += ["", f"### {KIND_LABELS.get(kind, kind)}", ""]
            out.append(markdown_table(["path", "p50", "p90", "p99", "added p50"], rows))
        cpu = results.get("cpu_ms_per_call") or {}
        if cpu:
            out += ["", "CPU time per call inside the function process (utime+stime from /proc; immune to waiting "
                        "on a busy machine): *ours* = gateway minus no-op, i.e. everything our code does per call "
                        "including its HTTP client and the RSA signature.", ""]
            out.append(markdown_table(
                ["request", "gateway fdk process", "no-op fdk process", "ours"],
                [(KIND_LABELS.get(k, k), fmt_ms(v["gateway_fdk"]), fmt_ms(v["noop_fdk"]),
                  fmt_ms(v["gateway_fdk"] - v["noop_fdk"])) for k, v in cpu.items()]))
        if results.get("latency_errors"):
            out.append(f"\nFailed samples (excluded): {results['latency_errors']}")

    throughput = results.get("throughput", {})
    if throughput:
        out += ["", "## Throughput (non-streaming chat, requests/s)", ""]
        rows = []
        for name, levels in throughput.items():
            for level in levels:
                rows.append((PATH_LABELS.get(name, name), level["concurrency"], f"{level['rps']:.0f}",
                             fmt_ms(level.get("p50")), fmt_ms(level.get("p99")),
                             f"{level['ok']}/{level['requests']}"))
        out.append(markdown_table(["server", "clients", "req/s", "p50 ms", "p99 ms", "ok"], rows))
        out.append("\nThe front has a pool of fdk processes (Fn runs one call per container); the LiteLLM proxy "
                   "runs as it starts by default (one uvicorn worker). Clients, servers and the emulator share "
                   "the same CPUs.")

    load = results.get("load")
    if load:
        out += ["", "## Load with faults", ""]
        out.append(f"{load['total']} chat requests, {load['concurrency']} concurrent clients, through the front "
                   f"(pool of fdk processes), emulator answering {load['probabilities']} of upstream calls with "
                   f"those statuses (seeded); function deadline {load['deadline_s']:.0f} s.")
        out.append("")
        out.append(markdown_table(
            ["answered", "200 ok", "proper OpenAI errors", "malformed", "hung", "lost", "after deadline",
             "slowest", "upstream attempts", "faults injected", "wall"],
            [(load["answered"], load["ok"], load["proper_errors"], load["bad"] - load["hung"], load["hung"],
              load["lost"], load["late"], fmt_s(load["slowest_s"]), load["upstream_attempts"],
              load["injected"], fmt_s(load["wall_s"]))]))
        out.append(f"\nOutcomes: {load['outcomes']}")

    out += ["", "## Ingestion", ""]
    ingestion = results.get("ingestion")
    if ingestion is None:
        out.append("Skipped: `bench/ingest_throughput.py` is not present in this tree.")
    else:
        out.append(markdown_table(["metric", "value"], [(k, v) for k, v in ingestion.items()]))
    batching = results.get("batching")
    if batching:
        out += ["", "## Embeddings batching (`bench/embeddings_batching.py`)", ""]
        out.append(markdown_table(
            ["inputs", "upstream calls", "upstream latency", "EMBEDDINGS_CONCURRENCY", "one request (concurrent batches)",
             "sequential 96-input requests", "speed-up"],
            [(batching["inputs"], batching["upstream_calls"], f"{batching['latency_s'] * 1000:.0f} ms",
              batching["concurrency"], f"{batching['concurrent_s']:.3f} s", f"{batching['sequential_s']:.3f} s",
              f"{batching['ratio']:.2f}x")]))
    return "\n".join(out)
