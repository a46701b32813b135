"""``python -m local.serve``: the gateway function under the real fdk, behind an API-Gateway-like front.

With real OCI credentials in the environment (resource principal, ``OCI_USER``/``OCI_KEY``, or an OCI
config file) the function talks to real OCI. Without any, it runs against the bundled OCI emulator
with throwaway resource-principal credentials, and says so loudly: answers are canned then.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any, Mapping

from local.fdk.pool import FdkPool
from local.fdk.process import DEFAULT_FUNC
from local.fdk.wire import DEFAULT_TIMEOUT_S, FdkStartError
from local.front import normalise_prefix, run_front

FAKE_COMPARTMENT = "ocid1.compartment.oc1..local"
EXAMPLE_MODEL = "meta.llama-3.3-70b-instruct"
# Credential variables stripped from the environment handed to the function in emulator mode,
# so a half-configured shell cannot mix real and throwaway identities.
_CREDENTIAL_PREFIXES = ("OCI_RESOURCE_PRINCIPAL_", "OCI_USER", "OCI_KEY", "OCI_FINGERPRINT", "OCI_TENANCY",
                        "OCI_CONFIG_", "OCI_AUTH", "OCI_REGION_METADATA")


def detect_real_credentials(environ: Mapping[str, str], home: Path | None = None) -> str | None:
    """Name the real credential source the function would use, or None if there is none."""
    if environ.get("OCI_RESOURCE_PRINCIPAL_VERSION"):
        return "resource principal (OCI_RESOURCE_PRINCIPAL_*)"
    if environ.get("OCI_USER") and (environ.get("OCI_KEY") or environ.get("OCI_KEY_FILE")):
        return "API key (OCI_USER / OCI_KEY)"
    config = environ.get("OCI_CONFIG_FILE")
    if config and Path(config).expanduser().is_file():
        return f"OCI config file {config}"
    default = (home if home is not None else Path.home()) / ".oci" / "config"
    if not config and default.is_file():
        return f"OCI config file {default}"
    return None


def emulator_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment minus anything credential-shaped."""
    return {k: v for k, v in environ.items() if not k.startswith(_CREDENTIAL_PREFIXES)}


def _banner(lines: list[str]) -> str:
    width = max(len(line) for line in lines) + 4
    bar = "*" * width
    return "\n".join([bar, *(f"* {line.ljust(width - 4)} *" for line in lines), bar])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--workers", type=int, default=1, help="fdk processes (Fn runs one call per container)")
    parser.add_argument("--prefix", default="/", help="API deployment path prefix, e.g. /openai")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="function timeout in seconds")
    parser.add_argument("--func", default=str(DEFAULT_FUNC), help="function module (default: the repo's func.py)")
    parser.add_argument("--emulator", action="store_true", help="use the bundled emulator even if credentials exist")
    parser.add_argument("--direct", action="store_true",
                        help="serve the handlers directly (ASGI, no fdk) with real incremental streaming")
    parser.add_argument("--bucket-dir", default="local-bucket",
                        help="emulator mode: files put here are ingested into the vector store vs_local-docs")
    parser.add_argument("--no-bucket", action="store_true",
                        help="emulator mode: no local bucket, ingest function or embedded PostgreSQL")
    return parser.parse_args(argv)


def _start_emulator(state: dict[str, Any]) -> tuple[dict[str, str], str]:
    """Start the emulator with throwaway resource-principal credentials; return (function env, url)."""
    from local.emulator import Emulator, serve_in_thread  # the emulator is a local-only component
    from local.local_credentials import make_resource_principal_env

    creds = make_resource_principal_env()
    state["creds_dir"] = creds.directory
    emulator = Emulator()
    emulator.add_key(creds.key_id, creds.public_key)
    server = serve_in_thread(emulator, "127.0.0.1", 0)
    state["emulator_server"] = server
    env = dict(creds.env)
    env.update(
        OCI_GENAI_ENDPOINT=server.url,
        OCI_GENAI_MANAGEMENT_ENDPOINT=server.url,
        OCI_OBJECTSTORAGE_ENDPOINT=server.url,
        OCI_COMPARTMENT_ID=FAKE_COMPARTMENT,
        OCI_REGION=creds.region,
    )
    return env, server.url


def _exit_on_sigterm() -> None:
    """uvicorn re-raises SIGTERM after its own shutdown; turn it into SystemExit so ``finally`` stops the fdk pool
    and the emulator instead of the process dying with them orphaned."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _exit_on_sigterm()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    prefix = normalise_prefix(args.prefix)
    state: dict[str, Any] = {}
    real = None if args.emulator else detect_real_credentials(os.environ)
    if real:
        base_env: dict[str, str] = dict(os.environ)
        extra: dict[str, str] = {}
        print(f"Using real OCI credentials: {real}", file=sys.stderr)
    else:
        base_env = emulator_environ(os.environ)
        extra, emulator_url = _start_emulator(state)
        print(
            _banner([
                f"No OCI credentials found: serving against the bundled OCI emulator at {emulator_url}",
                "— answers are canned. Configure OCI_USER/OCI_KEY, ~/.oci/config or a resource",
                "principal to talk to real OCI Generative AI.",
            ]),
            file=sys.stderr,
            flush=True,
        )
    extra.setdefault("GATEWAY_ROLE", base_env.get("GATEWAY_ROLE", "gateway"))
    if not real and not args.no_bucket and not args.direct:
        from local.bucket import INPUT_BUCKET, EmbeddedPostgres

        state["postgres"] = EmbeddedPostgres().start()  # starts while the functions start
        extra.update(VECTOR_STORE_URL=state["postgres"].url, INGEST_INPUT_BUCKETS=INPUT_BUCKET)
    if args.direct:
        return _serve_direct(args, prefix, {**base_env, **extra}, state)
    pool = FdkPool(args.workers, extra, func_path=args.func, base_env=base_env, inherit_output=True)
    try:
        pool.start()
        if "postgres" in state:
            _start_local_bucket(args, base_env, extra, state)
    except (FdkStartError, RuntimeError) as exc:
        print(f"The function did not start: {exc}", file=sys.stderr)
        _cleanup(pool, state)
        return 1

    def ready(url: str) -> None:
        base = url + prefix
        print(
            f"\nOCI GenAI Gateway (fdk x{args.workers}, ready in {max(r or 0 for r in pool.ready_seconds):.2f} s) "
            f"listening on {base}\n"
            f"  curl -s {base}/v1/chat/completions -H 'Content-Type: application/json' \\\n"
            f"       -d '{{\"model\":\"{EXAMPLE_MODEL}\",\"messages\":[{{\"role\":\"user\",\"content\":\"Hello\"}}]}}'\n"
            + _bucket_hint(args, base, state)
            + "Ctrl-C to stop.",
            file=sys.stderr,
            flush=True,
        )

    try:
        run_front(pool, args.port, host=args.host, prefix=prefix, timeout_s=args.timeout, on_ready=ready)
    except KeyboardInterrupt:
        pass
    finally:
        _cleanup(pool, state)
    return 0


def _serve_direct(args: argparse.Namespace, prefix: str, env: dict[str, str], state: dict[str, Any]) -> int:
    """Serve adapters.asgi in this process (no fdk): what a container deployment runs."""
    import uvicorn

    os.environ.clear()
    os.environ.update(env)
    base = f"http://{args.host}:{args.port}{prefix}"
    print(f"\nOCI GenAI Gateway (direct ASGI mode, real streaming) listening on {base}\nCtrl-C to stop.",
          file=sys.stderr, flush=True)
    try:
        uvicorn.run("adapters.asgi:app", host=args.host, port=args.port, log_level="warning", lifespan="on",
                    root_path="")
    finally:
        server = state.get("emulator_server")
        if server is not None:
            server.stop()
        if state.get("creds_dir"):
            shutil.rmtree(state["creds_dir"], ignore_errors=True)
    return 0


def _start_local_bucket(args: argparse.Namespace, base_env: dict[str, str], extra: dict[str, str],
                        state: dict[str, Any]) -> None:
    """The ingest function, the embedded PostgreSQL (started earlier) and the folder watcher."""
    from local.bucket import FolderWatcher, fdk_deliverer, ingest_environment, register_continuations
    from local.fdk.process import FdkProcess

    emulator = state["emulator_server"]
    env = {**base_env, **extra, **ingest_environment(state["postgres"].url, emulator.url)}
    ingest = FdkProcess(args.func, env, base_env=base_env, inherit_output=True).start()
    state["ingest"] = ingest
    state["postgres"].wait()
    register_continuations(emulator.emulator, ingest, args.timeout)
    state["watcher"] = FolderWatcher(Path(args.bucket_dir).resolve(), emulator.emulator.objectstorage,
                                     fdk_deliverer(ingest, args.timeout)).start()


def _bucket_hint(args: argparse.Namespace, base: str, state: dict[str, Any]) -> str:
    if "watcher" not in state:
        return ""
    from local.bucket import STORE

    return (f"Drop files into {state['watcher'].folder} and search them:\n"
            f"  curl -s {base}/v1/vector_stores/{STORE}/search -H 'Content-Type: application/json' \\\n"
            "       -d '{\"query\":\"what the documents say\"}'\n")


def _cleanup(pool: FdkPool, state: dict[str, Any]) -> None:
    if state.get("watcher") is not None:
        state["watcher"].stop()
    if state.get("ingest") is not None:
        state["ingest"].cleanup()
    pool.stop()
    if state.get("postgres") is not None:
        state["postgres"].stop()
    server = state.get("emulator_server")
    if server is not None:
        server.stop()
    if state.get("creds_dir"):
        shutil.rmtree(state["creds_dir"], ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
