"""Every command in the README and docs/ runs as written.

A fenced block is marked by the HTML comment on the line before it:

* ``<!-- offline -->``: runs with no tenancy; the test runs it from the repository root (``<!-- offline: DIR -->``
  from that directory) in a throw-away copy of the repository, each page's blocks in order in one shell;
* ``<!-- local -->``: needs ``make serve`` running; the test runs it (shell or Python) against the real function
  behind the local front and the emulator, with ``http://127.0.0.1:8080`` pointing at that front;
* ``<!-- tenancy -->``: needs a tenancy, Docker, or the Fn, OCI or AWS CLI; the test runs it with recording
  stand-ins for those tools (and ``make``) first on PATH and checks that each tool it names was called;
* ``<!-- not run: why -->``: only parsed.

Every shell block is parsed with ``bash -n``. docs/deploying.md has its own walkthrough test (``<!-- run -->``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.deploy import stubs
from tests.deploy.conftest import REPO, Sandbox

pytestmark = pytest.mark.integration

SHELL = ("sh", "bash", "shell")
MARKING_PENDING: frozenset[str] = frozenset()
WALKTHROUGH = "docs/deploying.md"
EXTRA_STUBS = ("aws", "make")
CLOUD_TOOLS = ("docker", "oci", "terraform", "fn", "aws", "make")
LOCAL_URL = "http://127.0.0.1:8080"
# Placeholders the tenancy blocks read from the environment, as a reader would set them.
READER_ENV = {"AWS_ACCOUNT_ID": "123456789012", "EXECUTION_ROLE": "gateway-lambda", "OCI_USER": "ocid1.user.oc1..u",
              "OCI_TENANCY": "ocid1.tenancy.oc1..t", "OCI_FINGERPRINT": "aa:bb", "OCI_COMPARTMENT_ID":
              "ocid1.compartment.oc1..c", "BASE": "https://gw.example.invalid/genai", "KEY": "ocigw_example"}

BLOCK_RE = re.compile(r"^(?P<indent>[ \t]*)(?:<!-- (?P<marker>[^>]+?) -->\n[ \t]*)?```(?P<lang>\w*)\n(?P<body>.*?)^[ \t]*```",
                      re.MULTILINE | re.DOTALL)
BARE_COMMAND = re.compile(r"(^|[|;&(]\s*|\$\(\s*)(python3?|pytest|pip3?)\s", re.MULTILINE)


@dataclass(frozen=True)
class Block:
    page: str
    marker: str | None
    lang: str
    body: str

    @property
    def kind(self) -> str | None:
        return None if self.marker is None else self.marker.split(":")[0].strip()

    @property
    def directory(self) -> str:
        return self.marker.split(":", 1)[1].strip() if self.kind == "offline" and ":" in (self.marker or "") else "."


def pages() -> list[str]:
    found = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    return [str(path.relative_to(REPO)) for path in found if str(path.relative_to(REPO)) != WALKTHROUGH]


def blocks(kind: str | None = None, langs: tuple[str, ...] = SHELL) -> list[Block]:
    found = []
    for page in pages():
        for match in BLOCK_RE.finditer((REPO / page).read_text(encoding="utf-8")):
            block = Block(page, match["marker"], match["lang"], textwrap.dedent(match["body"]))
            if block.lang in langs and (kind is None or block.kind == kind):
                found.append(block)
    return found


def test_every_shell_block_says_how_it_is_checked() -> None:
    unmarked = [f"{b.page}: {b.body[:60]!r}" for b in blocks() if b.page not in MARKING_PENDING
                and b.kind not in ("offline", "local", "tenancy", "not run")]
    assert unmarked == [], "mark each block <!-- offline -->, <!-- local -->, <!-- tenancy --> or <!-- not run: why -->"
    assert len(blocks("offline")) >= 4 and len(blocks("tenancy")) >= 8 and blocks("local", ("sh", "python"))


def test_every_shell_block_parses() -> None:
    for block in blocks():
        result = subprocess.run(["bash", "-n"], input=block.body, capture_output=True, text=True)
        assert result.returncode == 0, f"{block.page}: {result.stderr}\n{block.body}"


def test_commands_name_the_projects_python_not_whatever_is_on_the_path() -> None:
    bare = [f"{b.page}: {b.body[:80]!r}" for b in blocks() if b.page not in MARKING_PENDING
            and BARE_COMMAND.search(b.body)]
    assert bare == [], "write .venv/bin/python (outside the venv a bare python has none of the packages)"


def _run_pages(sandbox: Sandbox, kind: str, env: dict[str, str]) -> list[tuple[Block, subprocess.CompletedProcess]]:
    results = []
    for page in dict.fromkeys(b.page for b in blocks(kind)):
        script = "set -eo pipefail\n" + "\n".join(
            f'cd "{sandbox.root / b.directory}"\n{b.body}' for b in blocks(kind) if b.page == page)
        result = subprocess.run(["bash", "-c", script], cwd=sandbox.root, env=env, capture_output=True, text=True,
                                timeout=300)
        results.append((Block(page, kind, "sh", script), result))
    return results


def test_offline_blocks_run_from_the_directory_the_text_implies(sandbox: Sandbox) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OCI_", "TF_", "OPENAI_", "API_KEYS"))}
    env["HOME"] = str(sandbox.root / "home")
    for block, result in _run_pages(sandbox, "offline", env):
        assert result.returncode == 0, f"{block.page}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    # What the blocks promise, checked on what they left behind.
    assert (sandbox.root / "pepper.txt").stat().st_size > 30 and '"disabled": true' in (
        sandbox.root / "keys.json").read_text().replace('"disabled":true', '"disabled": true')


def test_tenancy_blocks_call_the_tools_they_name(sandbox: Sandbox, tmp_path: Path) -> None:
    stub_dir = Path(sandbox.env["PATH"].split(os.pathsep)[0])
    for tool in EXTRA_STUBS:
        (stub_dir / tool).write_text(stubs.STUB_SOURCE.format(python=sys.executable, here=str(Path(stubs.__file__).parent)))
        (stub_dir / tool).chmod(0o755)
    env = {**sandbox.env, **READER_ENV, "HOME": str(sandbox.root / "home")}
    for block, result in _run_pages(sandbox, "tenancy", env):
        assert result.returncode == 0, f"{block.page}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    called = {c["tool"] for c in sandbox.calls()}
    named = {tool for b in blocks("tenancy") for tool in CLOUD_TOOLS
             if re.search(rf"(^|[|;&(]\s*|\$\(\s*){tool}\s", b.body, re.MULTILINE)}
    assert named - called == set() and {"aws", "oci", "terraform", "docker", "fn"} <= named


def test_local_blocks_run_against_a_running_gateway(front: Any, tmp_path: Path) -> None:
    for block in blocks("local", ("sh", "bash", "python")):
        body = block.body.replace(LOCAL_URL, front.url)
        command = ["bash", "-eo", "pipefail", "-c", body] if block.lang != "python" else [sys.executable, "-c", body]
        result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{block.page}: {result.stderr[-2000:]}"
        assert result.stdout.strip() and '"error"' not in result.stdout, f"{block.page}: {result.stdout[-2000:]}"


def test_relative_links_resolve() -> None:
    broken = []
    for page in [*pages(), WALKTHROUGH]:
        text = (REPO / page).read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if not re.match(r"[a-z]+:", target) and not ((REPO / page).parent / target).exists():
                broken.append(f"{page}: {target}")
    assert broken == []
