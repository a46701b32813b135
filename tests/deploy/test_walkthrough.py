"""docs/deploying.md, followed as written: every block in order, in one shell, from the repository root.

Blocks marked ``<!-- run -->`` run with recording stand-ins for the cloud CLIs; blocks marked
``<!-- not run: why -->`` are read but not run, and may not change directory (a later block would then run
somewhere else than the page says).
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
from typing import Any

import pytest

from tests.deploy.conftest import REPO, Sandbox
from tests.deploy.stubs import TERRAFORM_OUTPUTS

pytestmark = pytest.mark.integration

PAGE = REPO / "docs" / "deploying.md"
BLOCK_RE = re.compile(r"(?:<!-- (?P<marker>run|not run: [^>]+) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)```", re.DOTALL)


def blocks() -> list[tuple[str | None, str, str]]:
    return [(m["marker"], m["lang"], m["body"]) for m in BLOCK_RE.finditer(PAGE.read_text(encoding="utf-8"))]


def test_every_shell_block_says_whether_the_test_runs_it() -> None:
    shell = [(marker, body) for marker, lang, body in blocks() if lang in ("sh", "bash")]
    assert len(shell) >= 8
    assert [body for marker, body in shell if marker is None] == []
    for marker, body in shell:
        if marker != "run":
            assert not re.search(r"(^|[;&|]\s*)cd\b", body, re.MULTILINE), f"a block not run changes directory: {body}"


def test_the_walkthrough_runs_start_to_finish(sandbox: Sandbox, front: Any) -> None:
    """The cloud is stood in for; the doctor (against the emulator) and the smoke test (against the local
    front: the real function behind an API-Gateway-like front) run for real."""
    script = "set -eo pipefail\n" + "\n".join(body for marker, lang, body in blocks() if marker == "run")
    env = {**sandbox.env, "HOME": str(sandbox.root / "home"), "STUB_OUTPUT_api_base_url": f"{front.url}/v1",
           "STUB_OUTPUT_smoke_command": f".venv/bin/python -m deploy.smoke --base-url {front.url}/v1",
           "STUB_OUTPUT_object_storage_namespace": "examplens",
           "STUB_OUTPUT_function_ids": '{"gateway": "ocid1.fnfunc.oc1..g", "ingest": "ocid1.fnfunc.oc1..i"}'}
    result = subprocess.run(["bash", "-c", script], check=False, cwd=sandbox.root, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "All checks passed." in result.stdout  # the doctor, against the emulator (no credentials here)
    assert "All steps passed." in result.stdout  # the smoke test, through the front

    # Every tool ran from the repository root, as the page promises.
    assert {c["cwd"] for c in sandbox.calls()} == {str(sandbox.root)}
    # The images were pushed (phase 1) before Terraform applied (phase 2), and apply found their digests.
    order = [(c["tool"], c["args"][0] if c["args"] else "") for c in sandbox.calls()]
    assert order.index(("docker", "push")) < order.index(("terraform", "-chdir=terraform"))
    images = json.loads((sandbox.root / "terraform" / "images.auto.tfvars.json").read_text())
    assert images["function_image"].startswith("fra.ocir.io/examplens/genai-gw/oci-genai-gateway:")
    assert (sandbox.root / "terraform" / "terraform.tfvars").exists()
    assert len((sandbox.root / "pepper.txt").read_text().strip()) >= 32

    # The key uploaded to the secret Terraform created is the table with the minted key.
    upload = next(c["args"] for c in sandbox.calls("oci") if c["args"][:3] == ["vault", "secret", "update-base64"])
    assert upload[upload.index("--secret-id") + 1] == TERRAFORM_OUTPUTS["api_keys_secret_ocid"]
    table = json.loads((sandbox.root / "keys.json").read_text())
    assert json.loads(base64.b64decode(upload[upload.index("--secret-content-content") + 1])) == table

    # The health checks went to the deployed URL with the minted keys; the deep one with the admin key.
    plain, deep = (call["args"] for call in sandbox.calls("curl"))
    assert plain[1] == f"{front.url}/v1/health" and deep[1] == f"{front.url}/v1/health?deep=1"
    admin = [r for r in table["keys"] if r.get("admin")]
    assert len(admin) == 1 and len(table["keys"]) == 2
    for args in (plain, deep):
        assert re.fullmatch(r"Authorization: Bearer ocigw_[0-9a-z]{12}_[0-9A-Za-z]{43}", args[args.index("-H") + 1])
    assert deep[deep.index("-H") + 1].split("_")[1] == admin[0]["id"]
    # Each function's own doctor was invoked, the ingest one with the namespace.
    bodies = [c["args"][c["args"].index("--body") + 1] for c in sandbox.calls("oci") if "--body" in c["args"]]
    assert '{"doctor": true}' in bodies and '{"doctor": true, "namespace": "examplens"}' in bodies
    function_ids = [c["args"][c["args"].index("--function-id") + 1] for c in sandbox.calls("oci")
                    if '{"doctor": true' in " ".join(c["args"])]
    assert function_ids == [TERRAFORM_OUTPUTS["gateway_function_id"], "ocid1.fnfunc.oc1..i"]
