"""A throw-away copy of the repository with recording stand-ins for the cloud CLIs first on PATH."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.deploy import stubs

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Sandbox:
    root: Path
    log: Path
    env: dict[str, str]

    def calls(self, tool: str | None = None) -> list[dict]:
        return [c for c in stubs.calls(self.log) if tool is None or c["tool"] == tool]


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    root = tmp_path / "repo"
    shutil.copytree(REPO, root, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache", ".terraform", "*.tfstate*",
        "terraform.tfvars", "*.auto.tfvars.json", "pepper.txt", "keys.json"))
    (root / ".venv").symlink_to(REPO / ".venv")
    log = stubs.install(tmp_path / "bin")
    return Sandbox(root, log, stubs.environment(tmp_path / "bin", log))


from tests.integration.conftest import (  # noqa: E402,F401 - the emulator and processes the doctor runs against
    emulator,
    emulator_server,
    fdk_factory,
    front,
    gateway_env,
    gateway_factory,
    local_creds,
)
