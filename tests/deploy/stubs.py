"""Recording stand-ins for the cloud CLIs (docker, oci, terraform, fn, curl) a deployment step calls.

Nothing in a test may reach OCI or a registry, so each tool is replaced by a tiny program on ``PATH`` that
appends its arguments (and working directory) to a JSON-lines log and prints a canned answer where the real
tool would print something a later step reads (a namespace, a digest, a Terraform output).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

TOOLS = ("docker", "oci", "terraform", "fn", "curl")

# `terraform output -raw NAME` answers of a deployment that does not exist.
TERRAFORM_OUTPUTS = {
    "api_base_url": "https://gw.example.invalid/genai/v1",
    "api_keys_secret_ocid": "ocid1.vaultsecret.oc1.eu-frankfurt-1.exampletable",
    "gateway_function_id": "ocid1.fnfunc.oc1.eu-frankfurt-1.examplegateway",
    "input_bucket": "genai-gw-input",
    "output_bucket": "genai-gw-output",
}

STUB_SOURCE = '''#!{python}
import hashlib, json, os, sys
sys.path.insert(0, {here!r})
from stubs import answer
tool = os.path.basename(sys.argv[0])
with open(os.environ["STUB_LOG"], "a") as log:
    log.write(json.dumps({{"tool": tool, "args": sys.argv[1:], "cwd": os.getcwd()}}) + "\\n")
code, out = answer(tool, sys.argv[1:])
sys.stdout.write(out)
sys.exit(code)
'''


def answer(tool: str, args: list[str]) -> tuple[int, str]:
    """(exit code, stdout) of one call."""
    if tool == "docker" and args[:2] == ["image", "inspect"]:
        image = args[-1]
        repository = image.rsplit(":", 1)[0]
        return 0, json.dumps([f"{repository}@sha256:{_sha(image)}"]) + "\n"
    if tool == "oci" and args[:3] == ["os", "ns", "get"]:
        return 0, "examplens\n"
    if tool == "terraform" and "output" in args and ("-raw" in args or "-json" in args):
        name = args[-1]
        value = os.environ.get(f"STUB_OUTPUT_{name}", TERRAFORM_OUTPUTS.get(name))
        return (0, value) if value is not None else (1, "")
    if tool == "curl":
        return 0, '{"status":"ok"}\n'
    if "version" in args or "--version" in args:
        return 0, f"{tool} (recording stand-in)\n"
    return 0, ""


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


def install(directory: Path) -> Path:
    """Write the stand-ins into ``directory``; returns the log file they append to."""
    directory.mkdir(parents=True, exist_ok=True)
    for tool in TOOLS:
        path = directory / tool
        path.write_text(STUB_SOURCE.format(python=sys.executable, here=str(Path(__file__).parent)))
        path.chmod(0o755)
    log = directory / "calls.jsonl"
    log.write_text("")
    return log


def calls(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def environment(stub_dir: Path, log: Path) -> dict[str, str]:
    """The process environment with the stand-ins first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OCI_", "TF_", "OPENAI_"))}
    env["PATH"] = f"{stub_dir}{os.pathsep}{env.get('PATH', '')}"
    env["STUB_LOG"] = str(log)
    return env
