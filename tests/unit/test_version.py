"""One version: pyproject.toml, func.yaml and the newest changelog entry of docs/upgrading.md agree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_version_moves_with_the_changelog() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    function = re.search(r"^version:\s*(\S+)\s*$", (REPO / "func.yaml").read_text(), re.MULTILINE)
    changelog = (REPO / "docs" / "upgrading.md").read_text(encoding="utf-8").split("## Changelog", 1)[1]
    entries = re.findall(r"^### (\d+\.\d+\.\d+)\b", changelog, re.MULTILINE)
    assert function is not None and entries
    assert project == function.group(1) == entries[0]
    ordered = [tuple(map(int, e.split("."))) for e in entries]
    assert ordered == sorted(ordered, reverse=True), "newest entry first"
