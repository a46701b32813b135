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
    rows += _embedding_targets(latency, results.get("cpu_ms_per_call") or {})
    rows += _cold_targets(cold.get("detail") or {})
    batching = results.get("batching") or {}
    if batching.get("bound_s"):
        rows.append((f"{batching['inputs']}-input embeddings request within 1.2x of ceil(ceil(n/96)/concurrency) x "
                     "upstream latency",
                     f"float {batching['concurrent_s']:.3f} s = {batching['to_bound']:.2f}x, base64 "
                     f"{batching['concurrent_base64_s']:.3f} s = {batching['to_bound_base64']:.2f}x of "
                     f"{batching['bound_s']:.3f} s", "<= 1.2x",
                     max(batching["to_bound"], batching["to_bound_base64"]) <= 1.2))
    rows += _ingestion_targets(results.get("ingestion") or {})
    roles = results.get("roles") or {}
    if roles.get("roles"):
        needs = ", ".join(f"{name} {role['needed_mib']} MiB" for name, role in roles["roles"].items())
        rows.append(("one rank-file reader; only the data the functions need in the image; what each role needs",
                     f"runtime install {roles['install_mib']} MiB (token rank files {_mib_text(roles['token_ranks_mib'])}, "
                     f"no bpe-openai wheel); each role's import path needs: {needs}", "(report)", None))
    for composed in (results.get("composed") or {}).get("runs", []):
        shares = ", ".join(f"{k} {v:.0f}%" for k, v in composed["shares_pct"].items())
        rows.append((f"composed path: vector-store search + guarded, stored `/v1/responses`, end to end, emulator "
                     f"latency {composed['latency_ms_per_oci_call']:.0f} ms per OCI call",
                     f"{fmt_ms(composed['composed_p50_ms'])} ms p50 ({shares})", "(measured; no target)", None))
    if results.get("previous"):
        rows.append(("`make bench` prints the comparison with LiteLLM and with the previous run; "
                     "`make bench ARGS=--quick` writes to bench/quick/", "this table, the LiteLLM rows below and the "
                     "last section; docs/benchmarks.md", "(done)", True))
    load = results.get("load")
    if load:
        rows.append((f"{load['total']} requests at {load['concurrency']} clients, 20% 429 + 5% 500: none hung/lost",
                     f"ok {load['ok']}, proper errors {load['proper_errors']}, bad {load['bad']}, "
                     f"lost {load['lost']}, late {load['late']}", "bad = lost = late = 0", load["passed"]))
    return rows


INGEST_SHARE, INGEST_RSS_MIB = 0.90, 256


def _mib_text(sizes: Any) -> str:
    """``{"a": 0.74, "b": 1.62}`` -> ``a 0.74 + b 1.62 MiB``; a number as it is."""
    if isinstance(sizes, dict):
        return " + ".join(f"{name} {size}" for name, size in sizes.items()) + " MiB"
    return f"{sizes} MiB"


def _ingestion_targets(ingestion: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """Share of the upstream bound at the configured concurrency, and peak RSS on the large object."""
    if ingestion.get("share_of_bound") is None:
        return []
    share = ingestion["share_of_bound"]
    # The function's memory holds the process and the child cutting the object at once: the largest sum of the
    # two sampled together (older runs: each one's peak, summed, an upper bound).
    rss = ingestion.get("peak_rss_together_mib") or ingestion.get("peak_rss_sum_mib", ingestion.get("worker_vm_hwm_mib"))
    child = ingestion.get("cutter_child_cpu_us_per_chunk")
    child_cpu = f" + the cutting child's {child:.0f} µs/chunk" if child else ""
    storage = ingestion.get("storage_latency_s")
    storage_text = f", Object Storage at {storage * 1000:.0f} ms" if storage is not None else ""
    slow = ingestion.get("storage_at_upstream_latency") or {}
    slow_text = (f"; {slow['share_of_bound'] * 100:.0f}% with Object Storage at "
                 f"{slow['storage_latency_s'] * 1000:.0f} ms too" if slow else "")
    rows: list[tuple[str, str, str, bool | None]] = [(
        f"ingestion of a {ingestion['object_mb']:g} MB text object at {ingestion['latency_s'] * 1000:.0f} ms upstream "
        f"latency{storage_text}, EMBEDDINGS_CONCURRENCY={ingestion['concurrency']}: share of the bound "
        f"({ingestion['concurrency']} x 96 / {ingestion['latency_s']:g} s = {ingestion['bound_chunks_per_second']:.0f} "
        "chunks/s)",
        f"{share * 100:.0f}% ({ingestion['chunks_per_second']:.0f} chunks/s{slow_text}); pipeline CPU "
        f"{ingestion['pipeline_cpu_us_per_chunk']:.0f} µs/chunk ({ingestion['pipeline_cpu_share'] * 100:.0f}% of a CPU)"
        f"{child_cpu}, "
        f"emulator CPU share {ingestion['emulator_cpu_share'] * 100:.0f}%",
        f">= {INGEST_SHARE * 100:.0f}%", share >= INGEST_SHARE)]
    if rss is not None:
        parts = f"{ingestion['parts']} parts"
        if ingestion.get("cutter_child_peak_rss_mib"):
            together = "together, sampled every 10 ms; " if ingestion.get("peak_rss_together_mib") else ""
            parts += (f"; {together}each one's peak: function process {ingestion['worker_peak_rss_mib']:.1f} + "
                      f"cutting child {ingestion['cutter_child_peak_rss_mib']:.1f}")
        rows.append((f"ingestion peak RSS, {ingestion['object_mb']:g} MB text object, parts streamed out",
                     f"{rss:.1f} MiB ({parts})", f"<= {INGEST_RSS_MIB} MiB", rss <= INGEST_RSS_MIB))
    return rows


EMBEDDING_TARGETS = (("embed", "float", 3.0), ("embed64", "base64", 8.0))


def _embedding_targets(latency: dict[str, Any], cpu: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """Own work per 96-input embeddings call: gateway - direct - no-op (p50), with the CPU figure beside it."""
    rows: list[tuple[str, str, str, bool | None]] = []
    for kind, form, limit in EMBEDDING_TARGETS:
        gateway, direct, noop = (_p50(latency, kind, p) for p in ("gateway_fdk", "direct", "noop_fdk"))
        if None in (gateway, direct, noop):
            continue
        ours = gateway - direct - noop  # type: ignore[operator]
        used = cpu.get(kind)
        own_cpu = used["gateway_fdk"] - used["noop_fdk"] - (used.get("direct") or 0.0) if used else None
        beyond = " beyond a client" if used and used.get("direct") is not None else ""
        cpu_text = f"; CPU{beyond} {fmt_ms(own_cpu)} ms" if own_cpu is not None else ""
        litellm = _p50(latency, kind, "litellm_sdk")
        if litellm is not None:
            cpu_text += f"; LiteLLM SDK adds {fmt_ms(litellm - direct)} ms p50"  # type: ignore[operator]
        # A p50 difference can fall below the noise on a busy machine; the CPU our code used cannot.
        rows.append((f"embeddings own work per 96-input call, {form}, cohere.embed-v4.0 (1536)",
                     f"{fmt_ms(ours)} ms p50{cpu_text}", f"<= {limit:g} ms p50 (and CPU)",
                     ours <= limit and (own_cpu is None or own_cpu <= limit)))
    return rows


def _cold_targets(detail: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """Cold start over TLS against max(0.20 s, floor + 40 ms)."""
    tls, floor = (detail.get("tls") or {}).get("spawn_to_answer_s"), detail.get("floor_s")
    if tls is None or floor is None:
        return []
    limit = max(0.200, floor + 0.040)
    return [("cold start over TLS <= 0.20 s or the floor + 40 ms",
             f"{fmt_s(tls)} (floor {fmt_s(floor)}: floor + {(tls - floor) * 1000:.0f} ms)",
             f"<= {fmt_s(limit)}", tls <= limit)]


def _mark(met: bool | None) -> str:
    return "" if met is None else ("met" if met else "**NOT met**")


def render(results: dict[str, Any]) -> str:
    out: list[str] = ["# Benchmark results", ""]
    out.append(f"Run {results.get('when')} on {results.get('machine')}"
               + (" — **quick run** (few samples)" if results.get("quick") else "")
               + f"; {results.get('elapsed_s', 0):.0f} s in all. Regenerate with `make bench` (`make bench ARGS=--quick` "
               "for a short run, written to bench/quick/).")
    out.append("Everything talks to the same local OCI emulator (own process, loopback, TCP_NODELAY); "
               "LiteLLM 1.110.2 signs with an API key file (manual credentials), the gateway with a resource "
               "principal, as in OCI Functions.")
    kept = results.get("kept")
    if kept:
        out.append(f"Not run this time (`--skip`): {', '.join(kept['sections'])}; those figures are the run of "
                   f"{kept.get('when')} ({kept.get('from')}).")
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
    out += _cold_detail(cold.get("detail") or {})
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
                        "including its HTTP client and the RSA signature; *beyond a client* also subtracts what the "
                        "direct call's thread spent sending the request and reading the same answer (any client's "
                        "share, the CPU counterpart of the p50 own work).", ""]
            out.append(markdown_table(
                ["request", "gateway fdk process", "no-op fdk process", "ours", "direct client", "ours beyond a client"],
                [(KIND_LABELS.get(k, k), fmt_ms(v["gateway_fdk"]), fmt_ms(v["noop_fdk"]),
                  fmt_ms(v["gateway_fdk"] - v["noop_fdk"]), fmt_ms(v.get("direct")),
                  fmt_ms(v["gateway_fdk"] - v["noop_fdk"] - v["direct"]) if v.get("direct") is not None else "")
                 for k, v in cpu.items()]))
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
        if ingestion.get("share_of_bound") is not None:
            out.append("\nThe emulator runs in its own process (`bench/ingest_upstream.py`, vectors precomputed in OCI's "
                       "number format); CPU figures are each process's user+system time over the run. Why the share "
                       "stays under the bound: docs/decisions.md, \"Ingestion keeps every embedding call slot busy\".")
    stores = results.get("vector_stores")
    if stores:
        out += ["", "## Vector stores (`bench/vector_store.py`, PostgreSQL + pgvector from `pgserver`)", ""]
        out.append(markdown_table(["metric", "value"], [(k, v) for k, v in stores.items()]))
    out += _composed((results.get("composed") or {}).get("runs", []))
    out += _batching(results.get("batching") or {})
    out += _roles(results.get("roles") or {})
    out += _previous(results.get("previous") or {})
    return "\n".join(out)


def _cold_detail(detail: dict[str, Any]) -> list[str]:
    """The floor first, then the no-op function and the gateway over HTTP and TLS (medians, wall and CPU)."""
    if not detail:
        return []
    out = ["", f"Cold start against its floor (`bench/cold_start.py`, median of {detail['runs']}, runs alternating; "
               "CPU is the process's user+system time):", ""]
    rows = [("interpreter (`python -c pass`)", fmt_s(detail["interpreter_s"]), fmt_s(detail["interpreter_cpu_s"]), ""),
            ("**floor**: interpreter + the imports a chat needs", fmt_s(detail["floor_s"]),
             fmt_s(detail["floor_cpu_s"]), ", ".join(f"`{m}`" for m in detail["imports"]))]
    labels = {"noop": "no-op fdk function: spawn -> first answer",
              "http": "gateway: spawn -> first chat answered, emulator over HTTP",
              "tls": "**gateway: same over TLS** (certifi's roots as a hashed directory, as in the image)",
              "tls_cafile": "gateway over TLS, the same roots as one file (before)"}
    for key, label in labels.items():
        row = detail.get(key)
        if row:
            rows.append((label, fmt_s(row["spawn_to_answer_s"]), fmt_s(row.get("cpu_s")),
                         f"socket ready {fmt_s(row['ready_s'])}; peak RSS {fmt_mib(row['vm_hwm_mib'])}; "
                         f"runs {row['all_s']}"))
    out.append(markdown_table(["what", "wall", "CPU", "notes"], rows))
    return out


def _composed(runs: list[dict[str, Any]]) -> list[str]:
    if not runs:
        return []
    first = runs[0]
    out = ["", "## The composed path (`bench/composed.py`)", "",
           "Vector-store search (pgvector) then `/v1/responses` with `store: true` on a gateway with `GUARDRAILS`, "
           f"its input carrying the 3 retrieved chunks; {first['rounds']} interleaved rounds per emulator latency. "
           "Shares are differences of medians: the plain Responses call (one chat call), guarded minus plain, stored "
           "minus not stored. OCI calls per composed call: "
           + ", ".join(f"{k} {v:g}" for k, v in first["oci_calls_per_composed_call"].items()) + ".", ""]
    header = ["round trip"] + [f"{r['latency_ms_per_oci_call']:.0f} ms per OCI call: ms (p50), share" for r in runs]
    rows = [[name] + [f"{fmt_ms(r['shares_ms'][name])}, {r['shares_pct'][name]:.0f}%" for r in runs]
            for name in first["shares_ms"]]
    rows.append(["**end to end** (p50; p90)"]
                + [f"{fmt_ms(r['composed_p50_ms'])}; {fmt_ms(r['composed_p90_ms'])}" for r in runs])
    out.append(markdown_table(header, rows))
    return out


def _batching(batching: dict[str, Any]) -> list[str]:
    if not batching.get("inputs"):
        return []
    out = ["", "## Embeddings batching (`bench/embeddings_batching.py`)", "",
           "One request of many inputs, against the bound the upstream allows: ceil(ceil(inputs / 96) / "
           "EMBEDDINGS_CONCURRENCY) rounds of the upstream latency. The emulator answers from precomputed vectors "
           "(its own process); the gateway side runs with the image's allocator settings. Medians.", ""]
    out.append(markdown_table(
        ["inputs", "upstream calls", "upstream latency", "EMBEDDINGS_CONCURRENCY", "bound", "one request, float",
         "one request, base64", "sequential 96-input requests", "speed-up"],
        [(batching["inputs"], batching["upstream_calls"], f"{batching['latency_s'] * 1000:.0f} ms",
          batching["concurrency"], fmt_s(batching.get("bound_s")),
          f"{fmt_s(batching['concurrent_s'])} ({batching.get('to_bound', 0):.2f}x)",
          f"{fmt_s(batching.get('concurrent_base64_s'))} ({batching.get('to_bound_base64', 0):.2f}x)",
          fmt_s(batching["sequential_s"]), f"{batching['ratio']:.2f}x")]))
    return out


def _roles(roles: dict[str, Any]) -> list[str]:
    if not roles.get("roles"):
        return []
    out = ["", "## What each role loads (`bench/roles.py`)", "",
           f"Runtime dependencies as the Dockerfile installs them: {roles['install_mib']} MiB (token rank files "
           f"{_mib_text(roles['token_ranks_mib'])} included), code {roles['code_mib']} MiB. Each role's handlers and lazy "
           "paths imported in a fresh process; the packages it ends with:", ""]
    rows = []
    for name, role in roles["roles"].items():
        packages = ", ".join(f"{k} {v}" for k, v in role["packages"].items())
        rows.append((name, f"{role['needed_mib']} MiB", f"{role['unused_mib']} MiB", packages,
                     ", ".join(role["encodings"]) or "-"))
    out.append(markdown_table(["role", "needs", "would not ship in a per-role image", "packages (MiB)",
                               "rank files read"], rows))
    return out


def _previous(previous: dict[str, Any]) -> list[str]:
    if not previous.get("rows"):
        return []
    quick = " (a quick run)" if previous.get("quick") else ""
    out = ["", f"## Compared with the previous run ({previous['file']}, {previous.get('when')}{quick})", "",
           "Figures both runs have; a busy shared machine moves them by tens of percent on its own.", ""]
    out.append(markdown_table(["figure", "previous", "this run", "change"], previous["rows"]))
    return out
