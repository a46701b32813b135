"""`make image` / `make push` and the digests they hand to Terraform, checked with a recording docker."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from deploy import images
from tests.deploy.conftest import REPO, Sandbox

REGISTRY = "fra.ocir.io/examplens/genai-gw"


def _make(sandbox: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", *args], check=False, cwd=sandbox.root, env=sandbox.env, capture_output=True, text=True,
                          timeout=120)


def test_make_n_push_builds_both_targets_then_pushes_then_records() -> None:
    result = subprocess.run(["make", "-n", "push", f"REGISTRY={REGISTRY}", "TAG=1.2.3"], cwd=REPO,
                            check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    commands = [line for line in result.stdout.splitlines() if line.startswith(("docker", "python"))]
    assert commands == [
        f"docker build --platform linux/amd64 -t {REGISTRY}/oci-genai-gateway:1.2.3 .",
        f"docker build --platform linux/amd64 --target asgi -t {REGISTRY}/oci-genai-gateway:1.2.3-asgi .",
        f"docker push {REGISTRY}/oci-genai-gateway:1.2.3",
        f"docker push {REGISTRY}/oci-genai-gateway:1.2.3-asgi",
        f"python3 -m deploy.images terraform/images.auto.tfvars.json {REGISTRY}/oci-genai-gateway:1.2.3 "
        f"{REGISTRY}/oci-genai-gateway:1.2.3-asgi",
    ]


def test_make_image_without_a_registry_says_what_to_set(sandbox: Sandbox) -> None:
    result = _make(sandbox, "image")
    assert result.returncode != 0
    assert "set REGISTRY=<region key>.ocir.io/<namespace>/genai-gw" in result.stderr
    assert sandbox.calls("docker") == []


def test_make_push_runs_docker_and_writes_the_digests_terraform_reads(sandbox: Sandbox) -> None:
    result = _make(sandbox, "push", f"REGISTRY={REGISTRY}", "TAG=2.0.0")
    assert result.returncode == 0, result.stdout + result.stderr
    docker = [c["args"] for c in sandbox.calls("docker")]
    assert docker[:4] == [
        ["build", "--platform", "linux/amd64", "-t", f"{REGISTRY}/oci-genai-gateway:2.0.0", "."],
        ["build", "--platform", "linux/amd64", "--target", "asgi", "-t", f"{REGISTRY}/oci-genai-gateway:2.0.0-asgi",
         "."],
        ["push", f"{REGISTRY}/oci-genai-gateway:2.0.0"],
        ["push", f"{REGISTRY}/oci-genai-gateway:2.0.0-asgi"],
    ]
    written = json.loads((sandbox.root / "terraform" / "images.auto.tfvars.json").read_text())
    assert written["function_image"] == f"{REGISTRY}/oci-genai-gateway:2.0.0"
    assert written["streaming_image"] == f"{REGISTRY}/oci-genai-gateway:2.0.0-asgi"
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", written["function_image_digest"])
    assert written["function_image_digest"] != written["streaming_image_digest"]


def test_a_new_push_changes_the_digest_terraform_applies(sandbox: Sandbox) -> None:
    digests = []
    for tag in ("1.0.0", "1.0.1"):
        assert _make(sandbox, "push", f"REGISTRY={REGISTRY}", f"TAG={tag}").returncode == 0
        digests.append(json.loads((sandbox.root / "terraform" / "images.auto.tfvars.json").read_text()))
    assert digests[0]["function_image_digest"] != digests[1]["function_image_digest"]


def test_recorded_variables_are_declared_and_valid_in_terraform() -> None:
    variables = (REPO / "terraform" / "variables.tf").read_text()
    for image_var, digest_var in images.VARIABLES:
        assert f'variable "{image_var}"' in variables and f'variable "{digest_var}"' in variables
    assert re.search(r'\^sha256:\[0-9a-f\]\{64\}\$', variables), "the digest validation changed"


def test_digest_of_picks_the_images_own_repository() -> None:
    entries = ["other.io/x/y@sha256:" + "a" * 64, "fra.ocir.io/ns/repo/img@sha256:" + "b" * 64]
    assert images.digest_of("fra.ocir.io/ns/repo/img:1.0", entries) == "sha256:" + "b" * 64
    with pytest.raises(SystemExit, match="was it pushed"):
        images.digest_of("fra.ocir.io/ns/repo/img:1.0", ["other.io/x/y@sha256:" + "a" * 64])
