"""``make doctor``: what your OCI identity reaches, as a table of checks, each failure with its exact fix.

Uses the same credentials and settings the gateway would (``~/.oci/config`` or the ``OCI_*`` variables, ``OCI_REGION``,
``OCI_COMPARTMENT_ID``, ``MODEL_ALIASES``). Without any credentials (or with ``--emulator``) it runs against the
bundled OCI emulator, which is how a fresh clone checks the doctor itself. Exit status 1 when a check fails.

``--capture FILE`` also records the raw exchanges (credentials, message text and OCIDs redacted) of the checks
and of the cases the gateway only infers, into one file to hand back; the emulator replays such a file
(``local.emulator.captures``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

LAPTOP_GRANTEE = "group <a group your user is in>"
IN_FUNCTION_HINT = ("The functions' own grants can only be checked from inside: "
                    "oci fn function invoke --file - --body '{\"doctor\": true}' --function-id "
                    "\"$(terraform -chdir=terraform output -raw gateway_function_id)\" (likewise the ingest and "
                    "authorizer functions; the ingest one needs \"namespace\": \"<object storage namespace>\").")
# What a capture records beyond the checks' own exchanges, and which inferred fact each one settles.
CAPTURE_CASES = {
    "cohere-v2 tool-call stream": "the COHEREV2 streamed tool-call event shape (inferred in the emulator)",
}
STILL_UNVERIFIED = [
    "model-retirement-info header format: recorded whenever a checked model is deprecated",
    "service gateway reaching Generative AI: run the in-function doctor with egress = \"service_gateway\"",
    "API Gateway passing an event stream through: the smoke test's time to first byte",
    "Events redelivery, rerank and guardrail limits: not exercised by the doctor",
]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make doctor ARGS=...", description=__doc__.splitlines()[0])
    parser.add_argument("--emulator", action="store_true", help="check against the bundled emulator")
    parser.add_argument("--capture", metavar="FILE", help="write the redacted raw exchanges to FILE")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--policies", metavar="FILE",
                        help="compare the policies you can read with `terraform output -json iam_statements` in FILE")
    return parser.parse_args(argv)


def _use_emulator(state: dict[str, Any]) -> None:
    from local.serve import _start_emulator, emulator_environ

    env, url = _start_emulator(state)
    os.environ.clear()
    os.environ.update({**emulator_environ(dict(state["environ"])), **env})
    print(f"No OCI credentials configured: checking against the bundled emulator at {url}.", file=sys.stderr)


def print_table(report: Any, out: TextIO) -> None:
    """One line per check (result, milliseconds, what), and the fix under each failure."""
    width = max(len(check.name) for check in report.checks)
    for check in report.checks:
        ms = f"{check.ms:8.1f} ms" if check.ms is not None else " " * 11
        print(f"{'PASS' if check.ok else 'FAIL'}  {check.name.ljust(width)}  {ms}  {check.detail}", file=out)
        if check.fix:
            print(f"      fix: {check.fix}", file=out)
    print(f"\n{'All checks passed.' if report.ok else 'Some checks failed.'}", file=out)


async def _capture_cases(deadline: float | None) -> None:
    """The inferred cases: a streamed tool call on a COHEREV2 model (drained; failures are recorded too)."""
    from core.catalog import chat_models
    from core.chat.service import create_chat_completion
    from core.errors import APIError

    model = next((m.id for m in chat_models() if m.cohere_v2 and m.status == "active"), None)
    if model is None:
        return
    tool = {"type": "function", "function": {"name": "get_time", "description": "The current time.",
                                             "parameters": {"type": "object", "properties": {}}}}
    try:
        result = await create_chat_completion(
            {"model": model, "stream": True, "tools": [tool], "tool_choice": "required", "max_tokens": 50,
             "messages": [{"role": "user", "content": "What time is it? Use the tool."}]}, deadline=deadline)
        async for _ in result.stream or ():
            pass
    except APIError:
        pass


async def run(capture: str | None, deadline: float | None = None, policies: dict[str, Any] | None = None) -> Any:
    from core import doctor, runtime
    from core.oci.capture import RecordingTransport, capture_document
    from core.oci.client import OCIClient
    from core.oci.transport import build_transports

    recorder = None
    if capture:
        _, credentials = doctor.credentials_check()
        if credentials is not None:
            recorder = RecordingTransport(build_transports()[0])
            runtime.set_client(OCIClient(runtime.settings(), credentials, transport=recorder))
    report = await doctor.run("gateway", grantee=LAPTOP_GRANTEE, deadline=deadline, expected_policies=policies)
    if recorder is not None and capture:
        checked = len(recorder.exchanges)
        await _capture_cases(deadline)
        cases = [(f"doctor check {index}", exchange) for index, exchange in enumerate(recorder.exchanges[:checked])]
        cases += [(next(iter(CAPTURE_CASES)), exchange) for exchange in recorder.exchanges[checked:]]
        note = "Cases: " + "; ".join(f"{k}: {v}" for k, v in CAPTURE_CASES.items())
        Path(capture).write_text(json.dumps(capture_document(cases, note=note), indent=1), encoding="utf-8")
    await runtime.close_client()
    return report


def main(argv: list[str] | None = None, out: TextIO = sys.stdout) -> int:
    from core import runtime
    from local.serve import detect_real_credentials

    args = parse_args(argv)
    state: dict[str, Any] = {"environ": dict(os.environ)}
    if args.emulator or detect_real_credentials(os.environ) is None:
        _use_emulator(state)
    runtime.reset()
    try:
        policies = json.loads(Path(args.policies).read_text(encoding="utf-8")) if args.policies else None
        report = asyncio.run(run(args.capture, policies=policies))
    finally:
        if "emulator_server" in state:
            state["emulator_server"].stop()
    if args.json:
        print(json.dumps(report.to_json(), indent=1), file=out)
    else:
        print_table(report, out)
        print(f"\n{IN_FUNCTION_HINT}", file=out)
        if args.capture:
            print(f"\nCaptured exchanges written to {args.capture}. Still unverified: "
                  + "; ".join(STILL_UNVERIFIED), file=out)
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
