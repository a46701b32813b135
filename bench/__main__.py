"""``python -m bench``: the gateway against LiteLLM's ``oci/`` provider, one run, one table.

Prints the table, the comparison with LiteLLM and with the previous committed run (``bench/RESULTS.json``),
and writes the table to ``bench/RESULTS.md`` (and the figures to ``bench/RESULTS.json``). ``--quick`` (few
samples) writes to ``bench/quick/`` instead, never over the committed results. From make:
``make bench`` or ``make bench ARGS=--quick`` (``make bench --quick`` would be an option to make itself).

A benchmark, never a test: nothing here runs under pytest, and nothing is asserted except that each
measured call succeeded. Everything runs on loopback against the OCI emulator; every loop is bounded.

    .venv/bin/python -m bench [--quick] [--rounds N] [--no-litellm] [--load-requests N] [--out PATH]
                              [--skip SECTION,...] [--baseline RESULTS.json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench import footprint, gateway_side, load_faults, overhead
from bench.compare import compare
from bench.report import render
from bench.upstream import Upstream
from local.fdk.process import FdkProcess

BENCH_DIR = Path(__file__).resolve().parent
COMMITTED = BENCH_DIR / "RESULTS.md"
SECTIONS = {
    "gateway": ("footprint", "cold", "proxy_start", "rounds", "latency", "latency_errors", "cpu_ms_per_call",
                "gateway_warm_vm_hwm_mib", "proxy_vm_hwm_mib", "throughput", "load"),
    "ingestion": ("ingestion",), "vector_stores": ("vector_stores",), "batching": ("batching",),
    "composed": ("composed",), "roles": ("roles",),
}
"""What ``--skip`` names: a section and the result keys it fills."""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples everywhere (a smoke run)")
    parser.add_argument("--rounds", type=int, default=None, help="latency samples per path (default 200)")
    parser.add_argument("--cold-runs", type=int, default=None, help="cold starts per side (default 11 / 5)")
    parser.add_argument("--proxy-starts", type=int, default=None, help="LiteLLM proxy starts (default 2)")
    parser.add_argument("--no-litellm", action="store_true", help="skip LiteLLM (no venv needed)")
    parser.add_argument("--load-requests", type=int, default=2000)
    parser.add_argument("--load-concurrency", type=int, default=32)
    parser.add_argument("--pool", type=int, default=32, help="fdk processes behind the front for throughput/load")
    parser.add_argument("--out", default=None, help="where the table goes (default bench/RESULTS.md; with --quick "
                                                     "bench/quick/RESULTS.md); the figures go beside it as .json")
    parser.add_argument("--baseline", default=str(COMMITTED.with_suffix(".json")),
                        help="the run to compare with (default: the committed bench/RESULTS.json)")
    parser.add_argument("--skip", default="", help=f"comma-separated sections not run this time: their figures are "
                                                   f"kept from --keep-from and the table says so "
                                                   f"({', '.join(SECTIONS)})")
    parser.add_argument("--keep-from", default=None, help="the run whose figures --skip keeps (default: --baseline)")
    args = parser.parse_args(argv)
    args.skip = {name.strip() for name in args.skip.split(",") if name.strip()}
    unknown = args.skip - set(SECTIONS)
    if unknown:
        parser.error(f"--skip: unknown sections {sorted(unknown)}; known: {', '.join(SECTIONS)}")
    if args.out is None:
        args.out = str(BENCH_DIR / "quick" / "RESULTS.md" if args.quick else COMMITTED)
    return args


def cold_starts(runs_gateway: int, runs_litellm: int, config: Path | None) -> dict[str, Any]:
    """The gateway's (floor, no-op function, HTTP, TLS: :mod:`bench.cold_start`), then LiteLLM's."""
    from bench import cold_start, litellm_side

    detail = cold_start.measure(runs_gateway, log)
    litellm = [litellm_side.cold_start(config) for _ in range(runs_litellm)] if config is not None else []
    log(f"  cold starts: litellm x{len(litellm)}")

    def med(rows: list[dict[str, float]], key: str) -> float | None:
        return statistics.median(r[key] for r in rows) if rows else None

    return {
        "gateway": {**detail["http"], "runs": detail["runs"]},
        "detail": detail,
        "litellm": {"spawn_to_answer_s": med(litellm, "spawn_to_answer_s"), "import_s": med(litellm, "import_s"),
                    "first_call_s": med(litellm, "first_call_s"), "vm_hwm_mib": med(litellm, "vm_hwm_mib"),
                    "modules": med(litellm, "modules"), "runs": len(litellm),
                    "all_s": [round(r["spawn_to_answer_s"], 3) for r in litellm]},
    }


def latency_and_throughput(upstream: Upstream, args: argparse.Namespace, work: Path,
                           config: Path | None, proxy: Any) -> dict[str, Any]:
    from bench import litellm_side

    rounds = args.rounds or (30 if args.quick else 200)
    warmup = 5 if args.quick else 20
    env = upstream.gateway_env(LOG_LEVEL="INFO")
    bodies = work / "noop-bodies"
    bodies.mkdir()
    result: dict[str, Any] = {"rounds": rounds}
    gateway_fdk = FdkProcess(gateway_side.GATEWAY_FUNC, env).start()
    noop_fdk = gateway_front = noop_front = sdk = None
    try:
        direct_calls = overhead.prepare_direct_calls(upstream, gateway_fdk, bodies)
        noop_env = {"NOOP_BODIES_DIR": str(bodies)}
        noop_fdk = FdkProcess(gateway_side.NOOP_FUNC, noop_env).start()
        gateway_front = gateway_side.FrontProcess(env, workers=1).__enter__()
        noop_front = gateway_side.FrontProcess(noop_env, workers=1, func=gateway_side.NOOP_FUNC).__enter__()
        sdk = litellm_side.SdkWorker(config) if config is not None else None
        client = httpx.Client(timeout=60)
        paths: dict[str, dict[str, overhead.Call]] = {}
        client_cpu = {kind: overhead.ClientCpu() for kind in overhead.KINDS}
        for kind in overhead.KINDS:
            row: dict[str, overhead.Call] = {
                "direct": overhead.direct_call(client, upstream, direct_calls[kind], client_cpu[kind]),
                "direct_signed": overhead.direct_signed_call(client, upstream, direct_calls[kind]),
                "noop_fdk": overhead.fdk_call(noop_fdk, kind),
                "gateway_fdk": overhead.fdk_call(gateway_fdk, kind),
                "noop_front": overhead.http_call(client, noop_front.url, kind),
                "gateway_front": overhead.http_call(client, gateway_front.url, kind),
            }
            if sdk is not None:
                row["litellm_sdk"] = (lambda what: lambda: sdk.call(what))(kind)
            if proxy is not None:
                row["litellm_proxy"] = overhead.http_call(client, proxy.url, kind, proxy.headers)
            paths[kind] = row
        log(f"latency: {rounds} interleaved rounds per path")
        result["latency"], result["latency_errors"], result["cpu_ms_per_call"] = {}, {}, {}
        for kind in paths:
            before = {"gateway_fdk": gateway_fdk.cpu_seconds(), "noop_fdk": noop_fdk.cpu_seconds()}
            run = overhead.measure_latency({kind: paths[kind]}, rounds, warmup, log)
            calls = warmup + rounds
            result["cpu_ms_per_call"][kind] = {
                "gateway_fdk": (gateway_fdk.cpu_seconds() - before["gateway_fdk"]) / calls * 1000,
                "noop_fdk": (noop_fdk.cpu_seconds() - before["noop_fdk"]) / calls * 1000,
                "direct": client_cpu[kind].ms_per_call(),
            }
            result["latency"].update(run.summary())
            result["latency_errors"].update(run.errors)
        assert gateway_fdk.pid is not None
        result["gateway_warm_vm_hwm_mib"] = gateway_side.vm_hwm_mib(gateway_fdk.pid)
        if proxy is not None and proxy.proc is not None:
            result["proxy_vm_hwm_mib"] = gateway_side.vm_hwm_mib(proxy.proc.pid)
        client.close()
    finally:
        for thing in (sdk,):
            if thing is not None:
                thing.close()
        for front in (gateway_front, noop_front):
            if front is not None:
                front.__exit__()
        for proc in (gateway_fdk, noop_fdk):
            if proc is not None:
                proc.cleanup()

    levels = (1, 8, 32)
    per_level = {1: 100, 8: 400, 32: 800} if args.quick else {1: 300, 8: 1000, 32: 2000}
    result["throughput"] = {"gateway_front": [], "litellm_proxy": []}
    log(f"throughput: front with a pool of {args.pool} fdk processes")
    with gateway_side.FrontProcess(env, workers=args.pool) as front:
        # Every process answers a few calls first: a process's first call pays for lazy imports.
        overhead.measure_throughput(front.url, "chat", args.pool, args.pool * 3)
        for level in levels:
            result["throughput"]["gateway_front"].append(
                overhead.measure_throughput(front.url, "chat", level, per_level[level], warmup=level * 2))
        log(f"load with faults: {args.load_requests} requests at {args.load_concurrency} clients")
        result["load"] = load_faults.run_load(upstream, front.url, total=args.load_requests,
                                              concurrency=args.load_concurrency, deadline_s=30.0)
    if proxy is not None:
        for level in levels:
            result["throughput"]["litellm_proxy"].append(
                overhead.measure_throughput(proxy.url, "chat", level, per_level[level], proxy.headers,
                                            warmup=level * 2))
    return result


def ingestion(quick: bool, log_fn: Any = log, module: str = "bench.ingest_throughput",
              quick_args: tuple[str, ...] = ("--mb", "20"), args: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """Results of ``module`` (``bench.ingest_throughput``, ``bench.vector_store``) run on its own.

    It is run as ``python -m <module>`` (its own argument parser, emulator or database, and its
    peak-memory figures must not include this process); its last output is a JSON object.
    """
    if importlib.util.find_spec(module) is None:
        log_fn(f"{module} is absent; skipped")
        return None
    command = [sys.executable, "-m", module, *args] + (list(quick_args) if quick else [])
    log_fn(f"ingestion: {' '.join(command[1:])}")
    done = subprocess.run(command, capture_output=True, text=True, cwd=BENCH_DIR.parent, timeout=1800,
                          stdin=subprocess.DEVNULL)
    start = done.stdout.find("{")
    if done.returncode != 0 or start < 0:
        log_fn(f"{module} failed ({done.returncode}): {done.stderr[-800:]}")
        return {"error": f"{module} exited {done.returncode}"}
    try:
        return json.loads(done.stdout[start:])
    except ValueError:
        return {"error": f"{module} printed no JSON result"}


def ingestion_both(quick: bool) -> dict[str, Any] | None:
    """The ingestion run (Object Storage at its own latency), and the share again with Object Storage as slow as
    Generative AI (the pessimistic model earlier runs used), kept under ``storage_at_upstream_latency``."""
    result = ingestion(quick)
    if result and "error" not in result:
        slow = ingestion(quick, args=("--storage-latency", str(result["latency_s"])))
        if slow and "error" not in slow:
            result["storage_at_upstream_latency"] = {key: slow[key] for key in (
                "storage_latency_s", "share_of_bound", "chunks_per_second", "pipeline_seconds",
                "peak_rss_together_mib")}
    return result


def batching(quick: bool) -> dict[str, Any]:
    """``bench.embeddings_batching`` (one 1000-input request vs sequential 96-input calls) in its own process,
    with the image's allocator settings, and its own emulator."""
    from local.fdk.process import image_allocator_environ

    log("embeddings batching: bench.embeddings_batching")
    env = {**os.environ, **image_allocator_environ()}
    done = subprocess.run([sys.executable, "-m", "bench.embeddings_batching", "--runs", "1" if quick else "5",
                           "--json"], capture_output=True, text=True, cwd=BENCH_DIR.parent, env=env, timeout=900,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        log(f"embeddings batching failed ({done.returncode}): {done.stderr[-800:]}")
        return {"error": f"bench.embeddings_batching exited {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def roles() -> dict[str, Any]:
    from bench import roles as role_bench

    log("roles: what each GATEWAY_ROLE loads (bench.roles)")
    return role_bench.measure()


def gateway_sections(args: argparse.Namespace) -> dict[str, Any]:
    """Footprint, cold starts, per-request latency, throughput and load: the gateway beside LiteLLM."""
    results: dict[str, Any] = {}
    config: Path | None = None
    proxy = None
    if not args.no_litellm:
        from bench import litellm_side

        litellm_side.ensure_venv(log)
    log("footprint: installing requirements.txt as the Dockerfile does")
    results["footprint"] = {"gateway": footprint.runtime_install_mib()}
    if not args.no_litellm:
        from bench import litellm_side

        results["footprint"]["litellm"] = footprint.site_packages_mib(litellm_side.VENV)
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, Upstream() as upstream:
        work = Path(tmp)
        if not args.no_litellm:
            from bench import litellm_side

            config = litellm_side.worker_config(upstream, work)
        log("cold starts")
        results["cold"] = cold_starts(args.cold_runs or (3 if args.quick else 11),
                                      args.cold_runs or (2 if args.quick else 5), config)
        if not args.no_litellm:
            from bench import litellm_side

            starts = []
            for index in range(args.proxy_starts or (1 if args.quick else 2)):
                if proxy is not None:
                    proxy.stop()
                proxy = litellm_side.Proxy(upstream, work).start()
                starts.append((proxy.start_s, proxy.first_answer_s))
                log(f"  litellm proxy start {index + 1}: {proxy.start_s:.1f} s to healthy")
            results["proxy_start"] = {"start_s": statistics.median(s for s, _ in starts),
                                      "first_answer_s": statistics.median(f for _, f in starts),
                                      "all_s": [round(s, 2) for s, _ in starts]}
        try:
            results.update(latency_and_throughput(upstream, args, work, config, proxy))
        finally:
            if proxy is not None:
                proxy.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} CPUs, Python {platform.python_version()}",
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "quick": args.quick,
    }
    baseline = Path(args.baseline)
    previous = json.loads(baseline.read_text()) if baseline.is_file() else {}
    source = Path(args.keep_from) if args.keep_from else baseline
    earlier = json.loads(source.read_text()) if source.is_file() else {}
    if "gateway" not in args.skip:
        results.update(gateway_sections(args))
    runs = {"ingestion": lambda: ingestion_both(args.quick),
            "vector_stores": lambda: ingestion(args.quick, module="bench.vector_store",
                                               quick_args=("--chunks", "10000", "--queries", "50", "--csv-mb", "8")),
            "batching": lambda: batching(args.quick),
            "composed": lambda: ingestion(args.quick, module="bench.composed", quick_args=("--rounds", "20")),
            "roles": roles}
    for name, run in runs.items():
        if name not in args.skip:
            results[name] = run()
    kept = sorted(args.skip)
    for name in kept:
        for key in SECTIONS[name]:
            if key in earlier:
                results[key] = earlier[key]
    if kept:
        results["kept"] = {"sections": kept, "from": source.name, "when": earlier.get("when")}
    results["elapsed_s"] = time.perf_counter() - started
    if previous:
        results["previous"] = {"file": baseline.name, "when": previous.get("when"), "quick": previous.get("quick"),
                               "rows": compare(previous, results)}
    text = render(results)
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    out.with_suffix(".json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    log(f"wrote {out} ({results['elapsed_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
