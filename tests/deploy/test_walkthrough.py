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

from tests.deploy.conftest import REPO, Sandbox
from tests.deploy.stubs import TERRAFORM_OUTPUTS

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


def test_the_walkthrough_runs_start_to_finish(sandbox: Sandbox) -> None:
    script = "set -eo pipefail\n" + "\n".join(body for marker, lang, body in blocks() if marker == "run")
    result = subprocess.run(["bash", "-c", script], check=False, cwd=sandbox.root, env=sandbox.env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

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
    assert len(table["keys"]) == 1
    assert json.loads(base64.b64decode(upload[upload.index("--secret-content-content") + 1])) == table

    # The health check went to the deployed URL with the minted key.
    curl = sandbox.calls("curl")[0]["args"]
    assert curl[1] == TERRAFORM_OUTPUTS["api_base_url"] + "/health"
    assert re.fullmatch(r"Authorization: Bearer ocigw_[0-9a-z]{12}_[0-9A-Za-z]{43}", curl[curl.index("-H") + 1])
