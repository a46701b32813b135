"""`make serve` / `make test` environments (local/venv.sh): the Python version is checked before anything
installs, a broken .venv is rebuilt on its own, and serving installs only the serving set."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "local" / "venv.sh"
TEST_ONLY = ("pytest", "respx", "hypothesis", "radon", "oci", "openai", "langchain", "llama-index", "cohere", "numpy")


def _run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def _fake_python(path: Path, version: str) -> Path:
    """A `python` that reports an old version and records any other use (nothing may be installed with it)."""
    path.write_text(f"#!/bin/sh\ncase \"$1\" in\n  -V) echo 'Python {version}' ;;\n  -c) exit 1 ;;\n"
                    f"  *) echo \"$@\" >> {path}.used; exit 1 ;;\nesac\n")
    path.chmod(0o755)
    return path


def test_an_old_python_is_refused_with_a_clear_message_before_anything_installs(tmp_path: Path) -> None:
    python = _fake_python(tmp_path / "python3", "3.10.12")
    result = _run(str(python), str(tmp_path / "venv"), ".stamp", "requirements-serve.txt")
    assert result.returncode == 2
    assert "needs Python 3.11 or newer" in result.stderr and "3.10.12" in result.stderr
    assert "PYTHON=" in result.stderr  # says how to name another interpreter
    assert not (tmp_path / "venv").exists() and not Path(f"{python}.used").exists()


def test_a_missing_python_is_named(tmp_path: Path) -> None:
    result = _run("python3.99-nowhere", str(tmp_path / "venv"), ".stamp", "requirements-serve.txt")
    assert result.returncode == 2 and "'python3.99-nowhere' was not found" in result.stderr


def test_a_broken_venv_is_rebuilt_on_its_own(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    _fake_python(venv / "bin" / "python", "3.10.12")  # what a venv made by the wrong Python looks like to us
    (venv / "leftover").write_text("half an install")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# nothing to install\n")
    base = getattr(sys, "_base_executable", None) or sys.executable
    result = _run(base, str(venv), ".stamp", str(requirements))
    assert result.returncode == 0, result.stderr
    assert "is broken" in result.stderr and "rebuilding" in result.stderr
    assert not (venv / "leftover").exists() and (venv / ".stamp").exists()
    version = subprocess.run([str(venv / "bin" / "python"), "-c", "import sys; print(sys.version_info >= (3, 11))"],
                             capture_output=True, text=True, check=True)
    assert version.stdout.strip() == "True"
    again = _run(base, str(venv), ".stamp", str(requirements))  # a finished, healthy venv is left alone
    assert again.returncode == 0 and again.stderr == ""


def _requirement_names(path: Path) -> set[str]:
    names: set[str] = set()
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r "):
            names |= _requirement_names(path.parent / line[3:].strip())
        elif line:
            names.add(re.split(r"[=<>!~\[; ]", line)[0].lower())
    return names


def test_make_serve_installs_the_serving_set_only() -> None:
    dry = subprocess.run(["make", "-n", "serve", "VENV=/nonexistent/venv", "PYTHON=python3"], cwd=REPO,
                         capture_output=True, text=True, check=True, env={**os.environ, "MAKEFLAGS": ""})
    install = next(line for line in dry.stdout.splitlines() if "venv.sh" in line)
    assert "requirements-serve.txt" in install and "requirements-dev" not in install
    serving = _requirement_names(REPO / "requirements-serve.txt")
    assert {"fdk", "httpx", "uvicorn", "pgserver", "psycopg"} <= serving
    assert not [name for name in serving if name.startswith(TEST_ONLY)]
    # The test set is a superset: a .venv made by `make test` serves too.
    assert serving <= _requirement_names(REPO / "requirements-dev.txt")
