"""The own-work row of ``bench/RESULTS.md`` alone: what the gateway's code adds per call, in a few minutes.

    .venv/bin/python -m bench.own_work [--rounds N] [--kinds chat,stream,embed,embed64] [--repo PATH]
                                       [--compare PATH] [--profile FILE]

The same measurement as the full run (``python -m bench``): the direct pre-signed call, the no-op fdk
function and the gateway's fdk process, sampled round-robin against one emulator, plus the CPU time
each fdk process spends per call (/proc). ``--repo`` measures another checkout of the gateway (e.g. the
commit before a change) with this benchmark code, so two versions compare on the same machine; ``--compare``
adds a second gateway (another checkout) to the same rounds, so both are sampled side by side under the same noise.
``--profile`` runs the gateway under cProfile and writes its stats when the process ends.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from bench import gateway_side, overhead
from bench.stats import summary_ms
from bench.upstream import Upstream
from local.fdk.process import FdkProcess


def _profiled_func(repo: Path, stats_file: str, work: Path) -> Path:
    """A func.py that runs the gateway under cProfile (after its imports) and dumps the stats at exit."""
    wrapper = work / "profiled_func.py"
    wrapper.write_text(
        "import atexit, cProfile, signal, sys\n"
        f"sys.path.insert(0, {str(repo)!r})\n"
        "from adapters.fdk import handler\n"
        "import time\nprofile = cProfile.Profile(time.process_time)\n"
        "profile.enable()  # the whole process from here: the fdk, the event loop and the gateway\n"
        f"atexit.register(lambda: profile.dump_stats({stats_file!r}))\n"
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\n")
    return wrapper


def run(rounds: int, kinds: list[str], repo: Path, profile: str | None,
        compare: Path | None = None, compare_env: dict[str, str] | None = None) -> dict[str, Any]:
    results: dict[str, Any] = {"rounds": rounds, "repo": str(repo), "compare": str(compare) if compare else None}
    with tempfile.TemporaryDirectory(prefix="bench-own-") as tmp, Upstream() as upstream:
        work = Path(tmp)
        func = _profiled_func(repo, profile, work) if profile else repo / "func.py"
        bodies = work / "noop-bodies"
        bodies.mkdir()
        # cwd too: the entry point runs as ``python -m adapters.fdk_main``, which puts the working directory first.
        gateways = {"gateway_fdk": FdkProcess(func, upstream.gateway_env(LOG_LEVEL="INFO", PYTHONPATH=str(repo)),
                                              cwd=repo)}
        if compare is not None:
            gateways["compare_fdk"] = FdkProcess(compare / "func.py",
                                                 upstream.gateway_env(LOG_LEVEL="INFO", PYTHONPATH=str(compare),
                                                                      **(compare_env or {})),
                                                 cwd=compare)
        noop = None
        try:
            for proc in gateways.values():
                proc.start()
            direct_calls = overhead.prepare_direct_calls(upstream, gateways["gateway_fdk"], bodies)
            noop = FdkProcess(gateway_side.NOOP_FUNC, {"NOOP_BODIES_DIR": str(bodies)}).start()
            processes = {**gateways, "noop_fdk": noop}
            client = httpx.Client(timeout=60)
            for kind in kinds:
                client_cpu = overhead.ClientCpu()
                paths = {"direct": overhead.direct_call(client, upstream, direct_calls[kind], client_cpu),
                         **{name: overhead.fdk_call(proc, kind) for name, proc in processes.items()}}
                before = {name: proc.cpu_seconds() for name, proc in processes.items()}
                sampled = overhead.measure_latency({kind: paths}, rounds, 20, lambda m: print(m, file=sys.stderr))
                calls = rounds + 20
                p50 = {name: summary_ms(values)["p50"] for name, values in sampled.samples[kind].items()}
                cpu = {name: (proc.cpu_seconds() - before[name]) / calls * 1000 for name, proc in processes.items()}
                cpu["direct"] = client_cpu.ms_per_call() or 0.0
                results[kind] = {"p50_ms": p50, "cpu_ms_per_call": cpu}
                for name in gateways:  # both as the p50: beyond the no-op function and a client of the upstream
                    results[kind][f"own_p50_ms ({name})"] = p50[name] - p50["direct"] - p50["noop_fdk"]
                    results[kind][f"own_cpu_ms ({name})"] = cpu[name] - cpu["noop_fdk"] - cpu["direct"]
            client.close()
        finally:
            for proc in [*gateways.values(), noop]:
                if proc is not None:
                    proc.cleanup()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.own_work", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--kinds", default="chat,stream")
    parser.add_argument("--repo", default=str(Path(__file__).resolve().parents[1]))
    parser.add_argument("--compare", default=None, help="a second checkout measured in the same rounds")
    parser.add_argument("--compare-env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for the second gateway only (e.g. the same checkout, tuned)")
    parser.add_argument("--profile", default=None, help="write the gateway's cProfile stats to this file")
    args = parser.parse_args(argv)
    results = run(args.rounds, args.kinds.split(","), Path(args.repo).resolve(), args.profile,
                  Path(args.compare).resolve() if args.compare else None,
                  dict(pair.split("=", 1) for pair in args.compare_env))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
