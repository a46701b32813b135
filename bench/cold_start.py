"""Cold start: the floor first, then the gateway from spawn to its first chat answered, over HTTP and TLS.

    .venv/bin/python -m bench.cold_start [--runs 7]

* *interpreter*: ``python -c pass`` (with ``site``, as the function starts).
* *floor*: the interpreter plus the imports a chat cannot do without: the fdk (the runtime that serves the
  socket), httpx with the transport it loads on its first request (httpcore, h11, anyio's asyncio backend),
  cryptography's RSA (every OCI request is signed) and orjson. Whatever the gateway takes beyond this is its
  own. (In this venv ``import httpx`` also loads click and pygments, dev-only packages the image lacks, in the
  floor and the gateway alike.)
* *no-op function*: the same spawn and call for ``bench/noop_func.py`` (the fdk serving a canned answer): what the
  fdk alone costs from spawn to an answer.
* *gateway*: spawn ``python -m adapters.fdk_main func.py handler`` (the image's ENTRYPOINT) until its socket
  exists (*ready*), then one chat through the socket to the emulator until the answer is back. Over TLS the
  emulator has a certificate from a local CA and the gateway trusts certifi's bundle plus that CA
  (:mod:`bench.tls`), laid out as in the image (a hashed directory); *tls_cafile* loads the same roots as
  one file, as before the image hashed them.

Runs alternate (floor, gateway over HTTP, gateway over TLS) so machine noise hits each alike; medians.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

from bench import gateway_side
from bench.upstream import CHAT_BODY, REPO_ROOT, Upstream
from local.fdk.process import minimal_environ

FLOOR_IMPORTS = ("fdk.scripts.fdk", "httpx", "httpcore", "httpcore._backends.anyio", "anyio._backends._asyncio", "h11",
                 "cryptography.hazmat.primitives.asymmetric.rsa",
                 "cryptography.hazmat.primitives.asymmetric.padding", "cryptography.hazmat.primitives.hashes",
                 "cryptography.hazmat.primitives.serialization", "orjson")


def _spawn(code: str) -> tuple[float, float]:
    """Wall and CPU (user+system) seconds of ``python -c code``."""
    env = {**minimal_environ(), "PYTHONPATH": str(REPO_ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO_ROOT, check=True, stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def floor_seconds() -> tuple[float, float]:
    return _spawn("import " + ", ".join(FLOOR_IMPORTS))


def interpreter_seconds() -> tuple[float, float]:
    return _spawn("pass")


def _warm_chat(upstream: Upstream) -> None:
    """One chat straight to the emulator, so the first measured cold start does not meet a cold emulator."""
    import httpx

    from bench.upstream import direct_once, presign

    body = {"compartmentId": "ocid1.compartment.oc1..bench",
            "servingMode": {"servingType": "ON_DEMAND", "modelId": CHAT_BODY["model"]},
            "chatRequest": {"apiFormat": "GENERIC", "messages": [{"role": "USER",
                                                                  "content": [{"type": "TEXT", "text": "hi"}]}]}}
    with httpx.Client(verify=upstream.verify, timeout=30) as client:
        direct_once(client, upstream, presign(upstream, "/20231130/actions/chat", body))


def measure(runs: int, log: Any = print) -> dict[str, Any]:
    body = json.dumps(CHAT_BODY).encode()
    samples: dict[str, list[dict[str, float]]] = {"noop": [], "http": [], "tls": [], "tls_cafile": []}
    interpreter: list[tuple[float, float]] = []
    floor: list[tuple[float, float]] = []
    with Upstream() as plain, Upstream(https=True) as secure:
        assert secure.tls is not None
        envs = {"http": plain.gateway_env(LOG_LEVEL="INFO"), "tls": secure.gateway_env(LOG_LEVEL="INFO"),
                "tls_cafile": {**{k: v for k, v in secure.gateway_env(LOG_LEVEL="INFO").items() if k != "SSL_CERT_DIR"},
                               "SSL_CERT_FILE": str(secure.tls.trust_file)}}
        for upstream in (plain, secure):  # the emulator is warm, as OCI is
            upstream.control("GET", "/health")
            _warm_chat(upstream)
        for _ in range(runs):
            interpreter.append(interpreter_seconds())
            floor.append(floor_seconds())
            samples["noop"].append(gateway_side.cold_start({}, body, func=gateway_side.NOOP_FUNC))
            for name, env in envs.items():
                samples[name].append(gateway_side.cold_start(env, body))
    log(f"  cold starts: {runs} of each")
    result: dict[str, Any] = {
        "runs": runs, "imports": list(FLOOR_IMPORTS),
        "interpreter_s": statistics.median(w for w, _ in interpreter),
        "interpreter_cpu_s": statistics.median(c for _, c in interpreter),
        "floor_s": statistics.median(w for w, _ in floor), "floor_cpu_s": statistics.median(c for _, c in floor),
        "floor_all_s": [round(w, 3) for w, _ in floor]}
    for name, rows in samples.items():
        result[name] = {"spawn_to_answer_s": statistics.median(r["spawn_to_answer_s"] for r in rows),
                        "ready_s": statistics.median(r["ready_s"] for r in rows),
                        "cpu_s": statistics.median(r["cpu_s"] for r in rows),
                        "vm_hwm_mib": statistics.median(r["vm_hwm_mib"] for r in rows),
                        "all_s": [round(r["spawn_to_answer_s"], 3) for r in rows]}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_start", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.runs, lambda m: print(m, file=sys.stderr)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
